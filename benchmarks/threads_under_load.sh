#!/usr/bin/env bash
# Threads on a shared machine (issue: "Threads on shared nodes"): the HIGGS fit of
# benchmarks/threads_under_load.cpp with hepnn's default thread setting and with one thread,
# on an idle machine and beside 1 or 2 busy processes (shell busy loops), for this tree and for
# a baseline commit (default: the last commit before hepnn's own thread pool), in alternating
# rounds; medians. Raw lines go to stdout; a table at the end.
#
# Usage: benchmarks/threads_under_load.sh [rounds, default 5] [baseline commit, default 19eda48] [workload: higgs (default) or mlp]
# Needs: g++, Eigen, OpenBLAS if the build uses it, ../shared/testdata/higgs_subset.
# Run it alone: any other load on the machine changes the "idle" rows.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
base=${2:-19eda48}
workload=${3:-higgs}
data=../shared/testdata/higgs_subset/binary.train
if [ "$workload" = mlp ]; then data=mlp; else [ -f "$data" ] || { echo "SKIPPED: $data not found"; exit 0; }; fi
work=$(mktemp -d)
hogs=()
cleanup() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

flags=(-std=c++20 -O2 -march=native -fopenmp -DEIGEN_DONT_PARALLELIZE -DNDEBUG -I/usr/include/eigen3)
if [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ]; then
  flags+=(-DHEPNN_USE_OPENBLAS); libs=(-lopenblas)
else libs=(); fi
if grep -qw avx512f /proc/cpuinfo && g++ -dumpversion | grep -q '^12'; then
  flags+=(-mtune-ctrl=^inter_unit_moves_to_vec -DHEPNN_GCC12_AVX512_CHECKED)  # as the CMake package does
fi
git archive "$base" include | tar -x -C "$work"
g++ "${flags[@]}" -I include benchmarks/threads_under_load.cpp -o "$work/new" "${libs[@]}"
g++ "${flags[@]}" -I "$work/include" benchmarks/threads_under_load.cpp -o "$work/base" "${libs[@]}"

echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, g++ $(g++ -dumpfullversion)"
echo "# workload: $workload"
echo "# this tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- include || echo '+local changes'), baseline: $base"
echo "# flags: ${flags[*]} ${libs[*]}; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
unset OMP_NUM_THREADS OMP_WAIT_POLICY HEPNN_NUM_THREADS
results=$work/results
for load in 0 1 2; do
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
  hogs=()
  for ((k = 0; k < load; ++k)); do sh -c 'while :; do :; done' & hogs+=($!); done
  sleep 0.5
  for ((r = 0; r < rounds; ++r)); do
    for build in base new; do
      for threads in 0 1; do
        out=$("$work/$build" "$data" "$threads")
        echo "load=$load build=$build setting=$([ "$threads" = 0 ] && echo default || echo 1) round=$r $out"
        echo "$load $build $threads $(echo "$out" | awk '{print $2}')" >> "$results"
      done
    done
  done
done
for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
hogs=()
python3 - "$results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for load, build, thr, s in rows:
    med.setdefault((load, build, thr), []).append(float(s))
m = {k: st.median(v) for k, v in med.items()}
print("\n| busy processes | baseline default | baseline 1 thread | new default | new 1 thread | new default / new 1 thread | new default / baseline default |")
print("|---|---|---|---|---|---|---|")
for load in "012":
    bd, b1, nd, n1 = (m[(load, b, t)] for b, t in (("base", "0"), ("base", "1"), ("new", "0"), ("new", "1")))
    print(f"| {load} | {bd:.3f} s | {b1:.3f} s | {nd:.3f} s | {n1:.3f} s | {nd / n1:.2f} | {nd / bd:.2f} |")
PY
