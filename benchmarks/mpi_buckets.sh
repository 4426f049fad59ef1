#!/usr/bin/env bash
# Gradient buckets (ModelFitOptions::bucket_bytes) against one sum after the backward pass, for the
# data-parallel fit of benchmarks/mpi_scaling.cpp on 2 ranks x 1 thread: the bucket sizes given
# (default "0 262144 65536") alternate for ROUNDS rounds. Writes
# benchmarks/results/<date>-mpi-buckets-<host>-<commit>.txt with the machine, the settings, the
# medians of samples/s and of the communication time the step does not hide, and the raw lines.
#   usage: benchmarks/mpi_buckets.sh [bytes ...]   (BUILD=build-bench ROUNDS=3 EPOCHS=4 EVENTS=60000)
set -euo pipefail
cd "$(dirname "$0")/.."
script=mpi_buckets.sh
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0 262144 65536)
source benchmarks/mpi_common.sh
out=benchmarks/results/$(date -u +%Y-%m-%d)-mpi-buckets-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
raw=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for b in "${sizes[@]}"; do
    echo "# round $r: bucket_bytes $b" >> "$raw"
    OMP_NUM_THREADS=1 mpirun "${flags[@]}" -np 2 "$build/benchmarks/mpi_scaling" --threads 1 --epochs "$epochs" \
      --events "$events" --max-bytes 64 --bucket-bytes "$b" | grep '^FIT' >> "$raw"
  done
done
{
  echo "# gradient buckets in a data-parallel fit over MPI, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD)"
  machine_lines
  echo "# runs: -np 2, OMP_NUM_THREADS=1"
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
