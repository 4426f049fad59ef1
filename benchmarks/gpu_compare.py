#!/usr/bin/env python3
"""Side by side: the tables of gpu_table (hepnn) and peers/torch_gpu_table.py (PyTorch eager).

  usage: gpu_compare.py FILE...   (table outputs, in any order; optionally bench_cuda's JSON
                                   output, --benchmark_out_format=json, for Dense vs GEMM)

Prints (1) hepnn against each peer (torch; torch_pinned when the script ran with --pin-memory)
for every row both tables have (same model, mode, device, threads, batch): events/s of each
and the ratio hepnn / peer (> 1: hepnn faster); (2) hepnn
on the GPU against hepnn on the CPU; (3) the issue's targets, with the measured ratio next to
each. Only numbers found in the files are printed; missing rows are said to be missing.
"""
import csv
import json
import sys

KEY = ("model", "mode", "device", "threads", "batch")


def read_table(path):
    """Rows of a table file keyed by KEY, per peer; the '#' header lines are skipped."""
    with open(path) as f:
        lines = [ln for ln in f if ln.strip() and not ln.startswith("#")]
    rows = {}
    for r in csv.DictReader(lines):
        if r.get("peer") is None or r.get("events_per_s") in (None, ""):
            continue
        try:
            rows[(r["peer"],) + tuple(r[k] for k in KEY)] = float(r["events_per_s"])
        except (KeyError, ValueError):
            continue
    return rows


def read_bench_json(path):
    """{(M, K, N): dense/gemm} from bench_cuda's JSON: the median aggregate when there are
    repetitions, else the single run; runs that were skipped (no GPU) are left out."""
    with open(path) as f:
        data = json.load(f)
    context = data.get("context", {})
    print(f"# {path}: device {context.get('hepnn_cuda_device', '?')}, TF32 {context.get('hepnn_tf32', '?')}")
    ratios, medians = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or not b.get("run_name", b.get("name", "")).startswith("bm_dense_forward/"):
            continue
        if "dense/gemm" not in b:
            continue
        parts = dict(p.split(":") for p in b["run_name"].split("/")[1:] if ":" in p)
        key = (int(parts["M"]), int(parts["K"]), int(parts["N"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = b["dense/gemm"]
        else:
            ratios.setdefault(key, b["dense/gemm"])
    ratios.update(medians)
    return ratios


def batch_sort(k):
    return (k[0], k[1], k[2], k[3], int(k[4]))


def main(paths):
    rows, dense = {}, {}
    for p in paths:
        if p.endswith(".json"):
            dense.update(read_bench_json(p))
        else:
            rows.update(read_table(p))
    hepnn = {k[1:]: v for k, v in rows.items() if k[0] == "hepnn"}
    peers = sorted({k[0] for k in rows} - {"hepnn"})
    by_peer = {p: {k[1:]: v for k, v in rows.items() if k[0] == p} for p in peers}

    for peer in peers or ["torch"]:
        other = by_peer.get(peer, {})
        print(f"== hepnn against {peer} (events/s; ratio > 1: hepnn faster) ==")
        print(f"model,mode,device,threads,batch,hepnn_events_per_s,{peer}_events_per_s,hepnn_over_{peer}")
        common = sorted(set(hepnn) & set(other), key=batch_sort)
        for k in common:
            print(",".join(k) + f",{hepnn[k]:.1f},{other[k]:.1f},{hepnn[k] / other[k]:.3f}")
        if not common:
            print(f"# no row is in both a hepnn and a {peer} table")
        print()

    print("== hepnn on the GPU against hepnn on the CPU (events/s; speed-up = cuda / cpu) ==")
    threads = sorted({k[3] for k in hepnn if k[2] == "cpu"}, key=int)
    print("model,mode,batch,cuda_events_per_s," + ",".join(f"cpu{t}_events_per_s,cuda_over_cpu{t}" for t in threads))
    gpu_keys = sorted((k for k in hepnn if k[2] == "cuda"), key=batch_sort)
    for k in gpu_keys:
        model, mode, _, _, batch = k
        cells = [model, mode, batch, f"{hepnn[k]:.1f}"]
        for t in threads:
            c = hepnn.get((model, mode, "cpu", t, batch))
            cells += [f"{c:.1f}", f"{hepnn[k] / c:.2f}"] if c else ["", ""]
        print(",".join(cells))
    if not gpu_keys:
        print("# no hepnn cuda rows")

    print()
    print("== targets of the CUDA backend issue (H100) ==")
    for model, target, what in (("mlp", 2.0, "small-MLP training >= 2x PyTorch eager"),
                                ("cnn", 1.0, "CNN training >= 1x PyTorch eager")):
        for peer in [p for p in ("torch", "torch_pinned") if p in by_peer] or ["torch"]:
            other = by_peer.get(peer, {})
            ks = sorted((k for k in set(hepnn) & set(other) if k[0] == model and k[1] == "train" and k[2] == "cuda"),
                        key=batch_sort)
            if not ks:
                print(f"{what} ({peer}): no measurement")
                continue
            cells = ", ".join(f"batch {k[4]}: {hepnn[k] / other[k]:.2f}" for k in ks)
            met = [k[4] for k in ks if hepnn[k] / other[k] >= target]
            print(f"{what} ({peer}): hepnn/{peer} {cells}; met at batch {', '.join(met) if met else 'none'}")
    big = sorted(k for k in dense if k[0] >= 1024)
    if big:
        cells = ", ".join(f"{m}x{kk}->{n}: {dense[(m, kk, n)]:.2f}" for (m, kk, n) in big)
        met = [k for k in big if dense[k] >= 0.7]
        print(f"Dense forward at large batch >= 70% of cuBLAS GEMM: dense/gemm {cells}; "
              f"met in {len(met)} of {len(big)}")
    else:
        print("Dense forward at large batch >= 70% of cuBLAS GEMM: no measurement (bench_cuda JSON not given or skipped)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
