#!/usr/bin/env bash
# CI: the Python tools' tests. Makes a virtual environment with uproot, awkward, h5py and numpy
# from PyPI (binary wheels, nothing compiled; about 10-15 s with a warm pip cache), then runs
# tools/test_root_to_hdf5.py: ROOT files written by uproot, converted by tools/root_to_hdf5.py,
# every value checked with h5py, the error cases, and that the converted files in
# tests/golden/data (read by the C++ test tests/io/test_root_converted.cpp) are current. Then,
# with onnxruntime from PyPI, tutorial 13's check (examples/13_deploy_exchange/run_onnxruntime.py):
# ONNX Runtime runs the .onnx files that the tutorial's ctest run wrote and must reproduce hepnn's
# and Keras' scores (skipped, with a message, when that run did not happen: no build/, no hepnn::onnx).
#
# Usage: tools/ci_python_tests.sh [venv directory]   (default: $HEPNN_VENV or build/venv)
# Needs python3 with the venv module (Debian: apt-get install python3-venv). Exit status non-zero
# when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${1:-${HEPNN_VENV:-build/venv}}
python=${PYTHON:-python3}
t0=$SECONDS

if [ ! -x "$venv/bin/python" ]; then
  echo "ci_python_tests: creating the virtual environment $venv with $(command -v "$python") ($("$python" --version 2>&1))"
  "$python" -m venv "$venv" || {
    echo "ci_python_tests: FAILED to create a venv (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
echo "ci_python_tests: pip install uproot awkward h5py numpy onnxruntime (into $venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: uproot awkward h5py numpy onnxruntime
t_install=$((SECONDS - t0))

status=0
t1=$SECONDS
echo "ci_python_tests: running tools/test_root_to_hdf5.py"
"$venv/bin/python" tools/test_root_to_hdf5.py || status=$?
t_test=$((SECONDS - t1))

if [ "$status" -eq 0 ]; then
  echo "ci_python_tests: PASSED tools/test_root_to_hdf5.py (ROOT -> HDF5 converter; venv ready in ${t_install} s, tests ${t_test} s)"
else
  echo "ci_python_tests: FAILED tools/test_root_to_hdf5.py (exit status $status)" >&2
fi

ort_status=0
ort_dir=${HEPNN_TUTORIAL13_DIR:-build/examples/tutorial-scratch/13}
if [ -f "$ort_dir/scores.h5" ]; then
  echo "ci_python_tests: running examples/13_deploy_exchange/run_onnxruntime.py $ort_dir"
  if "$venv/bin/python" examples/13_deploy_exchange/run_onnxruntime.py "$ort_dir"; then
    echo "ci_python_tests: PASSED tutorial 13 in ONNX Runtime (hepnn's exports reproduce hepnn and Keras)"
  else
    echo "ci_python_tests: FAILED tutorial 13 in ONNX Runtime" >&2
    ort_status=1
  fi
else
  echo "ci_python_tests: SKIPPED tutorial 13 in ONNX Runtime: no $ort_dir/scores.h5 (tutorial 13 has not run)"
fi
[ "$status" -eq 0 ] && [ "$ort_status" -eq 0 ]
