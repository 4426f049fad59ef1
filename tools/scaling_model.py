#!/usr/bin/env python3
"""The scaling model of docs/distributed.md: data-parallel efficiency of hepnn's fit on 8 GPUs
per node and 4-64 nodes, from measured compute times per step and published interconnect
bandwidths. Prints the Markdown tables of docs/distributed.md.

  usage: python3 tools/scaling_model.py [--gpu-results DIR]

Model (no overlap of communication with the backward pass, as hepnn's fit does today):
  step(p) = compute(b) + allreduce(S, p)
  allreduce(S, p) = 2 (p - 1) / p * S / busbw(p) + latency(p)     (ring all-reduce, NCCL's bus bandwidth)
  efficiency = compute / step;  throughput(p) = p * b / step
Inputs, each stated in the printed header:
  compute(b): hepnn's measured train_on_batch time on an NVIDIA H200 (gpu_table, FP32, plain
    CUDA; ../shared/gpu-results/2026-11-29-h200/gpu_table_cuda.txt), except the 10M-parameter model
    (an estimate: 6 flops per parameter and event at 25 TFLOP/s, FP32 without tensor cores).
  busbw: 450 GB/s inside a node (8 GPUs on NVLink 4 / NVSwitch, NVIDIA's figure; nccl-tests report
    460-480 GB/s); across nodes 45 GB/s with one 400 Gb/s NDR InfiniBand NIC per node (a typical
    HEP or HPC GPU node) and 360 GB/s with eight (DGX-class: one NIC per GPU), 90% of line rate.
  latency: 10 us inside a node; across nodes 10 us + 20 us per doubling of the node count
    (NCCL's tree for small messages).
"""
import argparse
import csv
import math
import os

GB = 1e9


def measured(path):
    t = {}
    with open(path) as f:
        rows = [l for l in f if not l.startswith('#')]
    for r in csv.DictReader(rows):
        if r['peer'] == 'hepnn' and r['mode'] == 'train' and r['device'] == 'cuda':
            t[(r['model'], int(r['batch']))] = float(r['ms_per_batch']) * 1e-3
    return t


def allreduce(S, nodes, gpus_per_node, inter_busbw):
    p = nodes * gpus_per_node
    if p == 1:
        return 0.0
    if nodes == 1:
        return 2 * (p - 1) / p * S / (450 * GB) + 10e-6
    return 2 * (p - 1) / p * S / inter_busbw + 10e-6 + 20e-6 * math.log2(nodes)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--gpu-results', default=os.path.join(here, '..', '..', 'shared', 'gpu-results', '2026-11-29-h200'))
    a = ap.parse_args()
    path = os.path.join(a.gpu_results, 'gpu_table_cuda.txt')
    t = measured(path) if os.path.exists(path) else {}
    if not t:
        print(f'# {path} not found: the measured compute times are missing; only the 10M model is estimated')
    # (name, parameters, {batch per GPU: compute seconds, measured or estimated})
    models = []
    for name, params in (('mlp', 545_810), ('cnn', 454_922)):
        if (name, 128) in t:
            models.append((f'{name} ({params / 1e6:.2f}M params, measured)', params,
                           {b: t[(name, b)] for b in (128, 1024) if (name, b) in t}))
    models.append(('dense 10M params (estimated)', 10_000_000,
                   {b: 6 * 10e6 * b / 25e12 for b in (128, 1024)}))
    for inter, label in ((45 * GB, 'one 400 Gb/s NIC per node (45 GB/s)'), (360 * GB, 'eight NICs per node (360 GB/s)')):
        print(f'\n#### Across nodes: {label}\n')
        print('| model | batch/GPU | compute ms | 8 GPUs (1 node) | 4 nodes (32) | 16 nodes (128) | 64 nodes (512) |')
        print('|---|---|---|---|---|---|---|')
        for name, params, comp in models:
            S = 4 * params  # float gradients
            for b, c in sorted(comp.items()):
                cells = []
                for nodes in (1, 4, 16, 64):
                    ar = allreduce(S, nodes, 8, inter)
                    eff = c / (c + ar)
                    mark = ' **comm > compute**' if ar > c else ''
                    cells.append(f'{eff:.2f} ({1e3 * ar:.3f} ms){mark}')
                print(f'| {name} | {b} | {1e3 * c:.2f} | ' + ' | '.join(cells) + ' |')
    print('\nEach cell: efficiency = compute / (compute + all-reduce), and the all-reduce time per step.')


if __name__ == '__main__':
    main()
