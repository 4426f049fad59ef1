#!/usr/bin/env python3
"""The workloads of benchmarks/gpu_table.cpp written with PyTorch eager, printing the same table.

Same models (784-500-300-10 MLP with dropout 0.2/0.5/0.5; the CNN of benchmarks/train_cnn.cpp),
same loss (cross-entropy on logits), same optimizer (Adam, learning rate 1e-3), same batch sizes,
same procedure (warm-up, then the median over --repeats repeats of about --min-ms each of the time
per call), same columns: the rows of the two programs compare one to one (peer = hepnn / torch).

  inference: x on the host -> .to(device) -> model (eval mode, inference_mode) -> copied into a
             host tensor, like hepnn's predict(span, span, Workspace&) (host in, host out)
  training:  host batch -> .to(device), zero_grad(set_to_none=True), forward, cross_entropy,
             backward, Adam step, loss.item() (hepnn's train_on_batch returns the loss too)

GPU rows are timed with torch.cuda.Event around each repeat, CPU rows with time.perf_counter.
Matrix products and convolutions run in plain FP32 unless --tf32 is given (PyTorch's default
lets cuDNN convolutions use TF32; here both switches follow --tf32, to match hepnn's FP32
default). Inputs are random (fixed seed).

  usage: torch_gpu_table.py [--device cpu|cuda|all] [--threads 1,2] [--batches 1,4,16,128,512,1024,4096]
                            [--repeats 7] [--model mlp|cnn|all] [--mode infer|train|all] [--min-ms 20]
                            [--tf32] [--cudnn-benchmark] [--pin-memory]
"""
import argparse
import os
import platform
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def positive_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of positive integers: '{text}'")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"not a list of positive integers: '{text}'")
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    p.add_argument("--threads", type=positive_list, default=[1, 2], help="CPU thread counts (CPU rows)")
    p.add_argument("--batches", type=positive_list, default=[1, 4, 16, 128, 512, 1024, 4096])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--model", choices=["mlp", "cnn", "all"], default="all")
    p.add_argument("--mode", choices=["infer", "train", "all"], default="all")
    p.add_argument("--min-ms", type=float, default=20.0, help="about this long per timed repeat")
    p.add_argument("--tf32", action="store_true", help="TF32 tensor cores for products and convolutions")
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    p.add_argument("--pin-memory", action="store_true",
                   help="host batches and outputs in pinned memory, copies with non_blocking=True "
                        "(as DataLoader(pin_memory=True)); the rows are then named peer torch_pinned")
    a = p.parse_args(argv)
    if a.repeats <= 0:
        p.error("--repeats must be positive")
    return a


