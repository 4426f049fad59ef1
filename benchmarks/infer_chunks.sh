#!/usr/bin/env bash
# CPU inference in row chunks (backend::cpu::inference_chunks, docs/architecture.md "Inference in
# row chunks") against the pass in one piece, on the 20-64-64-1 net of benchmarks/infer_mlp.cpp:
# infer_mlp_unchunked, infer_mlp with HEPNN_SPIN_US=0 (chunks, threads sleep between calls) and
# infer_mlp as it is (chunks, hot inference regions) alternate for ROUNDS rounds, at 1 and 2
# threads, through Sequential and the functional Model. Writes
# benchmarks/results/<date>-infer-chunks-<host>-<commit>.txt with the machine, the settings, the
# medians of events/s, their ratios, and the raw lines.
#   usage: benchmarks/infer_chunks.sh   (BUILD=build-bench ROUNDS=3 REPS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
reps=${REPS:-5}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off -DHEPNN_BUILD_PEERS=OFF > /dev/null
cmake --build "$build" -j2 --target infer_mlp infer_mlp_unchunked > /dev/null
out=benchmarks/results/$(date -u +%Y-%m-%d)-infer-chunks-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
load=$(cut -d' ' -f1-3 /proc/loadavg)
raw=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for api in sequential model; do
    for variant in one_piece sleep hot; do
      prog=infer_mlp spin=
      [ "$variant" = one_piece ] && prog=infer_mlp_unchunked
      [ "$variant" = sleep ] && spin=0
      for t in 1 2; do
        env ${spin:+HEPNN_SPIN_US=$spin} "$build/benchmarks/$prog" --threads "$t" --reps "$reps" --api "$api" |
          grep '^RESULT' | sed "s/^RESULT /RESULT round=$r variant=$variant api=$api /" >> "$raw"
      done
    done
  done
done
{
  echo "# CPU inference in row chunks vs in one piece, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# hepnn: $(${CXX:-c++} --version | head -1), -O3 -march=native (CMake Release + HEPNN_NATIVE); the net's" \
       "products are hepnn's fused Dense kernel (no BLAS call)"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL|HEPNN)' | tr '\n' ' ') (empty: none set); threads set by --threads; load before the run: $load"
  echo "# command: benchmarks/infer_chunks.sh (ROUNDS=$rounds REPS=$reps); medians over the rounds of each round's median:"
  python3 - "$raw" <<'PY'
import re, sys, statistics
runs = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    runs.setdefault((kv['api'], int(kv['threads']), int(kv['batch']), kv['variant']), []).append(float(kv['events_per_s']))
keys = sorted({k[:3] for k in runs})
print("# one_piece: the pass in one piece; sleep: row chunks, HEPNN_SPIN_US=0; hot: row chunks and hot regions (default)")
for api, t, b in keys:
    one, sleep, hot = (statistics.median(runs[(api, t, b, v)]) for v in ('one_piece', 'sleep', 'hot'))
    print(f"{api:10s} threads={t} batch={b:<5d} one_piece={one / 1e6:6.2f}M sleep={sleep / 1e6:6.2f}M "
          f"hot={hot / 1e6:6.2f}M events/s  sleep/one_piece={sleep / one:.2f} hot/sleep={hot / sleep:.2f} hot/one_piece={hot / one:.2f}")
PY
  echo "# raw:"
  cat "$raw"
} > "$out"
rm -f "$raw"
cat "$out"
echo "infer_chunks.sh: wrote $out"
