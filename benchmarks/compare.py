#!/usr/bin/env python3
"""hepnn against libtorch and PyTorch 2, side by side on the same machine in the same run.

Runs the programs alternately (hepnn, libtorch, PyTorch, hepnn, libtorch, ...) for --rounds
rounds at each thread count, each peer in its own best configuration, and prints the medians,
the hepnn/libtorch ratios and, with --pytorch, the hepnn/best-peer ratios. The header names the
CPU and the instruction set (AVX-512, AVX2 + FMA, ...). Workloads:
  train  benchmarks/train_mlp vs peers/torch_train_mlp: 784-500-300-10 MLP with dropout on
         Fashion-MNIST, Adam, batch 128; samples/s = median over the epochs of one run
  cnn    benchmarks/train_cnn vs peers/torch_train_cnn: the CNN of examples/04 on the first
         6400 Fashion-MNIST images, batch 128; samples/s of one epoch
  infer  benchmarks/infer_mlp vs peers/torch_infer_mlp: 20-64-64-1 MLP, batch 1 ... 4096;
         us per call and events/s = median over repetitions inside one run
  lstm, transformer
         benchmarks/sequence_models vs peers/torch_sequence_models: an LSTM and a pre-norm
         Transformer encoder block on jets of 15 tracks x 6 features, hidden 64: a training
         step on 256 jets (samples/s), inference on 256 jets and on 1 jet (events/s; the
         single-jet rows also give us per jet)
PyTorch 2 (--pytorch PYTHON: an interpreter whose venv holds PyPI's torch) runs
peers/pytorch_peer.py on train, cnn and infer; lstm and transformer have the libtorch peer only.
Usage: compare.py --build BUILD_DIR [--rounds 3] [--epochs 2] [--threads 1 2] [--raw FILE]
                  [--pytorch VENV/bin/python]
Only the Python standard library is needed (torch only in the --pytorch interpreter).
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

RESULT = re.compile(r"^RESULT (.*)$")


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split())


def run(cmd, env_extra, raw):
    env = dict(os.environ)
    env.update(env_extra)
    t0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    header = "$ " + " ".join(f"{k}={v}" for k, v in env_extra.items()) + " " + " ".join(cmd)
    raw.write(f"{header}\n{p.stdout}{p.stderr}# exit {p.returncode}, {time.time() - t0:.1f} s\n")
    raw.flush()
    if p.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed with exit code {p.returncode}:\n{p.stderr}")
    return [parse(m.group(1)) for m in map(RESULT.match, p.stdout.splitlines()) if m]


def cpu_description():
    """The CPU's model name and its widest vector instruction set, from /proc/cpuinfo."""
    model, flags = None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model is None:
                    model = value.strip()
                elif key.strip() == "flags" and flags is None:
                    flags = set(value.split())
    except OSError:
        return (platform.processor() or "unknown CPU") + ", instruction set unknown (no /proc/cpuinfo)"
    model, flags = model or platform.processor() or "unknown CPU", flags or set()
    if "avx512f" in flags:
        isa = "AVX-512 (" + " ".join(sorted(f for f in flags if f.startswith("avx512"))) + ")"
    elif "avx2" in flags:
        isa = "AVX2" + (" + FMA" if "fma" in flags else "") + ", no AVX-512"
    elif "avx" in flags:
        isa = "AVX, no AVX2"
    else:
        isa = "SSE only"
    return f"{model}, {isa}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="build directory configured with -DHEPNN_BUILD_BENCHMARKS=ON")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2, help="epochs per training run (throughput only)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workloads", nargs="+", default=["train", "cnn", "infer"],
                    choices=["train", "cnn", "infer", "lstm", "transformer"])
    ap.add_argument("--raw", default="-", help="file for the raw output of every run (default: stdout)")
    ap.add_argument("--pytorch", metavar="PYTHON",
                    help="a Python interpreter with PyPI's torch: adds PyTorch 2 as a peer for train, cnn, infer")
    a = ap.parse_args()
    pytorch_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "pytorch_peer.py")
    pytorch_version = None
    if a.pytorch:
        p = subprocess.run([a.pytorch, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"compare.py: --pytorch {a.pytorch} cannot import torch:\n{p.stderr}")
        pytorch_version = p.stdout.strip()
    bench = os.path.join(a.build, "benchmarks")
    progs = {"train": ["train_mlp", "torch_train_mlp"], "cnn": ["train_cnn", "torch_train_cnn"],
             "infer": ["infer_mlp", "torch_infer_mlp"], "lstm": ["sequence_models", "torch_sequence_models"],
             "transformer": ["sequence_models", "torch_sequence_models"]}
    for prog in [p for w in a.workloads for p in progs[w]]:
        if not os.path.exists(os.path.join(bench, prog)):
            sys.exit(f"compare.py: {bench}/{prog} is missing; configure with -DHEPNN_BUILD_BENCHMARKS=ON "
                     "and install libtorch-dev for the peers")
    raw = sys.stdout if a.raw == "-" else open(a.raw, "a")

    # Each peer in its own best configuration (measured, see docs/benchmarks.md):
    # libtorch: its intra-op threads = t and OpenBLAS single-threaded (OpenBLAS threads inside
    # libtorch's threads oversubscribe the cores); hepnn: threads = t (it sets OpenBLAS to one
    # thread itself).
    def peers(workload, t):
        name = {"train": "train_mlp", "cnn": "train_cnn", "infer": "infer_mlp", "lstm": "sequence_models",
                "transformer": "sequence_models"}[workload]
        hep = [os.path.join(bench, name), "--threads", str(t)]
        tor = [os.path.join(bench, "torch_" + name), "--threads", str(t)]
        if workload in ("lstm", "transformer"):
            hep += ["--model", workload]
            tor += ["--model", workload]
        if workload == "train":
            hep += ["--epochs", str(a.epochs)]
            tor += ["--epochs", str(a.epochs)]
        out = [("hepnn", hep, {}), ("libtorch", tor, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": str(t)})]
        if a.pytorch and workload in ("train", "cnn", "infer"):
            py = [a.pytorch, pytorch_script, {"train": "train", "cnn": "cnn", "infer": "infer"}[workload],
                  "--threads", str(t)]
            if workload == "train":
                py += ["--epochs", str(a.epochs)]
            out.append(("pytorch", py, {"OMP_NUM_THREADS": str(t)}))
        return out

    results = {}  # (workload, threads, batch, peer) -> list of values
    for workload in a.workloads:
        for t in a.threads:
            for r in range(a.rounds):
                for peer, cmd, env in peers(workload, t):
                    for res in run(cmd, env, raw):
                        if workload in ("train", "cnn"):
                            key, val = (workload, t, "128", peer), float(res["median_samples_per_s"])
                        elif workload == "infer":
                            key, val = (workload, t, res["batch"], peer), float(res["events_per_s"])
                        else:  # lstm, transformer: the task and the batch
                            key, val = (workload, t, res["task"] + " " + res["batch"], peer), float(res["events_per_s"])
                        results.setdefault(key, []).append(val)

    print(f"# compare.py {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} on {platform.node()}, "
          f"{os.cpu_count()} logical CPUs, rounds={a.rounds}, epochs={a.epochs}")
    print(f"# cpu: {cpu_description()}")
    print("# peers: libtorch (Debian, benchmarks/peers/torch_*)"
          + (f", PyTorch {pytorch_version} ({a.pytorch}, benchmarks/peers/pytorch_peer.py)" if a.pytorch else ""))
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS", "OMP", "MKL", "GOMP")))
    print("# env: " + (env or "no OPENBLAS/OMP/MKL variables set") + " (libtorch runs add OPENBLAS_NUM_THREADS=1)")
    py_col = f" {'pytorch':>14}" if a.pytorch else ""
    best_col = f" {'/best':>6}" if a.pytorch else ""
    print(f"{'workload':11} {'threads':>7} {'batch':>10} {'hepnn':>14} {'libtorch':>14}{py_col} {'ratio':>7}{best_col}  unit"
          + ("   (ratio: hepnn/libtorch; /best: hepnn/faster peer)" if a.pytorch else ""))
    for workload in a.workloads:
        for t in a.threads:
            labels = sorted({k[2] for k in results if k[0] == workload and k[1] == t},
                            key=lambda b: (b.split()[0], -int(b.split()[-1])) if " " in b else ("", int(b)))
            for b in labels:
                unit = "events/s" if workload == "infer" or b.startswith("infer") else "samples/s"
                h = statistics.median(results[(workload, t, b, "hepnn")])
                p = statistics.median(results[(workload, t, b, "libtorch")])
                extra = f"; {1e6 / h:.1f} us vs {1e6 / p:.1f} us per jet" if b == "infer 1" else ""
                py = results.get((workload, t, b, "pytorch"))
                cols = ""
                if a.pytorch:
                    q = statistics.median(py) if py else None
                    cols = f" {q:>14,.0f}" if q else f" {'-':>14}"
                    best = max(p, q) if q else p
                print(f"{workload:11} {t:>7} {b:>10} {h:>14,.0f} {p:>14,.0f}{cols} {h / p:>7.2f}"
                      + (f" {h / best:>6.2f}" if a.pytorch else "") + f"  {unit} (median of {a.rounds}){extra}")
    if raw is not sys.stdout:
        raw.close()


if __name__ == "__main__":
    main()
