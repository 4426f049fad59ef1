#!/usr/bin/env bash
# Every GPU benchmark in one command, from the repository root, on a machine with an NVIDIA GPU:
#   bash benchmarks/run_gpu.sh [--quick]
# Needs: CMake, a CUDA toolkit (nvcc), Eigen 3, Google Benchmark (libbenchmark-dev) for
# bench_cuda, python3 with PyTorch (CUDA build) for the peer. Downloads nothing.
#
# Configures build-gpu/ (Release, CUDA architecture 90 = H100; CUDA_ARCH=.. to change, BUILD=dir),
# builds bench_cuda and gpu_table, runs them and benchmarks/peers/torch_gpu_table.py, and writes
# each raw output, headed by the date, the GPU (nvidia-smi), the CUDA version and the git commit,
# to $OUT if set, else benchmarks/results/, as <date>_<gpu>_<name>.txt; then the hepnn/PyTorch
# comparison of the two tables (benchmarks/gpu_compare.py) as <date>_<gpu>_gpu_compare.txt.
# A step that fails is reported and the others still run; the exit status is that of the
# first failure. Each step has a time limit; the whole run is meant to stay under 8 minutes
# on an H100 machine (estimated, not yet measured), --quick (fewer repeats, CPU rows up to
# batch 1024) under 4.
# Environment: JOBS (build jobs, default nproc), CMAKE_ARGS (more -D options, e.g. -DEigen3_DIR=..),
# PYTHON (default python3), TORCH_CPU=1 (also time PyTorch on the CPU: about twice the peer's
# time), TORCH_PINNED=0/1 (PyTorch on the GPU once more with pinned host memory; default 1,
# 0 with --quick), TF32=1 (TF32 products for hepnn and PyTorch alike; default plain FP32).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run_gpu.sh: unknown option $a (only --quick)" >&2; exit 2 ;;
  esac
done

build=${BUILD:-build-gpu}
arch=${CUDA_ARCH:-90}
jobs=${JOBS:-$(nproc)}
python=${PYTHON:-python3}
if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi

tf32_flag=""
[ "${TF32:-0}" = 1 ] && tf32_flag="--tf32"
if [ $quick = 1 ]; then
  bench_args="--benchmark_min_time=0.1 --benchmark_repetitions=1"
  table_repeats=3; cpu_repeats=3; table_min_ms=10; cpu_batches=1,4,16,128,512,1024
else
  bench_args="--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
  table_repeats=7; cpu_repeats=5; table_min_ms=20; cpu_batches=1,4,16,128,512,1024,4096
fi
gpu_batches=1,4,16,128,512,1024,4096

stamp=$(date -u +%Y-%m-%d)
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
gpu_tag=$(echo "${gpu_name:-nogpu}" | tr '[:upper:]' '[:lower:]' | sed -e 's/^nvidia //' -e 's/[^a-z0-9]\+/-/g' -e 's/-$//')
out=${OUT:-benchmarks/results}
mkdir -p "$out"
status=0
fail() { echo "run_gpu.sh: $1" >&2; [ $status = 0 ] && status=${2:-1}; }

if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')
else
  commit="? (not a git checkout; GIT_COMMIT=... to name it)"
fi
commit=${GIT_COMMIT:-$commit}
written=()  # the outputs of this run, for gpu_compare.py

header() {  # $1 name, $2 command
  echo "# $1, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $commit"
  echo "# nvidia-smi:"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 | sed 's/^/#   /'
    echo "# driver's CUDA version: $(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1 | cut -d' ' -f3)"
  else
    echo "#   nvidia-smi not found (no NVIDIA driver)"
  fi
  echo "# nvcc: $(nvcc --version 2>/dev/null | grep -i release | sed 's/.*release //' || echo 'not found')"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) hardware threads"
  echo "# host compiler: $(${CXX:-c++} --version 2>/dev/null | head -1)"
  echo "# build: $build, CMAKE_BUILD_TYPE=Release, CMAKE_CUDA_ARCHITECTURES=$arch," \
       "$(grep -E '^(HEPNN_OPENBLAS_LIBRARY|HEPNN_CUDA|CMAKE_CUDA_COMPILER):' "$build/CMakeCache.txt" 2>/dev/null | tr '\n' ' ')"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL|CUDA_VISIBLE)' | tr '\n' ' ') (empty: none set)"
  echo "# load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# command: $2"
}

run_step() {  # $1 name, $2 time limit in seconds, rest: the command
  local name=$1 limit=$2
  shift 2
  local file="$out/${stamp}_${gpu_tag}_${name}.txt"
  { header "$name" "$*"; timeout "$limit" "$@" 2>&1; echo "# exit status: $?"; } > "$file"
  local rc
  rc=$(tail -1 "$file" | grep -o '[0-9]*$')
  if [ "$rc" != 0 ]; then fail "$name exited with status $rc (124: over its ${limit} s limit); see $file" "$rc"; fi
  written+=("$file")
  echo "wrote $file"
}