def make_model(which):
    if which == "mlp":
        return nn.Sequential(
            nn.Dropout(0.2), nn.Linear(784, 500), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(500, 300), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(300, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def random_batches(which, batch, pin):
    """Two host batches of random images in [0, 1) with random labels 0..9, used in turn."""
    shape = (batch, 784) if which == "mlp" else (batch, 1, 28, 28)
    g = torch.Generator().manual_seed(1)
    out = [(torch.rand(shape, generator=g), torch.randint(0, 10, (batch,), generator=g)) for _ in range(2)]
    return [(x.pin_memory(), y.pin_memory()) for x, y in out] if pin else out


class Timer:
    """Milliseconds of `calls` calls of f: CUDA events on the current stream, or perf_counter."""

    def __init__(self, device):
        self.cuda = device == "cuda"
        if self.cuda:
            self.start = torch.cuda.Event(enable_timing=True)
            self.stop = torch.cuda.Event(enable_timing=True)

    def ms(self, calls, f):
        if self.cuda:
            self.start.record()
            for _ in range(calls):
                f()
            self.stop.record()
            self.stop.synchronize()
            return self.start.elapsed_time(self.stop)
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        return (time.perf_counter() - t0) * 1e3


def measure(args, device, f):
    """Warm-up (at least two calls and about min_ms), then the median time per call over
    `repeats` repeats of `calls` calls each; returns (ms per call, calls)."""
    timer = Timer(device)
    last = timer.ms(1, f)
    warm, w = last, 1
    while w < 2 or (warm < args.min_ms and w < 50):
        last = timer.ms(1, f)
        warm += last
        w += 1
    calls = min(max(int(args.min_ms / max(last, 1e-3)) + 1, 1), 10000)
    per_call = [timer.ms(calls, f) / calls for _ in range(args.repeats)]
    return statistics.median(per_call), calls


def print_row(model, mode, device, threads, batch, args, ms, calls):
    print(f"{peer_name(args)},{model},{mode},{device},{threads},{batch},{ms:.5f},{ms / batch:.6f},{1e3 * batch / ms:.1f},"
          f"{args.repeats},{calls},{'cuda_event' if device == 'cuda' else 'perf_counter'}", flush=True)


def peer_name(args):
    return "torch_pinned" if args.pin_memory else "torch"


def run_device(args, device, threads):
    dev = torch.device(device)
    pin = args.pin_memory and device == "cuda"
    for which in ("mlp", "cnn"):
        if args.model not in ("all", which):
            continue
        torch.manual_seed(1)
        model = make_model(which).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for batch in args.batches:
            batches = random_batches(which, batch, pin)
            if args.mode != "train":
                model.eval()
                out = torch.empty(batch, 10, pin_memory=pin)
                state = {"i": 0}

                def infer():
                    x = batches[state["i"] % 2][0]
                    state["i"] += 1
                    with torch.inference_mode():
                        out.copy_(model(x.to(dev, non_blocking=pin)))

                ms, calls = measure(args, device, infer)
                print_row(which, "infer", device, threads, batch, args, ms, calls)
            if args.mode != "infer":
                model.train()
                state = {"i": 0, "sink": 0.0}

                def train():
                    x, y = batches[state["i"] % 2]
                    state["i"] += 1
                    x, y = x.to(dev, non_blocking=pin), y.to(dev, non_blocking=pin)
                    opt.zero_grad(set_to_none=True)
                    loss = F.cross_entropy(model(x), y)
                    loss.backward()
                    opt.step()
                    state["sink"] += loss.item()

                ms, calls = measure(args, device, train)
                print_row(which, "train", device, threads, batch, args, ms, calls)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_of_torch():
    """The BLAS and oneDNN entries of torch's build settings."""
    found = [f"{k}={v}" for k, v in re.findall(r"\b(BLAS_INFO|LAPACK_INFO|USE_MKL|USE_MKLDNN)=([^,\s]*)",
                                                torch.__config__.show())]
    return " ".join(found) if found else "BLAS not listed in torch.__config__.show()"


def header(args, want_gpu, have_gpu):
    cuda_version = torch.version.cuda or "none"
    cudnn = torch.backends.cudnn.version() if have_gpu else None
    print(f"# torch_gpu_table: torch {torch.__version__} (CUDA {cuda_version}, cuDNN {cudnn}), "
          f"python {platform.python_version()}")
    if have_gpu:
        p = torch.cuda.get_device_properties(0)
        print(f"# gpu: {p.name} (sm_{p.major}{p.minor}), "
              f"TF32 matmul {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}, "
              f"TF32 cudnn {'on' if torch.backends.cudnn.allow_tf32 else 'off'}, "
              f"cudnn.benchmark {'on' if torch.backends.cudnn.benchmark else 'off'}; "
              f"cuda rows with torch's default CPU thread setting ({torch.get_num_threads()}); "
              f"host memory {'pinned, non_blocking copies' if args.pin_memory else 'pageable (default)'}")
    elif want_gpu:
        print("# gpu: none (no CUDA GPU): the cuda rows are skipped")
    else:
        print("# gpu: not asked for (--device cpu)")
    print(f"# cpu: {cpu_model()}, {os.cpu_count()} hardware threads")
    print(f"# torch cpu: {blas_of_torch()}; mkldnn available: {torch.backends.mkldnn.is_available()}; "
          f"cpu rows at threads {' '.join(str(t) for t in args.threads)} (torch.set_num_threads)")
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES",
                                                     "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                     "CUDA_VISIBLE_DEVICES") if k in os.environ)
    print(f"# env: {env or 'none of OMP_*, OPENBLAS_*, MKL_*, CUDA_VISIBLE_DEVICES set'}")
    print("# models: mlp = 784-500(relu)-300(relu)-10 with dropout 0.2/0.5/0.5; cnn = conv 5x5x32 same relu, "
          "maxpool 2, conv 5x5x64 same relu, maxpool 2, dense 128 relu, dropout 0.5, dense 10; "
          "cross-entropy on logits, Adam 1e-3 (torch.optim.Adam defaults otherwise)")
    print("# infer = eval() + inference_mode, host -> device -> host; train = host batch .to(device), "
          "zero_grad(set_to_none=True), forward, loss, backward, step, loss.item()")
    print(f"# timing: median over {args.repeats} repeats of >= {args.min_ms:.0f} ms each (calls = calls per repeat), "
          "after warm-up; cpu: time.perf_counter; cuda: torch.cuda.Event")
    print("# inputs: random (torch.Generator seed 1), labels random in 0..9")
    print("peer,model,mode,device,threads,batch,ms_per_batch,ms_per_event,events_per_s,repeats,calls,timer",
          flush=True)


def main(argv):
    args = parse_args(argv)
    want_gpu = args.device != "cpu"
    have_gpu = want_gpu and torch.cuda.is_available()
    # Plain FP32 unless asked: hepnn's products are FP32 by default.
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    header(args, want_gpu, have_gpu)
    if want_gpu and not have_gpu:
        print("torch_gpu_table: no CUDA GPU: the cuda rows are skipped", file=sys.stderr)
    default_threads = torch.get_num_threads()
    if args.device != "cuda":
        for t in args.threads:
            torch.set_num_threads(t)
            run_device(args, "cpu", str(t))
    torch.set_num_threads(default_threads)  # host-side work of the cuda rows: torch's default
    if have_gpu:
        run_device(args, "cuda", "-")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
