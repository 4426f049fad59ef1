#!/usr/bin/env bash
# Test accuracy of the 784-500-300-10 MLP after 10 epochs on Fashion-MNIST (docs/benchmarks.md,
# "Test accuracy of the MLP"), over several seeds, for hepnn with its default (Keras) recipe,
# hepnn with the PyTorch peers' recipe, libtorch and, when a PyTorch interpreter is given,
# PyTorch 2. Prints every run, then the mean, the standard deviation and the range per recipe.
#
#   bash benchmarks/mlp_accuracy.sh BUILD_DIR [SEEDS] [THREADS] [PYTORCH_PYTHON]
#     BUILD_DIR        configured with -DHEPNN_BUILD_BENCHMARKS=ON (train_mlp, torch_train_mlp)
#     SEEDS            number of seeds, 1..SEEDS (default 5)
#     THREADS          threads per run (default 2; training is bitwise thread-count independent)
#     PYTORCH_PYTHON   an interpreter with PyPI's torch (optional)
#
# The recipes differ only in the initialisation and in Adam's epsilon:
#   hepnn-keras    glorot_uniform kernels, zero biases, epsilon 1e-7 (hepnn's and Keras' defaults)
#   hepnn-pytorch  U(+-1/sqrt(fan_in)) kernels and biases (Init::pytorch_uniform), epsilon 1e-8,
#                  which is what torch.nn.Linear and torch.optim.Adam do by default
# Seeds are not chosen on the test set: every seed 1..SEEDS is reported.
set -euo pipefail
build=${1:?usage: mlp_accuracy.sh BUILD_DIR [SEEDS] [THREADS] [PYTORCH_PYTHON]}
seeds=${2:-5}
threads=${3:-2}
pytorch=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
bench=$build/benchmarks
[ -x "$bench/train_mlp" ] || { echo "mlp_accuracy.sh: $bench/train_mlp is missing (-DHEPNN_BUILD_BENCHMARKS=ON)" >&2; exit 1; }
have_torch=0
[ -x "$bench/torch_train_mlp" ] && have_torch=1

echo "# mlp_accuracy.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) CPUs, threads=$threads, seeds 1..$seeds"
echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || (grep -q avx2 /proc/cpuinfo && echo AVX2 || echo no AVX2))"
echo "# env: $(env | grep -E '^(OPENBLAS|OMP|MKL|HEPNN)_' | sort | tr '\n' ' ')"
echo "# hepnn git $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ $have_torch = 1 ] || echo "# libtorch peer not built (libtorch-dev missing): skipped"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() {  # recipe, command...
  local recipe=$1
  shift
  local line
  line=$("$@" | grep '^RESULT') || { echo "mlp_accuracy.sh: '$*' failed" >&2; exit 1; }
  echo "$recipe seed=$seed $line"
  echo "$recipe $(sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p' <<<"$line")" >>"$results"
}
for seed in $(seq 1 "$seeds"); do
  run hepnn-keras "$bench/train_mlp" --threads "$threads" --seed "$seed"
  run hepnn-pytorch "$bench/train_mlp" --threads "$threads" --seed "$seed" --init pytorch_uniform \
    --bias-init pytorch_uniform --eps 1e-8
  if [ $have_torch = 1 ]; then
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$threads run libtorch "$bench/torch_train_mlp" --threads "$threads" \
      --seed "$seed"
  fi
  if [ -n "$pytorch" ]; then
    OMP_NUM_THREADS=$threads run pytorch2 "$pytorch" "$here/peers/pytorch_peer.py" train --threads "$threads" \
      --seed "$seed"
  fi
done

echo "# test accuracy after 10 epochs, seeds 1..$seeds"
python3 - "$results" <<'EOF'
import statistics, sys
acc = {}
for line in open(sys.argv[1]):
    recipe, value = line.split()
    acc.setdefault(recipe, []).append(100 * float(value))
print(f"{'recipe':14} {'mean %':>7} {'sd':>5} {'min':>6} {'max':>6}  runs")
for recipe, v in acc.items():
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"{recipe:14} {statistics.mean(v):7.2f} {sd:5.2f} {min(v):6.2f} {max(v):6.2f}  {len(v)}")
EOF
