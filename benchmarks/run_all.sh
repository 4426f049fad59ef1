#!/usr/bin/env bash
# Every CPU benchmark in one command, from the repository root:
#   bash benchmarks/run_all.sh            (needs: libbenchmark-dev; libtorch-dev for the peers;
#                                          dataset-fashion-mnist for the training runs)
# Builds into build-bench/ (BUILD=dir to change), runs the Google Benchmark suites, the
# side-by-side comparison with libtorch (benchmarks/compare.py; and with PyTorch 2 when
# PYTORCH=venv/bin/python names an interpreter with PyPI's torch) and the 10-epoch training run,
# and writes the raw outputs, each with a header naming the machine, compiler, BLAS and thread
# settings, to benchmarks/results/<date>_<host>_<name>.txt. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" -j2 > /dev/null

stamp=$(date -u +%Y-%m-%d)
host=$(hostname -s 2>/dev/null || echo host)
out=benchmarks/results
mkdir -p "$out"
header() {
  echo "# $1, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# compiler: $(${CXX:-c++} --version | head -1); flags: -O3 -march=native (CMake Release + HEPNN_NATIVE)"
  echo "# blas: $(grep -E '^HEPNN_USES_OPENBLAS|^HEPNN_OPENBLAS_LIBRARY' "$build/CMakeCache.txt" | tr '\n' ' ')"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL)' | tr '\n' ' ') (empty: none set)"
  echo "# load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# command: $2"
}
for b in bench_gemm bench_layers bench_models bench_conv; do
  cmd="$build/benchmarks/$b --benchmark_min_time=0.3 --benchmark_repetitions=$rounds --benchmark_report_aggregates_only=true"
  { header "$b" "$cmd"; $cmd 2>&1; } > "$out/${stamp}_${host}_$b.txt"
  echo "wrote $out/${stamp}_${host}_$b.txt"
done
if [ -x "$build/benchmarks/torch_train_mlp" ]; then
  cmd="python3 benchmarks/compare.py --build $build --rounds $rounds --epochs 2${PYTORCH:+ --pytorch $PYTORCH}"
  { header compare "$cmd"; $cmd --raw "$out/${stamp}_${host}_compare_raw.txt"; } > "$out/${stamp}_${host}_compare.txt"
  echo "wrote $out/${stamp}_${host}_compare.txt (and _compare_raw.txt)"
else
  echo "libtorch not found (Debian: libtorch-dev): no side-by-side comparison"
fi
for t in 1 2; do
  cmd="$build/benchmarks/train_mlp --epochs 10 --threads $t"
  { header "train_mlp 10 epochs" "$cmd"; $cmd; } > "$out/${stamp}_${host}_train_mlp_10epochs_${t}t.txt"
  echo "wrote $out/${stamp}_${host}_train_mlp_10epochs_${t}t.txt"
done
