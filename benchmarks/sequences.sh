#!/usr/bin/env bash
# Sequence models against libtorch (issue 15, point 6): an LSTM and a pre-norm Transformer
# encoder block on jets of 15 tracks x 6 features, hidden 64, batch 256 (training steps and
# inference) and one jet at a time (latency), hepnn and libtorch alternating in one run
# (benchmarks/compare.py). Needs libtorch-dev. Writes
# benchmarks/results/<date>-sequences-<host>-<commit>.txt with the machine, the settings and
# the raw output of every run.
#   usage: benchmarks/sequences.sh            (BUILD=build-bench ROUNDS=3 THREADS="1 2")
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
threads=${THREADS:-"1 2"}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off > /dev/null
cmake --build "$build" -j2 --target sequence_models torch_sequence_models > /dev/null
[ -x "$build/benchmarks/torch_sequence_models" ] || { echo "sequences.sh: libtorch not found (Debian: libtorch-dev)"; exit 77; }
out=benchmarks/results/$(date -u +%Y-%m-%d)-sequences-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
cmd="python3 benchmarks/compare.py --build $build --rounds $rounds --threads $threads --workloads lstm transformer"
load=$(cut -d' ' -f1-3 /proc/loadavg)
$cmd --raw "$out.raw" > "$out.table"
{
  echo "# sequence models, hepnn against libtorch, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# hepnn: $(${CXX:-c++} --version | head -1), -O3 -march=native (CMake Release + HEPNN_NATIVE)," \
       "products: $(grep -m1 '^HEPNN_OPENBLAS_LIBRARY:FILEPATH=/' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)" \
       "(empty: Eigen, no OpenBLAS found)"
  echo "# libtorch: $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo '?') (Debian), run with OPENBLAS_NUM_THREADS=1 and its intra-op threads = T"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL)' | tr '\n' ' ') (empty: none set); load before the run: $load"
  echo "# command: $cmd"
  cat "$out.table"
  echo
  echo "# raw output of every run, in the order they ran:"
  cat "$out.raw"
} > "$out"
rm -f "$out.table" "$out.raw"
sed -n '1,/^# raw output/p' "$out"
