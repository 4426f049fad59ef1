#!/usr/bin/env python3
"""PyTorch 2 (from PyPI) peer of benchmarks/train_mlp, train_cnn and infer_mlp.

The same three workloads as the libtorch peers in this directory, written the way a physicist
would write them in Python today: torch.set_num_threads, Adam, cross_entropy, inference_mode.
Run it with the interpreter of a venv that holds PyPI's torch (benchmarks/compare.py --pytorch):

  python -m venv venv && venv/bin/pip install torch numpy
  venv/bin/python benchmarks/peers/pytorch_peer.py train [--epochs N] [--threads T] [--seed S]
  venv/bin/python benchmarks/peers/pytorch_peer.py cnn   [--epochs N] [--threads T] [--samples S]
  venv/bin/python benchmarks/peers/pytorch_peer.py infer [--threads T] [--reps R]

  train  784-500-300-10 MLP, ReLU, dropout 0.2 on the input and 0.5 after each hidden layer,
         softmax cross-entropy, Adam 1e-3, batch 128, on Fashion-MNIST; samples/s of every
         epoch, their median and the test accuracy after the last epoch
  cnn    the CNN of examples/04 (conv 5x5 32, pool, conv 5x5 64, pool, dense 128, dropout 0.5,
         dense 10) on the first --samples training images, batch 128; samples/s
  infer  20-64-64-1 MLP (tanh, tanh, sigmoid) in eval mode under torch.inference_mode, batches
         of 1 to 4096 events; the median over --reps repetitions of the time per call, each
         repetition timing enough calls to last >= 20 ms (as infer_mlp and torch_infer_mlp)

Fashion-MNIST is read from the idx files (gzip or not) in --data, scaled to [0, 1], as hepnn's
reader does. The last lines are machine-readable, as the C++ programs' are:
  RESULT peer=pytorch threads=T epochs=N median_samples_per_s=... [test_accuracy=...]
  RESULT peer=pytorch threads=T batch=B us_per_call=... events_per_s=...
"""
import argparse
import gzip
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An idx file (ubyte images or labels) as a numpy array."""
    for p in (path + ".gz", path):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                data = f.read()
            break
    else:
        sys.exit(f"pytorch_peer.py: '{path}[.gz]' not found; install Debian's dataset-fashion-mnist or pass --data")
    magic, = struct.unpack(">I", data[:4])
    if magic >> 8 != 0x08:
        sys.exit(f"pytorch_peer.py: '{path}' is not an unsigned-byte idx file (magic {magic:#x})")
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if values.size != math.prod(dims):
        sys.exit(f"pytorch_peer.py: '{path}' holds {values.size} values, its header promises {math.prod(dims)}")
    return values.reshape(dims)


def fashion_mnist(directory, part):
    prefix = "train" if part == "train" else "t10k"
    x = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def median(values):
    return statistics.median(values) if values else 0.0


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(784, 500), nn.Linear(500, 300), nn.Linear(300, 10)

    def forward(self, x):
        x = F.relu(self.l1(F.dropout(x, 0.2, self.training)))
        x = F.relu(self.l2(F.dropout(x, 0.5, self.training)))
        return self.l3(F.dropout(x, 0.5, self.training))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        self.f1, self.f2 = nn.Linear(64 * 7 * 7, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.dropout(F.relu(self.f1(x.flatten(1))), 0.5, self.training)
        return self.f2(x)


def train(model, x, y, epochs, batch):
    """Adam 1e-3, a new permutation every epoch; returns samples/s of every epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, rates = x.shape[0], []
    for epoch in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        loss_sum = 0.0
        for b0 in range(0, n, batch):
            idx = perm[b0:b0 + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * idx.numel()
        s = time.perf_counter() - t0
        rates.append(n / s)
        print(f"epoch {epoch + 1:2d}  loss {loss_sum / n:.4f}  {n / s:8.0f} samples/s", flush=True)
    return rates


def run_train(a):
    x, y = fashion_mnist(a.data, "train")
    xt, yt = fashion_mnist(a.data, "test")
    model = Mlp()
    rates = train(model, x.reshape(-1, 784), y, a.epochs, a.batch)
    model.eval()
    with torch.inference_mode():
        acc = (model(xt.reshape(-1, 784)).argmax(1) == yt).double().mean().item()
    print(f"RESULT peer=pytorch threads={a.threads} epochs={a.epochs} median_samples_per_s={median(rates):.0f} "
          f"test_accuracy={acc:.4f}")


def run_cnn(a):
    x, y = fashion_mnist(a.data, "train")
    n = min(a.samples, x.shape[0])
    rates = train(Cnn(), x[:n].reshape(n, 1, 28, 28).contiguous(), y[:n], a.epochs, a.batch)
    print(f"RESULT peer=pytorch threads={a.threads} epochs={a.epochs} median_samples_per_s={median(rates):.0f}")


def run_infer(a):
    model = nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1), nn.Sigmoid())
    model.eval()
    max_batch = 4096
    x = torch.sin(torch.arange(max_batch * 20, dtype=torch.float64)).float().reshape(max_batch, 20)
    out = np.empty(max_batch, dtype=np.float32)
    checksum = 0.0
    with torch.inference_mode():
        for batch in (1, 16, 256, 1024, 4096):
            xb = x[:batch]

            def call():
                out[:batch] = model(xb).numpy().reshape(-1)

            call()
            calls = 1
            while True:  # calls per repetition: enough for >= 20 ms
                t0 = time.perf_counter()
                for _ in range(calls):
                    call()
                if time.perf_counter() - t0 >= 0.02:
                    break
                calls *= 2
            per_call = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                for _ in range(calls):
                    call()
                per_call.append((time.perf_counter() - t0) / calls)
                checksum += float(out[0])
            med = sorted(per_call)[len(per_call) // 2]
            print(f"RESULT peer=pytorch threads={a.threads} batch={batch} us_per_call={med * 1e6:.4f} "
                  f"events_per_s={batch / med:.0f}")
    print(f"# checksum {checksum:.6f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["train", "cnn", "infer"])
    ap.add_argument("--epochs", type=int, default=None, help="default: 10 (train), 1 (cnn)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--samples", type=int, default=6400, help="cnn: training images used")
    ap.add_argument("--reps", type=int, default=7, help="infer: repetitions per batch size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=DEFAULT_DATA)
    a = ap.parse_args()
    if a.epochs is None:
        a.epochs = 10 if a.workload == "train" else 1
    if a.threads < 1 or a.epochs < 1 or a.batch < 1 or a.reps < 1:
        sys.exit("pytorch_peer.py: --threads, --epochs, --batch and --reps must be positive")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(f"# torch {torch.__version__}, cpu capability {torch.backends.cpu.get_cpu_capability()}, "
          f"mkldnn {torch.backends.mkldnn.is_available()}, threads {torch.get_num_threads()}", flush=True)
    {"train": run_train, "cnn": run_cnn, "infer": run_infer}[a.workload](a)


if __name__ == "__main__":
    main()
