#!/usr/bin/env python3
"""ONNX Runtime's side of benchmarks/exchange.sh: the .onnx file that exchange_latency wrote (the
Keras b-tagger of tutorial 13, exported by hepnn) on one CPU thread, at batch 1 and 1024, with
the same inputs as the C++ side (4096 events, walked through in the same order).

Python's and ONNX Runtime's own per-call cost (building the feed dict, converting arrays, the
session's dispatch) is measured on an empty model: Identity nodes with the same two inputs and
one output of the same shape. Its median time is reported, and subtracted in the `net` lines,
so that `net` is the model's own computation in ONNX Runtime.

    usage: exchange_onnxruntime.py MODEL.onnx [--rounds R]
    lines: RESULT side=ort|ort_empty|ort_net batch=B us_per_call=<median over rounds> events_per_s=...
Needs onnxruntime and onnx (PyPI).
"""
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def empty_model():
    """jet (batch, 4), tracks (batch, 6, 3) -> btag (batch, 1): a slice of jet, no computation."""
    jet = helper.make_tensor_value_info("jet", TensorProto.FLOAT, ["batch", 4])
    trk = helper.make_tensor_value_info("tracks", TensorProto.FLOAT, ["batch", 6, 3])
    out = helper.make_tensor_value_info("btag", TensorProto.FLOAT, ["batch", 1])
    consts = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in
              (("starts", 0), ("ends", 1), ("axes", 1))]
    nodes = [helper.make_node("Identity", ["tracks"], ["unused"]),
             helper.make_node("Slice", ["jet", "starts", "ends", "axes"], ["btag"])]
    g = helper.make_graph(nodes, "empty", [jet, trk], [out], initializer=consts)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    return m.SerializeToString()


def philox_like_inputs(n):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.normal(size=(n, 6, 3)).astype(np.float32)


def us_per_call(sess, jet, trk, batch):
    n = len(jet)
    views = [(jet[a:a + batch], trk[a:a + batch]) for a in ((i * batch) % (n - batch + 1) for i in range(64))]
    run = sess.run
    run(None, {"jet": views[0][0], "tracks": views[0][1]})
    calls = 64
    while True:
        t0 = time.perf_counter()
        for i in range(calls):
            j, t = views[i % 64]
            run(None, {"jet": j, "tracks": t})
        s = time.perf_counter() - t0
        if s > 0.3:
            return s / calls * 1e6
        calls *= int(0.35 / s) + 1 if s > 0.03 else 10


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
    empty = ort.InferenceSession(empty_model(), opts, providers=["CPUExecutionProvider"])
    jet, trk = philox_like_inputs(4096)
    print(f"# ONNX Runtime {ort.__version__} (onnx {onnx.__version__}), numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}; 1 intra-op thread, sequential, all graph optimisations")
    for batch in (1, 1024):
        tm, te = [], []
        for _ in range(rounds):
            tm.append(us_per_call(model, jet, trk, batch))
            te.append(us_per_call(empty, jet, trk, batch))
        m, e = float(np.median(tm)), float(np.median(te))
        for side, t in (("ort", m), ("ort_empty", e), ("ort_net", m - e)):
            print(f"RESULT side={side} batch={batch} us_per_call={t:.4f} events_per_s={batch / t * 1e6:.0f}")


if __name__ == "__main__":
    main()
