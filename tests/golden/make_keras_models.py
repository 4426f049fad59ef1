#!/usr/bin/env python3
"""Writes real Keras model files and Keras's own predictions for the Keras import tests
(tests/io/test_keras_import.cpp) under tests/golden/data/keras/.

Needs TensorFlow CPU with tf_keras (Keras 2) and Keras 3, from PyPI:
    python3 -m venv /tmp/venv-keras
    /tmp/venv-keras/bin/pip install tensorflow-cpu tf_keras
    /tmp/venv-keras/bin/python tests/golden/make_keras_models.py
Made with TensorFlow 2.21, tf_keras 2.21 and Keras 3.15 (the versions go into each reference file).

For every model NAME it writes the model file (NAME.h5: Keras 2 `model.save`, or NAME.keras: a
Keras 3 archive) and NAME.ref.h5 with, for each input k, `input_<k>` (the samples, float32),
and for each output k, `output_<k>` (Keras's `model.predict` on them, float32), and the root
attributes `producer` and `inputs`/`outputs` (the names, comma separated). The C++ tests only
read these files; they never need Python.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "keras")
SAMPLES = 7


def history_name(t):
    """The name of the layer that makes the symbolic tensor t (Keras 2 and 3)."""
    h = t._keras_history
    return (h.layer if hasattr(h, "layer") else h.operation).name


def reference(name, model, xs, producer):
    preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(preds, (list, tuple)):
        preds = [preds]
    with h5py.File(os.path.join(OUT, name + ".ref.h5"), "w") as f:
        f.attrs["producer"] = np.bytes_(producer)
        f.attrs["inputs"] = np.bytes_(",".join(history_name(t) for t in model.inputs))
        f.attrs["outputs"] = np.bytes_(",".join(history_name(t) for t in model.outputs))
        for k, x in enumerate(xs):
            f.create_dataset(f"input_{k}", data=np.asarray(x, np.float32))
        for k, p in enumerate(preds):
            f.create_dataset(f"output_{k}", data=np.asarray(p, np.float32))


def randomise(model, rng):
    """Weights drawn from a fixed generator (BatchNormalization's moving variance positive), so
    that biases and moving statistics are not their trivial initial values."""
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        new = []
        for w in ws:
            v = rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32)
            new.append(v)
        if "batch_normalization" in layer.name or "bn" in layer.name:
            new[-1] = rng.uniform(0.5, 1.5, size=ws[-1].shape).astype(np.float32)
        layer.set_weights(new)


def keras2_models(keras, producer, rng):
    L = keras.layers
    made = {}
    # 1. an MLP with every dense-side layer
    m = keras.Sequential(name="mlp", layers=[
        L.InputLayer(input_shape=(10,), name="features"),
        L.Dense(16, activation="relu", name="dense_relu"),
        L.Dropout(0.3),
        L.Dense(12, activation="elu", name="dense_elu"),
        L.BatchNormalization(name="bn", epsilon=1e-3),
        L.Dense(12, activation="tanh"),
        L.LeakyReLU(alpha=0.2),
        L.Dense(8, activation="selu"),
        L.Activation("sigmoid"),
        L.Dense(8, activation="softplus"),
        L.ReLU(),
        L.Dense(8, activation="gelu"),
        L.Dense(3, activation="softmax", name="probabilities"),
    ])
    made["k2_mlp"] = (m, [rng.normal(size=(SAMPLES, 10))])
    # 2. a CNN on channels-last images: strided same convolution, pooling, flatten
    m = keras.Sequential(name="cnn", layers=[
        L.InputLayer(input_shape=(12, 10, 2), name="image"),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.BatchNormalization(name="bn_conv"),
        L.Conv2D(5, (2, 3), padding="valid", dilation_rate=(1, 2), activation="tanh"),
        L.MaxPooling2D(pool_size=2, padding="same"),
        L.Conv2D(3, 1, use_bias=False),
        L.Flatten(),
        L.Dense(4),
        L.Softmax(),
    ])
    made["k2_cnn"] = (m, [rng.normal(size=(SAMPLES, 12, 10, 2))])
    m = keras.Sequential(name="pools", layers=[
        L.InputLayer(input_shape=(9, 8, 3)),
        L.AveragePooling2D(pool_size=(2, 2)),
        L.Conv2D(2, 2, padding="same", activation="sigmoid"),
        L.MaxPooling2D(pool_size=(2, 2), strides=(1, 2)),
        L.GlobalAveragePooling2D(),
        L.Dense(2),
    ])
    made["k2_pools"] = (m, [rng.normal(size=(SAMPLES, 9, 8, 3))])
    # 3. a two-input, two-output tagger: Dense on each track, merges, a shared layer
    jet = keras.Input(shape=(6,), name="jet")
    trk = keras.Input(shape=(5, 4), name="tracks")
    t = L.Dense(8, activation="relu", name="per_track")(trk)
    t = L.Flatten()(t)
    t = L.Dense(6, activation="tanh", name="track_summary")(t)
    shared = L.Dense(6, activation="sigmoid", name="shared")
    a, b = shared(jet), shared(t)
    h = L.Concatenate(name="concat")([a, b, L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]),
                                       L.Average()([a, b, jet])])
    h = L.Dense(10, activation="relu")(h)
    out_cls = L.Dense(1, activation="sigmoid", name="is_b")(h)
    out_reg = L.Dense(2, name="pt_eta")(h)
    m = keras.Model(inputs=[jet, trk], outputs=[out_cls, out_reg], name="tagger")
    made["k2_tagger"] = (m, [rng.normal(size=(SAMPLES, 6)), rng.normal(size=(SAMPLES, 5, 4))])
    # 4. Conv1D over a sequence, then Reshape and Permute
    x = keras.Input(shape=(9, 3), name="sequence")
    h = L.Conv1D(4, 3, padding="same", activation="relu")(x)
    h = L.Conv1D(2, 2, strides=2)(h)
    h = L.Permute((2, 1))(h)
    h = L.Reshape((8,))(h)
    out = L.Dense(1)(h)
    m = keras.Model(x, out, name="seq")
    made["k2_conv1d"] = (m, [rng.normal(size=(SAMPLES, 9, 3))])
    # 5. a model used as a layer (its weights in the outer file under its name)
    inner = keras.Sequential(name="inner", layers=[L.InputLayer(input_shape=(4,)), L.Dense(3, activation="tanh"),
                                                  L.Dense(2)])
    x = keras.Input(shape=(4,), name="x")
    out = L.Dense(1)(L.Concatenate()([inner(x), x]))
    m = keras.Model(x, out, name="outer")
    made["k2_nested"] = (m, [rng.normal(size=(SAMPLES, 4))])
    for name, (model, xs) in made.items():
        randomise(model, rng)
        if name == "k2_nested":
            randomise(inner, rng)
        model.save(os.path.join(OUT, name + ".h5"))
        reference(name, model, [np.asarray(x, np.float32) for x in xs], producer)


def keras3_models(keras, producer, rng):
    L = keras.layers
    made = {}
    m = keras.Sequential(name="mlp3", layers=[
        keras.Input(shape=(10,), name="features"),
        L.Dense(16, activation="relu"),
        L.BatchNormalization(),
        L.Dense(8, activation="tanh"),
        L.Dropout(0.2),
        L.Dense(3, activation="softmax"),
    ])
    made["k3_mlp"] = (m, [rng.normal(size=(SAMPLES, 10))])
    jet = keras.Input(shape=(6,), name="jet")
    img = keras.Input(shape=(8, 8, 1), name="image")
    c = L.Conv2D(3, 3, padding="same", activation="relu")(img)
    c = L.MaxPooling2D()(c)
    c = L.Flatten()(c)
    h = L.Concatenate()([L.Dense(5, activation="elu")(jet), c])
    out_cls = L.Dense(1, activation="sigmoid", name="score")(h)
    out_reg = L.Dense(1, name="energy")(h)
    m = keras.Model(inputs=[jet, img], outputs=[out_cls, out_reg], name="two_in3")
    made["k3_two_inputs"] = (m, [rng.normal(size=(SAMPLES, 6)), rng.normal(size=(SAMPLES, 8, 8, 1))])
    # a Sequential used as a layer twice (shared), inside a functional model
    inner = keras.Sequential(name="embed", layers=[keras.Input(shape=(3,)), L.Dense(4, activation="tanh"),
                                                  L.Dense(2)])
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(3,), name="b")
    out = L.Dense(1, name="out")(L.Concatenate()([inner(a), inner(b)]))
    m = keras.Model(inputs=[a, b], outputs=out, name="siamese")
    made["k3_nested"] = (m, [rng.normal(size=(SAMPLES, 3)), rng.normal(size=(SAMPLES, 3))])
    for name, (model, xs) in made.items():
        randomise(model, rng)
        if name == "k3_nested":
            randomise(inner, rng)
        model.save(os.path.join(OUT, name + ".keras"))
        if name == "k3_mlp":
            model.save(os.path.join(OUT, "k3_mlp_legacy.h5"))  # Keras 3 writing the Keras 2 layout
            reference("k3_mlp_legacy", model, [np.asarray(x, np.float32) for x in xs], producer)
        reference(name, model, [np.asarray(x, np.float32) for x in xs], producer)


def normalization_models(keras, producer, rng, suffix):
    """A Normalization layer adapted on raw features, on each input of a two-input model (over the
    last axis of a (5, 3) input too), as Keras users put it first: hepnn makes it the input's
    stored standardisation. Keras 2 (.h5) or Keras 3 (.keras), by `suffix`."""
    L = keras.layers
    jet = keras.Input(shape=(4,), name="jet")
    trk = keras.Input(shape=(5, 3), name="tracks")
    xj = rng.normal(loc=[50.0, 0.0, 10.0, 3.0], scale=[20.0, 1.5, 4.0, 0.1], size=(200, 4)).astype(np.float32)
    xt = rng.normal(loc=[0.5, -2.0, 8.0], scale=[1.0, 0.5, 3.0], size=(200, 5, 3)).astype(np.float32)
    nj, nt = L.Normalization(name="jet_norm"), L.Normalization(axis=-1, name="track_norm")
    nj.adapt(xj)
    nt.adapt(xt)
    t = L.Flatten()(L.Dense(4, activation="relu", name="per_track")(nt(trk)))
    h = L.Concatenate()([L.Dense(6, activation="tanh")(nj(jet)), t])
    m = keras.Model(inputs=[jet, trk], outputs=L.Dense(1, activation="sigmoid", name="score")(h), name="normalized")
    for layer in m.layers:  # the adapted statistics stay; the other weights are drawn
        if layer.get_weights() and not isinstance(layer, L.Normalization):
            layer.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in layer.get_weights()])
    name = "k2_normalization" if suffix == ".h5" else "k3_normalization"
    m.save(os.path.join(OUT, name + suffix))
    reference(name, m, [xj[:SAMPLES], xt[:SAMPLES]], producer)


def main():
    os.makedirs(OUT, exist_ok=True)
    import tensorflow as tf
    import tf_keras
    import keras
    rng = np.random.default_rng(20261206)
    tf.random.set_seed(1)
    p2 = f"tf_keras {tf_keras.__version__}, tensorflow {tf.__version__}"
    p3 = f"keras {keras.__version__}, tensorflow {tf.__version__}"
    if "--only-normalization" not in sys.argv:  # the files of 2026-12-05; --only-normalization leaves them
        keras2_models(tf_keras, p2, rng)
        keras3_models(keras, p3, rng)
    # added 2026-12-06 (TensorFlow 2.21, tf_keras 2.21, Keras 3.15), after the others: their draws stay
    rng = np.random.default_rng(20261207)
    normalization_models(tf_keras, p2, rng, ".h5")
    normalization_models(keras, p3, rng, ".keras")
    print("wrote", sorted(os.listdir(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