t0=$(date +%s)
[ -n "$gpu_name" ] || fail "nvidia-smi finds no GPU: the benchmarks will only report 'no CUDA GPU'"

# ---- build ----
built=0
mkdir -p "$build"
logs="$build/run_gpu"  # $logs.configure.log, $logs.build.log; copied to $out when a step fails
if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
     -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_BUILD_PEERS=OFF \
     ${CMAKE_ARGS:-} > "$logs.configure.log" 2>&1; then
  targets=""
  known=$(cmake --build "$build" --target help 2>/dev/null)
  for t in gpu_table bench_cuda; do
    if grep -qw "$t" <<< "$known"; then targets="$targets --target $t"; fi
  done
  if [ -z "$targets" ]; then
    fail "CMake built no GPU benchmark target (no nvcc or no hepnn::cuda?); see $logs.configure.log"
  elif cmake --build "$build" $targets -j "$jobs" > "$logs.build.log" 2>&1; then
    built=1
  else
    fail "the build failed; see $logs.build.log (last lines below)"; tail -20 "$logs.build.log" >&2
  fi
else
  fail "cmake configure failed; see $logs.configure.log (last lines below)"; tail -20 "$logs.configure.log" >&2
fi
[ $built = 1 ] || cp "$logs".*.log "$out/" 2>/dev/null
echo "build done after $(( $(date +%s) - t0 )) s"

# ---- hepnn ----
if [ $built = 1 ]; then
  if [ -x "$build/benchmarks/bench_cuda" ]; then
    json="$out/${stamp}_${gpu_tag}_bench_cuda.json"
    rm -f "$json"
    run_step bench_cuda 240 "$build/benchmarks/bench_cuda" $tf32_flag $bench_args \
      --benchmark_out="$json" --benchmark_out_format=json
    [ -f "$json" ] && written+=("$json")
  else
    fail "bench_cuda was not built (Google Benchmark not found?)"
  fi
  run_step gpu_table_cuda 120 "$build/benchmarks/gpu_table" --device cuda --batches $gpu_batches \
    --repeats $table_repeats --min-ms $table_min_ms $tf32_flag
fi
echo "hepnn on the GPU done after $(( $(date +%s) - t0 )) s"

# ---- PyTorch eager on the same GPU, same workloads ----
have_torch=0
if $python -c 'import torch' > /dev/null 2>&1; then
  have_torch=1
  run_step torch_gpu_table_cuda 150 $python benchmarks/peers/torch_gpu_table.py --device cuda --batches $gpu_batches \
    --repeats $table_repeats --min-ms $table_min_ms $tf32_flag
  if [ "${TORCH_PINNED:-$((1 - quick))}" = 1 ]; then  # PyTorch with pinned host batches (peer torch_pinned)
    run_step torch_gpu_table_cuda_pinned 150 $python benchmarks/peers/torch_gpu_table.py --device cuda \
      --batches $gpu_batches --repeats $table_repeats --min-ms $table_min_ms $tf32_flag --pin-memory
  fi
else
  fail "$python cannot import torch: no PyTorch comparison"
fi
echo "PyTorch on the GPU done after $(( $(date +%s) - t0 )) s"

# ---- the CPU rows last (the slowest, and the least needed if time runs short) ----
if [ $built = 1 ]; then
  run_step gpu_table_cpu 240 "$build/benchmarks/gpu_table" --device cpu --threads 1,2 --batches $cpu_batches \
    --repeats $cpu_repeats --min-ms $table_min_ms
fi
if [ $have_torch = 1 ] && [ "${TORCH_CPU:-0}" = 1 ]; then
  run_step torch_gpu_table_cpu 240 $python benchmarks/peers/torch_gpu_table.py --device cpu --threads 1,2 \
    --batches $cpu_batches --repeats $cpu_repeats --min-ms $table_min_ms
fi

# ---- side by side ----
files=()
for f in "${written[@]}"; do
  case "$f" in *_bench_cuda.txt) ;; *) files+=("$f") ;; esac
done
if [ ${#files[@]} -gt 0 ]; then
  cmp="$out/${stamp}_${gpu_tag}_gpu_compare.txt"
  { header gpu_compare "$python benchmarks/gpu_compare.py ${files[*]}"; $python benchmarks/gpu_compare.py "${files[@]}"; } > "$cmp" 2>&1
  echo "wrote $cmp"
fi
echo "all done after $(( $(date +%s) - t0 )) s, status $status"
exit $status
