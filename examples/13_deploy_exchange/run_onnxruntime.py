#!/usr/bin/env python3
"""Tutorial 13, the ONNX Runtime side: runs the .onnx files that the C++ program wrote and
compares the scores.

    python3 -m venv /tmp/venv-ort && /tmp/venv-ort/bin/pip install onnxruntime h5py
    /tmp/venv-ort/bin/python examples/13_deploy_exchange/run_onnxruntime.py DIR

DIR is the C++ program's output directory: tagger.onnx (the hepnn tagger), keras_tagger.onnx
(the Keras model, imported by hepnn and exported again) and scores.h5 (the test jets, and for
each model the scores hepnn computed; keras_own: Keras' own predict).

Checks, at 1e-5 absolute on scores in [0, 1]:
  tagger.onnx        in ONNX Runtime == the hepnn tagger in hepnn
  keras_tagger.onnx  in ONNX Runtime == the Keras model in hepnn == the Keras model in Keras
Exit status 0 when all agree, 1 when not, 77 when onnxruntime or h5py is missing.
"""
import os
import sys

TOLERANCE = 1e-5


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        import h5py
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(f"SKIPPED: {e.name} is not installed (pip install onnxruntime h5py)")
        return 77
    d = sys.argv[1]
    with h5py.File(os.path.join(d, "scores.h5"), "r") as f:
        feeds = {"jet": f["inputs/jet"][:], "tracks": f["inputs/tracks"][:]}
        hepnn = {k: f["targets/" + k][:] for k in ("tagger", "keras_tagger", "keras_own")}
    print(f"ONNX Runtime {ort.__version__}, {len(feeds['jet'])} test jets")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    ok = True

    def compare(what, a, b):
        nonlocal ok
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        good = diff <= TOLERANCE
        ok &= good
        print(f"  {what:<52} max |difference| {diff:.1e}  {'ok' if good else 'FAILED'}")

    for name, reference in (("tagger", "hepnn"), ("keras_tagger", "hepnn")):
        sess = ort.InferenceSession(os.path.join(d, name + ".onnx"), options, providers=["CPUExecutionProvider"])
        inputs = [(i.name, i.shape) for i in sess.get_inputs()]
        (score,) = sess.run(None, feeds)
        print(f"{name}.onnx: inputs {inputs}, output {sess.get_outputs()[0].name} {list(score.shape)}")
        compare(f"ONNX Runtime vs {reference}", score, hepnn[name])
        if name == "keras_tagger":
            compare("ONNX Runtime vs Keras (Keras -> hepnn -> ONNX -> ORT)", score, hepnn["keras_own"])
    print("OK: the same scores everywhere" if ok else "FAILED: the scores differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
