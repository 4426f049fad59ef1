#!/usr/bin/env bash
# What the GCC 12 AVX-512 workaround (-mtune-ctrl=^inter_unit_moves_to_vec, docs/building.md)
# costs: bench_models and bench_layers built twice from the same sources, A with the workaround
# (hepnn's default wherever the compiler has the bug) and B without it
# (-DHEPNN_GCC_AVX512_BROADCAST_BUG=OFF), run in alternating rounds A B A B A B, one thread,
# medians of 5 repetitions per round. Prints each benchmark's median over the rounds and B/A.
#   benchmarks/gcc12_workaround_ab.sh [ROUNDS]      (writes build-ab-{fix,nofix}/ and out/ab/)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
filter='threads:1'
for v in fix nofix; do
  opt=()
  [ "$v" = nofix ] && opt=(-DHEPNN_GCC_AVX512_BROADCAST_BUG=OFF)
  cmake -S . -B "build-ab-$v" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_PEERS=OFF \
    -DHEPNN_BUILD_TESTS=OFF -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off "${opt[@]}" > /dev/null
  cmake --build "build-ab-$v" -j2 --target bench_models bench_layers > /dev/null
  echo "# $v: $(grep -c 'inter_unit_moves_to_vec' "build-ab-$v/benchmarks/CMakeFiles/bench_models.dir/flags.make") workaround flag(s) in bench_models' flags"
done
mkdir -p out/ab
for r in $(seq "$rounds"); do
  for v in fix nofix; do
    for b in bench_models bench_layers; do
      OMP_WAIT_POLICY=PASSIVE "build-ab-$v/benchmarks/$b" --benchmark_filter="$filter" --benchmark_repetitions=5 \
        --benchmark_report_aggregates_only=true --benchmark_format=json > "out/ab/$v-$b-$r.json"
    done
  done
done
python3 - "$rounds" <<'EOF'
import glob, json, statistics, sys
med = {}
for v in ("fix", "nofix"):
    for f in sorted(glob.glob(f"out/ab/{v}-*.json")):
        for b in json.load(open(f))["benchmarks"]:
            if b.get("aggregate_name") == "median":
                med.setdefault((b["run_name"], v), []).append(b["real_time"])
names = sorted({k[0] for k in med})
print(f"{'benchmark (median real time, its unit)':60s} {'A: workaround':>14s} {'B: none':>10s} {'B/A':>6s}")
ratios = []
for n in names:
    a, b = statistics.median(med[(n, "fix")]), statistics.median(med[(n, "nofix")])
    ratios.append(b / a)
    print(f"{n:60s} {a:14.4g} {b:10.4g} {b / a:6.3f}")
print(f"median of B/A over {len(ratios)} benchmarks: {statistics.median(ratios):.3f} "
      "(> 1: the workaround is faster)")
EOF
