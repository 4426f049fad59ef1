#!/usr/bin/env bash
# Data-parallel scaling over MPI on this machine (issue 17, point 3; docs/distributed.md): the
# all-reduce time against message size and Model::fit throughput with 1 process x 1 thread,
# 1 process x 2 threads and 2 processes x 1 thread (benchmarks/mpi_scaling.cpp), the three
# alternating for ROUNDS rounds. Needs libopenmpi-dev openmpi-bin. Writes
# benchmarks/results/<date>-mpi-<host>-<commit>.txt with the machine, the settings, a table of
# medians and the raw output of every run.
#   usage: benchmarks/mpi.sh            (BUILD=build-bench ROUNDS=3 EPOCHS=4 EVENTS=60000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
epochs=${EPOCHS:-4}
events=${EVENTS:-60000}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off -DHEPNN_BUILD_PEERS=OFF > /dev/null
cmake --build "$build" -j2 --target mpi_scaling > /dev/null
[ -x "$build/benchmarks/mpi_scaling" ] || { echo "mpi.sh: MPI not found (Debian: libopenmpi-dev openmpi-bin)"; exit 77; }
flags=()
if mpirun --version 2>&1 | grep -q 'Open MPI'; then flags=(--oversubscribe --bind-to none); [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root); fi
out=benchmarks/results/$(date -u +%Y-%m-%d)-mpi-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
raw=$(mktemp)
load=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$rounds"); do
  for conf in "1 1" "1 2" "2 1"; do
    set -- $conf
    echo "# round $r: $1 process(es) x $2 thread(s)" >> "$raw"
    OMP_NUM_THREADS=$2 mpirun "${flags[@]}" -np "$1" "$build/benchmarks/mpi_scaling" --threads "$2" \
      --epochs "$epochs" --events "$events" >> "$raw"
  done
done
{
  echo "# data-parallel fit over MPI, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# hepnn: $(${CXX:-c++} --version | head -1), -O3 -march=native (CMake Release + HEPNN_NATIVE)," \
       "products: $(grep -m1 '^HEPNN_OPENBLAS_LIBRARY:FILEPATH=/' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)" \
       "(empty: Eigen, no OpenBLAS found)"
  echo "# MPI: $(mpirun --version 2>&1 | head -1), mpirun ${flags[*]}; shared memory between the ranks of one machine"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL)' | tr '\n' ' ') (empty: none set; OMP_NUM_THREADS is set per run); load before the run: $load"
  echo "# command: benchmarks/mpi.sh (ROUNDS=$rounds EPOCHS=$epochs EVENTS=$events)"
  echo "# medians over the rounds:"
  python3 - "$raw" <<'PY'
import re, sys, statistics
fits, ar = {}, {}
threads = None
for line in open(sys.argv[1]):
    if line.startswith('# MPI'):
        threads = int(re.search(r'(\d+) thread', line).group(1))
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    if line.startswith('FIT'):
        fits.setdefault((kv['model'], int(kv['ranks']), int(kv['threads'])), []).append(kv)
    elif line.startswith('ALLREDUCE') and kv['ranks'] == '2':
        ar.setdefault(int(kv['bytes']), []).append(float(kv['median_us']))
print('| model | processes x threads | events/s | step ms | all-reduce ms/step | all-reduce share | vs 1x1 |')
print('|---|---|---|---|---|---|---|')
for model in sorted({k[0] for k in fits}):
    base = None
    for (m, r, t), runs in sorted(fits.items()):
        if m != model: continue
        med = lambda key: statistics.median(float(x[key]) for x in runs)
        sps = med('samples_per_s')
        if (r, t) == (1, 1): base = sps
        print(f"| {m} | {r} x {t} | {sps:,.0f} | {med('step_ms'):.3f} | {med('allreduce_ms_per_step'):.3f} | "
              f"{med('allreduce_fraction'):.3f} | {sps / base if base else float('nan'):.2f} |")
print()
print('| all-reduce, 2 ranks: bytes | median us | GB/s (bytes / time) |')
print('|---|---|---|')
for b, v in sorted(ar.items()):
    m = statistics.median(v)
    print(f'| {b:,} | {m:.2f} | {b / m / 1e3:.3f} |')
PY
  echo
  echo "# raw output of every run, in the order they ran:"
  cat "$raw"
} > "$out"
rm -f "$raw"
sed -n '1,/^# raw output/p' "$out"
