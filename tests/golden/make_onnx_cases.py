#!/usr/bin/env python3
"""Reference ONNX cases for tests/onnx/test_onnx_files.cpp, made by the real frameworks.

  torch OUTDIR  PyTorch's torch.onnx.export writes torch_mlp.onnx and torch_cnn.onnx (opset 17),
                with inputs and PyTorch's own outputs in <name>.json. Needs torch and onnx
                (Debian: python3-torch python3-onnx; run with /usr/bin/python3).
  ort OUTDIR    ONNX Runtime (PyPI: onnxruntime) runs every <name>.onnx in OUTDIR that has a
                <name>.inputs.json beside it (hepnn's exports, written by
                HEPNN_WRITE_ONNX_CASES=OUTDIR build/tests/hepnn_tests_onnx) and writes its
                outputs to <name>.ort.json; it also runs the torch_*.onnx files and checks them
                against PyTorch's outputs.

CI does not install torch or onnxruntime (time budget); the generated files are committed in
tests/golden/data/onnx/ (small) and the tests read them. Regenerate with:
  /usr/bin/python3 tests/golden/make_onnx_cases.py torch tests/golden/data/onnx
  HEPNN_WRITE_ONNX_CASES=tests/golden/data/onnx build/tests/hepnn_tests_onnx "[write]"
  venv/bin/python tests/golden/make_onnx_cases.py ort tests/golden/data/onnx
"""
import json
import pathlib
import sys


def torch_cases(out: pathlib.Path):
    import numpy as np
    import torch

    torch.manual_seed(5)

    class MLP(torch.nn.Module):
        """Standardisation, then Linear-ReLU-Linear-Tanh-Linear-Softmax."""

        def __init__(self):
            super().__init__()
            self.register_buffer("mu", torch.tensor([1.0, -2.0, 0.5, 3.0, 0.0]))
            self.register_buffer("sigma", torch.tensor([2.0, 0.5, 1.0, 4.0, 1.5]))
            self.net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8),
                                           torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1))

        def forward(self, x):
            return self.net((x - self.mu) / self.sigma)

    class CNN(torch.nn.Module):
        """Conv-ReLU-MaxPool-BatchNorm-Conv(padding)-ELU-AvgPool-Flatten-Linear-LogSoftmax, NCHW."""

        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(
                torch.nn.Conv2d(2, 4, 3, stride=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 3, (3, 2), padding=1), torch.nn.ELU(0.5),
                torch.nn.AvgPool2d(2, count_include_pad=False), torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 2, 5), torch.nn.LogSoftmax(dim=1))

        def forward(self, x):
            return self.features(x)

    cnn = CNN()
    with torch.no_grad():  # non-trivial running statistics
        cnn.features[3].running_mean.uniform_(-0.5, 0.5)
        cnn.features[3].running_var.uniform_(0.5, 2.0)
        cnn.features[3].weight.uniform_(0.5, 1.5)
        cnn.features[3].bias.uniform_(-0.5, 0.5)
    for name, model, shape in [("torch_mlp", MLP(), (7, 5)), ("torch_cnn", cnn, (4, 2, 10, 9))]:
        model.eval()
        x = torch.randn(*shape) * 2
        with torch.no_grad():
            y = model(x)
        torch.onnx.export(model, (x,), str(out / f"{name}.onnx"), opset_version=17, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                          do_constant_folding=False)
        (out / f"{name}.json").write_text(json.dumps({
            "producer": f"torch {torch.__version__}", "batch": shape[0],
            "inputs": {"x": x.numpy().astype(np.float64).ravel().tolist()},
            "outputs": {"y": y.numpy().astype(np.float64).ravel().tolist()}}))
        print(f"{name}: input {tuple(x.shape)}, output {tuple(y.shape)}")


def ort_cases(out: pathlib.Path):
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    for onnx_file in sorted(out.glob("*.onnx")):
        name = onnx_file.stem
        sess = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        if name.startswith("torch_"):
            case = json.loads((out / f"{name}.json").read_text())
        else:
            inputs_file = out / f"{name}.inputs.json"
            if not inputs_file.exists():
                continue
            case = json.loads(inputs_file.read_text())
        feed = {}
        for i in sess.get_inputs():
            dtype = np.float64 if i.type == "tensor(double)" else np.float32
            shape = [case["batch"]] + list(i.shape[1:])
            feed[i.name] = np.asarray(case["inputs"][i.name], dtype=dtype).reshape(shape)
        names = [o.name for o in sess.get_outputs()]
        ys = sess.run(names, feed)
        if name.startswith("torch_"):
            ref = np.asarray(case["outputs"]["y"])
            d = np.max(np.abs(ys[0].ravel() - ref) / np.maximum(1, np.abs(ref)))
            print(f"{name}: onnxruntime {ort.__version__} vs PyTorch: largest relative difference {d:.2e}")
            assert d < 1e-5
            continue
        (out / f"{name}.ort.json").write_text(json.dumps({
            "producer": f"onnxruntime {ort.__version__}",
            "outputs": {n: y.astype(np.float64).ravel().tolist() for n, y in zip(names, ys)}}))
        print(f"{name}: onnxruntime {ort.__version__} ran it, outputs {[tuple(y.shape) for y in ys]}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("torch", "ort"):
        sys.exit(__doc__)
    d = pathlib.Path(sys.argv[2])
    d.mkdir(parents=True, exist_ok=True)
    (torch_cases if sys.argv[1] == "torch" else ort_cases)(d)
