#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (Debian: clang-14, libhdf5-dev, nlohmann-json3-dev)
# and runs each for SECONDS seconds (default 30) from the seed corpus.
#   fuzz/run.sh 30            # CI: a short fixed time per target
#   fuzz/run.sh 3600 -jobs=2  # longer: extra arguments go to libFuzzer
# Findings (crash-*, leak-*, timeout-* files) land in build-fuzz/; the script exits non-zero then.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
# A fixed libFuzzer seed (FUZZ_SEED; default 1): the same mutations on every run, so that CI fails
# for a change in hepnn and not by the luck of the draw. HDF5 1.10's own decoder reads out of
# bounds on some damaged files (H5HG_read, H5MM_strdup of an unterminated attribute name: found
# with random seeds on 2026-12-07); hepnn reads variable-length strings in a child process, which
# contains the first. The second is reported by ASan's strdup interceptor called from HDF5, which
# fuzz/asan.supp suppresses (interceptor_via_lib): with a fixed seed but a fixed time, a faster
# machine runs more mutations and reached it on 2026-12-08. Explore with other seeds: FUZZ_SEED=0 is
# random.
seed=${FUZZ_SEED:-1}
supp=$(pwd)/fuzz/asan.supp
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
out=build-fuzz
mkdir -p "$out/corpus/model" "$out/corpus/data" "$out/corpus/keras" "$out/corpus/onnx"
flags=(-std=c++20 -O1 -g1 -DEIGEN_DONT_PARALLELIZE -DHEPNN_HAVE_ZLIB -Iinclude -I/usr/include/eigen3 -I/usr/include/hdf5/serial)
libs=(-L/usr/lib/x86_64-linux-gnu -lhdf5_serial -lz)
"$cxx" "${flags[@]}" fuzz/make_seeds.cpp -o "$out/make_seeds" "${libs[@]}"
"$out/make_seeds" "$out/corpus/model" "$out/corpus/data"
cp fuzz/seeds/csv/* "$out/corpus/data/"
cp fuzz/seeds/keras/* "$out/corpus/keras/"
for f in tests/golden/data/keras/*.h5 tests/golden/data/keras/*.keras; do
  case "$f" in *.ref.h5) ;; *) cp "$f" "$out/corpus/keras/" ;; esac
done
cp tests/golden/data/onnx/*.onnx "$out/corpus/onnx/"
targets=(fuzz_model_loader fuzz_data_reader fuzz_keras_loader)
# the ONNX importer needs ONNX's protobuf classes (hepnn::onnx): libonnx-dev, libprotobuf-dev
if [ -f /usr/include/onnx/onnx_pb.h ]; then
  targets+=(fuzz_onnx_loader)
else
  echo "fuzz: SKIPPED fuzz_onnx_loader (no libonnx-dev)" >&2
fi
# compiled FUZZ_JOBS at a time (default 2: CI's two cores); a failed compile stops the script
build_target() {
  local target=$1 extra=()
  [ "$target" = fuzz_onnx_loader ] && extra=(-lonnx_proto -lprotobuf)
  "$cxx" "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    "fuzz/$target.cpp" -o "$out/$target" "${libs[@]}" "${extra[@]}"
}
jobs=${FUZZ_JOBS:-2}
pids=()
for target in "${targets[@]}"; do
  build_target "$target" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
status=0
for target in "${targets[@]}"; do
  corpus="$out/corpus/model"
  [ "$target" = fuzz_data_reader ] && corpus="$out/corpus/data"
  [ "$target" = fuzz_keras_loader ] && corpus="$out/corpus/keras"
  [ "$target" = fuzz_onnx_loader ] && corpus="$out/corpus/onnx"
  echo "fuzz: $target for ${seconds}s"
  # detect_leaks=0: HDF5 keeps global allocations until exit; rss_limit guards against runaway allocations.
  # malloc_limit_mb above rss_limit: HDF5 1.10 reserves what a damaged header claims (8 GiB for an
  # 18 KB file, found 2026-12-07) and touches none of it before it refuses the file; libFuzzer would
  # report that reservation as out-of-memory by default (malloc limit = rss limit). Memory actually
  # used is still limited to 2 GiB.
  (cd "$out" && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:suppressions="$supp" \
     "./$target" -seed="$seed" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=65536 -timeout=20 "$@" \
     "corpus/${corpus##*/}") || status=1
done
exit $status
