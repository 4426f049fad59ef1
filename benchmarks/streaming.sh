#!/usr/bin/env bash
# Streaming from HDF5 against h5py (docs/benchmarks.md, "Streaming"): the issue's file, 16.8M
# rows of 28 float features (plus targets and weights, 2.0 GB) in chunks of 65,536 rows, once
# as h5py writes it (no filter) and once as hepnn writes it (Fletcher-32 checksums).
#
#   bash benchmarks/streaming.sh BUILD_DIR [ROUNDS] [BASELINE_STREAM_READ] [DIR]
#     BUILD_DIR             configured with -DHEPNN_BUILD_BENCHMARKS=ON (stream_read)
#     ROUNDS                alternating rounds (default 3); each program takes the median of 3 passes
#     BASELINE_STREAM_READ  another stream_read binary (e.g. built from an older commit) run in
#                           the same rounds, for an A/B on the same machine
#     DIR                   where the two files go (default /tmp; 4 GB)
# Needs /usr/bin/python3 with h5py and numpy (Debian: python3-h5py). The files stay in the page
# cache between rounds (warm); when /proc/sys/vm/drop_caches is writable (root), one cold pass
# of each reader follows.
set -euo pipefail
build=${1:?usage: streaming.sh BUILD_DIR [ROUNDS] [BASELINE_STREAM_READ] [DIR]}
rounds=${2:-3}
baseline=${3:-}
dir=${4:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
reader=$build/benchmarks/stream_read
[ -x "$reader" ] || { echo "streaming.sh: $reader is missing (-DHEPNN_BUILD_BENCHMARKS=ON, HDF5)" >&2; exit 1; }
py=/usr/bin/python3
rows=16777216
h5py_file=$dir/hepnn-stream-h5py.h5
hepnn_file=$dir/hepnn-stream-hepnn.h5

echo "# streaming.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) CPUs, rounds=$rounds"
echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo 'AVX2, no AVX-512')"
echo "# memory: $(free -g | awk '/Mem:/ {print $2 " GiB, " $7 " GiB available"}'); disk of $dir: $(df -h "$dir" | awk 'NR == 2 {print $1}')"
echo "# hepnn git $(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown); baseline: ${baseline:-none}"
echo "# env: $(env | grep -E '^(OPENBLAS|OMP|HEPNN|HDF5)_' | sort | tr '\n' ' ')"
[ -f "$h5py_file" ] || $py "$here/stream_h5py.py" make "$h5py_file" $rows
[ -f "$hepnn_file" ] || "$reader" "$hepnn_file" --make $rows --modes plain --reps 1 | grep '^# wrote'
ls -l "$h5py_file" "$hepnn_file" | awk '{print "# " $5 " bytes " $9}'
echo "# dd of the h5py file (page cache): $(dd if="$h5py_file" of=/dev/null bs=16M 2>&1 | tail -1)"

run_all() {  # label prefix for the cold pass, passes per program
  local reps=$1
  for f in "$h5py_file" "$hepnn_file"; do
    local kind=h5py-file
    [ "$f" = "$hepnn_file" ] && kind=hepnn-file
    $py "$here/stream_h5py.py" read "$f" --reps "$reps" | sed -n "s/^RESULT /RESULT file=$kind /p"
    "$reader" "$f" --reps "$reps" | sed -n "s/^RESULT /RESULT file=$kind /p"
    if [ -n "$baseline" ]; then
      "$baseline" "$f" --reps "$reps" --modes sequential,shuffled | sed -n "s/^RESULT reader=/RESULT file=$kind reader=baseline-/p"
    fi
  done
}
for r in $(seq 1 "$rounds"); do
  echo "# round $r"
  run_all 3
done
if [ -w /proc/sys/vm/drop_caches ]; then
  echo "# cold: caches dropped before each program"
  for f in "$h5py_file" "$hepnn_file"; do
    kind=h5py-file
    [ "$f" = "$hepnn_file" ] && kind=hepnn-file
    sync
    echo 3 >/proc/sys/vm/drop_caches
    $py "$here/stream_h5py.py" read "$f" --reps 1 | sed -n "s/^RESULT /RESULT cold file=$kind /p"
    for mode in sequential shuffled; do
      sync
      echo 3 >/proc/sys/vm/drop_caches
      "$reader" "$f" --reps 1 --modes $mode | sed -n "s/^RESULT /RESULT cold file=$kind /p"
    done
  done
else
  echo "# cold: /proc/sys/vm/drop_caches is not writable here, no cold figures"
fi
