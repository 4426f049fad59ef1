#!/usr/bin/env bash
# Gradient buckets (ModelFitOptions::bucket_bytes) against one sum after the backward pass, for the
# data-parallel fit of benchmarks/mpi_scaling.cpp on 2 ranks x 1 thread: the bucket sizes given
# (default "0 262144 65536") alternate for ROUNDS rounds. Writes
# benchmarks/results/<date>-mpi-buckets-<host>-<commit>.txt with the machine, the settings, the
# medians of samples/s and of the communication time the step does not hide, and the raw lines.
#   usage: benchmarks/mpi_buckets.sh [bytes ...]   (BUILD=build-bench ROUNDS=3 EPOCHS=4 EVENTS=60000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
epochs=${EPOCHS:-4}
events=${EVENTS:-60000}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0 262144 65536)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off -DHEPNN_BUILD_PEERS=OFF > /dev/null
cmake --build "$build" -j2 --target mpi_scaling > /dev/null
[ -x "$build/benchmarks/mpi_scaling" ] || { echo "mpi_buckets.sh: MPI not found (Debian: libopenmpi-dev openmpi-bin)"; exit 77; }
flags=()
if mpirun --version 2>&1 | grep -q 'Open MPI'; then flags=(--oversubscribe --bind-to none); [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root); fi
out=benchmarks/results/$(date -u +%Y-%m-%d)-mpi-buckets-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
raw=$(mktemp)
load=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$rounds"); do
  for b in "${sizes[@]}"; do
    echo "# round $r: bucket_bytes $b" >> "$raw"
    OMP_NUM_THREADS=1 mpirun "${flags[@]}" -np 2 "$build/benchmarks/mpi_scaling" --threads 1 --epochs "$epochs" \
      --events "$events" --max-bytes 64 --bucket-bytes "$b" | grep '^FIT' >> "$raw"
  done
done
{
  echo "# gradient buckets in a data-parallel fit over MPI, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# hepnn: $(${CXX:-c++} --version | head -1), -O3 -march=native (CMake Release + HEPNN_NATIVE)," \
       "products: $(grep -m1 '^HEPNN_OPENBLAS_LIBRARY:FILEPATH=/' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)"
  echo "# MPI: $(mpirun --version 2>&1 | head -1), mpirun ${flags[*]} -np 2, OMP_NUM_THREADS=1; shared memory"
  echo "# env: $(env | grep -E '^(OPENBLAS|OMP|GOMP|MKL)' | tr '\n' ' ') (empty: none set); load before the run: $load"
  echo "# command: benchmarks/mpi_buckets.sh ${sizes[*]} (ROUNDS=$rounds EPOCHS=$epochs EVENTS=$events)"
  echo "# medians over the rounds (comm_ms: the start, progress and wait calls per step, what the step does not hide):"
  python3 - "$raw" <<'PY'
import re, sys, statistics
runs = {}
for line in open(sys.argv[1]):
    if not line.startswith('FIT'):
        continue
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    runs.setdefault((kv['model'], int(kv['bucket_bytes'])), []).append(kv)
base = {}
for (model, b), rs in sorted(runs.items()):
    sps = statistics.median(float(r['samples_per_s']) for r in rs)
    comm = statistics.median(float(r['allreduce_ms_per_step']) for r in rs)
    if b == 0:
        base[model] = sps
    ratio = f"{sps / base[model]:.3f}" if model in base else "-"
    print(f"{model:12s} bucket_bytes={b:<9d} samples_per_s={sps:10.0f} comm_ms_per_step={comm:.4f} vs_one_sum={ratio} ({len(rs)} runs)")
PY
  echo "# raw:"
  cat "$raw"
} > "$out"
rm -f "$raw"
cat "$out"
echo "mpi_buckets.sh: wrote $out"
