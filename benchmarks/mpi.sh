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
script=mpi.sh
source benchmarks/mpi_common.sh
out=benchmarks/results/$(date -u +%Y-%m-%d)-mpi-$(hostname -s 2>/dev/null || echo host)-$(git rev-parse --short HEAD).txt
raw=$(mktemp)
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
  machine_lines
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
