#!/usr/bin/env bash
# Issue 16's performance check (docs/benchmarks.md, "Imported models"): the Keras b-tagger of
# tutorial 13 imported by hepnn, against the same network built in C++ (same process, bitwise the
# same scores), and against ONNX Runtime on one CPU thread running hepnn's ONNX export of it, at
# batch 1 and 1024. The C++ and Python programs alternate, R rounds each (A B A B ...); the
# summary is the median over rounds, and ratios of medians. ONNX Runtime's per-call cost in
# Python (measured on an empty model with the same inputs) is reported and subtracted.
#
#   usage: benchmarks/exchange.sh BUILD_DIR PYTHON [ROUNDS=3]
#     BUILD_DIR: a build with -DHEPNN_BUILD_BENCHMARKS=ON and hepnn::onnx (exchange_latency)
#     PYTHON:    an interpreter with onnxruntime and onnx (pip install onnxruntime onnx)
# Prints the raw lines, then the summary. Threads: one everywhere (hepnn set_num_threads(1),
# ONNX Runtime intra_op_num_threads=1); BLAS: whatever hepnn was built with (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: benchmarks/exchange.sh BUILD_DIR PYTHON [ROUNDS]}
python=${2:?usage: benchmarks/exchange.sh BUILD_DIR PYTHON [ROUNDS]}
rounds=${3:-3}
onnx=$(mktemp --suffix=.onnx)
raw=$(mktemp)
trap 'rm -f "$onnx" "$raw"' EXIT

echo "# $(date -u +%F) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo no AVX-512)"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}; hepnn BLAS: $(grep -q '^HEPNN_OPENBLAS_LIBRARY:FILEPATH=/' "$build/CMakeCache.txt" 2>/dev/null && echo OpenBLAS || echo Eigen products)"
for r in $(seq "$rounds"); do
  echo "# round $r"
  OMP_NUM_THREADS=1 "$build/benchmarks/exchange_latency" --rounds 3 --onnx "$onnx" | tee -a "$raw"
  "$python" benchmarks/exchange_onnxruntime.py "$onnx" --rounds 3 | tee -a "$raw"
done
"$python" - "$raw" <<'EOF'
import re, statistics, sys
t = {}
for line in open(sys.argv[1]):
    m = re.match(r"RESULT side=(\S+) batch=(\d+) us_per_call=(\S+)", line)
    if m:
        t.setdefault((m[1], int(m[2])), []).append(float(m[3]))
med = {k: statistics.median(v) for k, v in t.items()}
print("\nsummary: microseconds per predict call, median over rounds (events/s in brackets)")
print(f"{'batch':>5}  {'imported':>18}  {'built in C++':>18}  {'imported/built':>14}  {'ORT':>18}  {'ORT empty':>10}  {'ORT net':>18}  {'ORT net/imported':>16}")
for b in (1, 1024):
    i, c, o, e, n = (med[(s, b)] for s in ("imported", "built", "ort", "ort_empty", "ort_net"))
    f = lambda us: f"{us:9.3f} ({b / us * 1e6 / 1e6:5.2f}M)"
    print(f"{b:>5}  {f(i):>18}  {f(c):>18}  {i / c:>14.3f}  {f(o):>18}  {e:>10.3f}  {f(n):>18}  {n / i:>16.2f}")
EOF
