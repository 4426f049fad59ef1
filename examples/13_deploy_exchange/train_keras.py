#!/usr/bin/env python3
"""Tutorial 13, the Keras side: trains the b-tagger that the C++ program deploys.

Writes, beside this file, jet_tagger.keras (a Keras 3 archive) and keras_scores.txt (Keras' own
predict on the 1000 test jets, one score per line), which are committed. The jets come from the
C++ program, as they would from an experiment's ntuples:

    build/examples/13_deploy_exchange --write-jets /tmp/jets.h5   # also /tmp/jets.h5.test.h5
    python3 -m venv /tmp/venv-keras && /tmp/venv-keras/bin/pip install tensorflow-cpu h5py
    /tmp/venv-keras/bin/python examples/13_deploy_exchange/train_keras.py /tmp/jets.h5

The files are hepnn data files (io::write_named_dataset): inputs/jet (N, 4), inputs/tracks
(N, 6, 3), targets/btag (N, 1), in raw units (GeV, significances). Made with TensorFlow 2.21 and Keras 3.15.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import h5py  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    with h5py.File(path, "r") as f:
        return f["inputs/jet"][:], f["inputs/tracks"][:], f["targets/btag"][:]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(7)
    jet, tracks, y = read(sys.argv[1])
    tjet, ttracks, _ = read(sys.argv[1] + ".test.h5")

    # the same network as the hepnn tagger of the tutorial: the raw features standardised by
    # Normalization layers (adapted on the training jets; hepnn imports them as the inputs'
    # stored standardisation), a Dense on every track, flattened, joined with the jet features
    j = keras.Input(shape=(4,), name="jet")
    t = keras.Input(shape=(6, 3), name="tracks")
    norm_jet, norm_trk = L.Normalization(name="jet_norm"), L.Normalization(axis=-1, name="track_norm")
    norm_jet.adapt(jet)
    norm_trk.adapt(tracks)
    per_track = L.Flatten()(L.Dense(16, activation="relu", name="per_track")(norm_trk(t)))
    z = L.Concatenate()([L.Dense(16, activation="relu")(norm_jet(j)), per_track])
    z = L.Dense(32, activation="relu")(z)
    out = L.Dense(1, activation="sigmoid", name="btag")(z)
    model = keras.Model([j, t], out, name="keras_tagger")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["AUC"])
    model.fit({"jet": jet, "tracks": tracks}, y, epochs=10, batch_size=256, validation_split=0.2, verbose=2)

    here = os.path.dirname(os.path.abspath(__file__))
    model.save(os.path.join(here, "jet_tagger.keras"))
    scores = model.predict({"jet": tjet, "tracks": ttracks}, verbose=0)
    np.savetxt(os.path.join(here, "keras_scores.txt"), scores.reshape(-1), fmt="%.9g")
    print(f"wrote jet_tagger.keras and keras_scores.txt (Keras {keras.__version__})")


if __name__ == "__main__":
    main()
