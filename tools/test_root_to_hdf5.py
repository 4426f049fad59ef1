#!/usr/bin/env python3
"""Tests of tools/root_to_hdf5.py on ROOT files that uproot itself writes.

Run in a venv with uproot, awkward, h5py and numpy (tools/ci_python_tests.sh makes one):
    python3 tools/test_root_to_hdf5.py            # all tests, verbose
    python3 tools/test_root_to_hdf5.py --write-golden
        # rewrites tests/golden/data/root_converted.h5 and root_converted_matrix.h5 (--matrix),
        # the converted files that the C++ test tests/io/test_root_converted.cpp reads
        # (test_golden_file_is_current checks they are what the converter makes today)

Every value of the output is compared with the numpy arrays written to the ROOT file: flat
columns, padding, lengths, truncation, weights (negative ones too), the roles attribute; and each
error case must exit non-zero with a message naming file, tree and branch, leaving no output.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import awkward as ak
import h5py
import numpy as np
import uproot

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.join(HERE, "root_to_hdf5.py")
GOLDEN = os.path.join(HERE, "..", "tests", "golden", "data", "root_converted.h5")
GOLDEN_MATRIX = os.path.join(HERE, "..", "tests", "golden", "data", "root_converted_matrix.h5")


def run(*args):
    """Runs the converter; returns (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, CONVERTER, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def random_events(n, seed, max_tracks=25):
    """Flat branches, a jagged track group (lengths 0 .. max_tracks, the first ones fixed to 0,
    15, 16, 25), a second jagged group with other counts, weights with negative ones."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(0, max_tracks + 1, n)
    lens[:4] = [0, 15, 16, max_tracks]
    total = int(lens.sum())
    jet_lens = (lens + 1) % 7  # differs from lens for most events
    ev = {
        "x1": rng.normal(size=n).astype(np.float32),
        "x2": rng.exponential(50.0, n),
        "njet": rng.integers(0, 10, n).astype(np.int32),
        "flag": rng.integers(0, 2, n).astype(np.bool_),
        "label": rng.integers(0, 2, n).astype(np.int32),
        "aux": rng.uniform(-1, 1, n),
        "w": np.where(rng.uniform(size=n) < 0.2, -1.0, 1.0) * rng.uniform(0.1, 2.0, n),
        "trk_pt": ak.unflatten(rng.exponential(5.0, total), lens),
        "trk_eta": ak.unflatten(rng.uniform(-2.5, 2.5, total), lens),
        "trk_q": ak.unflatten(rng.choice(np.array([-1, 1], dtype=np.int32), total), lens),
        "jet_e": ak.unflatten(rng.exponential(30.0, int(jet_lens.sum())), jet_lens),
        "cov": rng.normal(size=(n, 3)),
    }
    return ev


def write_root(path, ev, baskets=4, with_strings=True):
    """Writes ev as tree 'Events' (several baskets) plus a string tree; the track branches share
    the counter 'ntrk' (uproot's layout for a record of lists), jet_e has its own ('njet_e')."""
    n = len(ev["x1"])
    with uproot.recreate(path) as f:
        t = f.mktree("Events", {
            "x1": np.float32, "x2": np.float64, "njet": np.int32, "flag": np.bool_, "label": np.int32,
            "aux": np.float64, "w": np.float64,
            "trk": "var * {pt: float64, eta: float64, q: int32}",
            "jet_e": "var * float64",
            "cov": "3 * float64",
            **({"tag": "string"} if with_strings else {}),
        })
        edges = np.linspace(0, n, baskets + 1).astype(int)
        for a, b in zip(edges[:-1], edges[1:]):
            chunk = {k: ev[k][a:b] for k in ("x1", "x2", "njet", "flag", "label", "aux", "w", "jet_e", "cov")}
            chunk["trk"] = ak.zip({"pt": ev["trk_pt"][a:b], "eta": ev["trk_eta"][a:b], "q": ev["trk_q"][a:b]})
            if with_strings:
                chunk["tag"] = ak.Array([f"event{i}" for i in range(a, b)])
            t.extend(chunk)
        f["hist"] = np.histogram(np.arange(10.0))


def concat(evs):
    out = {}
    for k in evs[0]:
        if isinstance(evs[0][k], ak.Array):
            out[k] = ak.concatenate([e[k] for e in evs])
        else:
            out[k] = np.concatenate([e[k] for e in evs])
    return out


def padded(lists, max_len, fill):
    """The expected (N, max_len) padding, by plain Python loops (independent of the converter)."""
    out = np.full((len(lists), max_len), fill, dtype=np.float64)
    for i, row in enumerate(lists):
        row = row[:max_len]
        out[i, :len(row)] = row
    return out


class Converter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="hepnn_root_to_hdf5_")
        cls.d = cls.dir.name
        cls.ev_a = random_events(700, seed=1)
        cls.ev_b = random_events(333, seed=2)
        cls.file_a = os.path.join(cls.d, "a.root")
        cls.file_b = os.path.join(cls.d, "b.root")
        write_root(cls.file_a, cls.ev_a)
        write_root(cls.file_b, cls.ev_b, baskets=3)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def out(self, name):
        return os.path.join(self.d, name)

    def assert_no_output(self, path):
        self.assertFalse(os.path.exists(path), path)
        self.assertFalse(os.path.exists(path + ".tmp"), path + ".tmp")

    def test_every_value_two_files_many_steps(self):
        out = self.out("all.h5")
        rc, so, se = run(self.file_a, self.file_b, "--tree", "Events", "-o", out,
                         "--features", "x1,x2", "--features", "njet,flag",
                         "--jagged", "tracks:trk_pt,trk_eta,trk_q", "--max-len", "15",
                         "--target", "label", "--target", "aux", "--weight", "w", "--step-size", "97")
        self.assertEqual(rc, 0, se)
        ev = concat([self.ev_a, self.ev_b])
        n = len(ev["x1"])
        # uproot.iterate steps through each file separately: ceil(700/97) + ceil(333/97) steps
        self.assertIn(f"{n} of {n} entries read in {8 + 4} step(s)", so)
        lens = ak.to_numpy(ak.num(ev["trk_pt"]))
        n_trunc = int((lens > 15).sum())
        self.assertGreater(n_trunc, 0)
        self.assertIn(f"tracks: {n_trunc} of {n} events had more than 15 entries (longest 25); "
                      f"{int((lens[lens > 15] - 15).sum())} entries dropped", so)
        self.assertFalse(os.path.exists(out + ".tmp"))
        with h5py.File(out, "r") as f:
            self.assertEqual(sorted(f.keys()), sorted(["x1", "x2", "njet", "flag", "label", "aux", "w",
                                                       "tracks", "tracks_length"]))
            for k in ("x1", "x2", "njet", "flag", "label", "aux", "w"):
                self.assertEqual(f[k].shape, (n,), k)
                self.assertEqual(f[k].dtype, np.float32, k)
                np.testing.assert_array_equal(f[k][...], ev[k].astype(np.float32), err_msg=k)
            self.assertTrue((f["w"][...] < 0).any())
            self.assertEqual(f["tracks"].shape, (n, 15, 3))
            self.assertEqual(f["tracks"].dtype, np.float32)
            for j, b in enumerate(("trk_pt", "trk_eta", "trk_q")):
                np.testing.assert_array_equal(f["tracks"][:, :, j],
                                              padded(ev[b].tolist(), 15, 0.0).astype(np.float32), err_msg=b)
            self.assertEqual(f["tracks_length"].dtype, np.int32)
            np.testing.assert_array_equal(f["tracks_length"][...], np.minimum(lens, 15))
            self.assertEqual(list(f["tracks_length"][:4]), [0, 15, 15, 15])
            # the first event has no tracks: all padding
            self.assertTrue((f["tracks"][0] == 0).all())
            roles = json.loads(f.attrs["hepnn_roles"])
            self.assertIsInstance(f.attrs["hepnn_roles"], bytes)  # fixed length (numpy.bytes_)
            self.assertEqual(roles, {"version": 1, "features": ["x1", "x2", "njet", "flag"],
                                     "targets": ["label", "aux"], "weights": "w",
                                     "sequences": {"tracks": {"data": "tracks", "length": "tracks_length",
                                                              "fill": 0.0}}})
            self.assertEqual(json.loads(f["tracks"].attrs["branches"]), ["trk_pt", "trk_eta", "trk_q"])
            # chunked along events, resizable (so hepnn's StreamingSource reads it in pieces)
            self.assertEqual(f["x1"].maxshape, (None,))
            self.assertEqual(f["tracks"].chunks[1:], (15, 3))

    def test_float64_fill_per_group_max_len_cut_and_byte_steps(self):
        out = self.out("cut.h5")
        rc, so, se = run(self.file_a, "--tree", "Events", "-o", out, "--features", "x2", "--target", "label",
                         "--jagged", "tracks:trk_pt,trk_q", "--jagged", "cov3:cov",
                         "--max-len", "4", "--max-len", "cov3=2", "--fill", "-999",
                         "--cut", "x1 > 0", "--dtype", "float64", "--step-size", "8 kB")
        self.assertEqual(rc, 0, se)
        ev = self.ev_a
        keep = ev["x1"] > 0
        n = int(keep.sum())
        self.assertIn(f"cut 'x1 > 0': {n} of 700 events kept", so)
        with h5py.File(out, "r") as f:
            self.assertEqual(f["x2"].dtype, np.float64)
            np.testing.assert_array_equal(f["x2"][...], ev["x2"][keep])
            np.testing.assert_array_equal(f["label"][...], ev["label"][keep])
            self.assertNotIn("w", f)
            pt = [row for row, k in zip(ev["trk_pt"].tolist(), keep) if k]
            q = [row for row, k in zip(ev["trk_q"].tolist(), keep) if k]
            np.testing.assert_array_equal(f["tracks"][:, :, 0], padded(pt, 4, -999.0))
            np.testing.assert_array_equal(f["tracks"][:, :, 1], padded(q, 4, -999.0))
            np.testing.assert_array_equal(f["tracks_length"][...], np.minimum([len(r) for r in pt], 4))
            # a fixed-size array branch works as a jagged group of constant length
            np.testing.assert_array_equal(f["cov3"][:, :, 0], ev["cov"][keep][:, :2])
            np.testing.assert_array_equal(f["cov3_length"][...], np.full(n, 2))
            roles = json.loads(f.attrs["hepnn_roles"])
            self.assertNotIn("weights", roles)
            self.assertEqual(roles["sequences"]["tracks"]["fill"], -999.0)
            self.assertEqual(roles["sequences"]["cov3"], {"data": "cov3", "length": "cov3_length", "fill": -999.0})
        self.assertRegex(so, r"in ([2-9]|\d\d+) step\(s\)")  # a few kB per step: several steps

    def test_matrix_layout_for_streaming(self):
        out = self.out("matrix.h5")
        rc, so, se = run(self.file_a, self.file_b, "--tree", "Events", "-o", out, "--matrix",
                         "--features", "x1,x2,njet", "--target", "label,x1", "--weight", "w",
                         "--jagged", "tracks:trk_eta", "--max-len", "5", "--step-size", "128")
        self.assertEqual(rc, 0, se)
        ev = concat([self.ev_a, self.ev_b])
        n = len(ev["x1"])
        with h5py.File(out, "r") as f:
            self.assertEqual(sorted(f.keys()), ["features", "targets", "tracks", "tracks_length", "w"])
            expect_x = np.stack([ev["x1"], ev["x2"], ev["njet"]], axis=1).astype(np.float32)
            np.testing.assert_array_equal(f["features"][...], expect_x)
            np.testing.assert_array_equal(f["targets"][...], np.stack([ev["label"], ev["x1"]], axis=1).astype(np.float32))
            np.testing.assert_array_equal(f["w"][...], ev["w"].astype(np.float32))
            np.testing.assert_array_equal(f["tracks"][:, :, 0], padded(ev["trk_eta"].tolist(), 5, 0.0).astype(np.float32))
            self.assertEqual(f["features"].shape, (n, 3))
            self.assertEqual(f["features"].chunks[1:], (3,))
            self.assertEqual(json.loads(f["features"].attrs["columns"]), ["x1", "x2", "njet"])
            self.assertEqual(json.loads(f["targets"].attrs["columns"]), ["label", "x1"])
            roles = json.loads(f.attrs["hepnn_roles"])
            self.assertEqual({k: roles[k] for k in ("version", "features", "targets", "weights")},
                             {"version": 1, "features": "features", "targets": "targets", "weights": "w"})
        # a branch named like an output dataset is refused, not overwritten
        self.check_error([self.file_a, "--tree", "Events", "--matrix", "--features", "x1", "--target", "label",
                          "--jagged", "features:trk_pt", "--max-len", "2"], "clash", "features")

    def test_no_events_pass_the_cut(self):
        out = self.out("empty.h5")
        rc, so, se = run(self.file_a, "--tree", "Events", "-o", out, "--features", "x1", "--target", "label",
                         "--jagged", "tracks:trk_pt", "--max-len", "3", "--cut", "x1 > 1000")
        self.assertEqual(rc, 0, se)
        self.assertIn("no events were written", se)
        with h5py.File(out, "r") as f:
            self.assertEqual(f["x1"].shape, (0,))
            self.assertEqual(f["tracks"].shape, (0, 3, 1))

    def check_error(self, args, *needles, out_name="err.h5"):
        out = self.out(out_name)
        rc, so, se = run(*args, "-o", out)
        self.assertEqual(rc, 1, f"stdout: {so}\nstderr: {se}")
        for s in needles:
            self.assertIn(s, se)
        self.assertNotIn("Traceback", se)
        return out, se

    def test_errors_name_file_tree_and_branch(self):
        a = self.file_a
        base = ["--features", "x1", "--target", "label"]
        out, _ = self.check_error([a, "--tree", "Nope", *base], a, "no tree 'Nope'", "Events")
        self.assert_no_output(out)
        self.check_error([os.path.join(self.d, "missing.root"), "--tree", "Events", *base], "missing.root", "no such file")
        self.check_error([a, "--tree", "Events", "--features", "x1,nope", "--target", "label"],
                         a, "tree 'Events'", "no branch 'nope'")
        # a jagged branch (and a fixed-size array) given as a flat column
        self.check_error([a, "--tree", "Events", "--features", "x1,trk_pt", "--target", "label"],
                         a, "tree 'Events'", "branch 'trk_pt'", "--jagged")
        self.check_error([a, "--tree", "Events", "--features", "cov", "--target", "label"],
                         a, "branch 'cov'", "3 * float64")
        self.check_error([a, "--tree", "Events", "--features", "x1", "--target", "trk_eta"], "branch 'trk_eta'")
        self.check_error([a, "--tree", "Events", *base, "--weight", "trk_q"], "branch 'trk_q'")
        # a flat branch given as jagged
        self.check_error([a, "--tree", "Events", *base, "--jagged", "g:trk_pt,x2", "--max-len", "4"],
                         a, "tree 'Events'", "branch 'x2'", "jagged group 'g'", "one value per event")
        # non-numeric
        self.check_error([a, "--tree", "Events", "--features", "x1,tag", "--target", "label"],
                         a, "tree 'Events'", "branch 'tag'", "not numeric")
        self.check_error([a, "--tree", "Events", *base, "--jagged", "g:tag", "--max-len", "4"],
                         "branch 'tag'", "not a list of numbers")
        # options
        self.check_error([a, "--tree", "Events", *base, "--jagged", "g:trk_pt"], "--max-len")
        self.check_error([a, "--tree", "Events", *base, "--jagged", "g:x1", "--max-len", "2"], "both")
        self.check_error([a, "--tree", "Events", "--features", "x1"], "--target")

    def test_mismatched_counts_leave_no_partial_output(self):
        # an output file from before must survive the failed conversion untouched
        out = self.out("kept.h5")
        with open(out, "wb") as f:
            f.write(b"an older file that must survive a failed conversion")
        _, se = self.check_error([self.file_a, self.file_b, "--tree", "Events", "--features", "x1", "--target", "label",
                                  "--jagged", "g:jet_e,trk_pt", "--max-len", "5", "--step-size", "50"],
                                 "jagged group 'g'", "branch 'trk_pt'", "'jet_e'", "tree 'Events'", out_name="kept.h5")
        a_lens = ak.to_numpy(ak.num(self.ev_a["trk_pt"]))
        a_jl = ak.to_numpy(ak.num(self.ev_a["jet_e"]))
        first_a = int(np.nonzero(a_lens != a_jl)[0][0])
        self.assertIn(f"{self.file_a}, tree 'Events', entries", se)
        self.assertIn(f"at entry {first_a} ", se)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"an older file that must survive a failed conversion")
        self.assertFalse(os.path.exists(out + ".tmp"))

    def test_golden_file_is_current(self):
        """The committed files that the C++ test reads are what the converter makes today."""
        for golden, extra in ((GOLDEN, ()), (GOLDEN_MATRIX, ("--matrix",))):
            with self.subTest(golden=os.path.basename(golden)):
                self.check_golden(golden, extra)

    def check_golden(self, golden, extra):
        if not os.path.exists(golden):
            self.fail(f"{golden} is missing: run {sys.argv[0]} --write-golden")
        out = self.out("golden.h5")
        write_golden(out, self.d, *extra)
        with h5py.File(out, "r") as new, h5py.File(golden, "r") as old:
            self.assertEqual(sorted(new.keys()), sorted(old.keys()))
            self.assertEqual(json.loads(new.attrs["hepnn_roles"]), json.loads(old.attrs["hepnn_roles"]))
            for k in new:
                self.assertEqual(new[k].dtype, old[k].dtype, k)
                np.testing.assert_array_equal(new[k][...], old[k][...], err_msg=k)


def golden_events(n=20):
    """Simple formulas that tests/io/test_root_converted.cpp checks on the C++ side."""
    i = np.arange(n)
    lens = (i * 7) % 9  # 0..8; max-len 6 truncates 7 and 8
    flat_j = np.concatenate([np.arange(k) for k in lens]) if n else np.zeros(0)
    flat_i = np.repeat(i, lens)
    return {
        "x1": (0.25 * i - 2).astype(np.float32),
        "x2": i * i / 8.0,
        "nj": (i % 4).astype(np.int32),
        "label": (i % 2).astype(np.int32),
        "w": np.where(i % 5 == 0, -0.5, 1.0 + 0.125 * i),
        "trk_pt": ak.unflatten(10.0 * flat_i + flat_j + 0.5, lens),
        "trk_eta": ak.unflatten(-0.25 * flat_j, lens),
    }


def write_golden(out, workdir, *extra):
    ev = golden_events()
    root = os.path.join(workdir, "golden.root")
    with uproot.recreate(root) as f:
        t = f.mktree("Events", {"x1": np.float32, "x2": np.float64, "nj": np.int32, "label": np.int32,
                                "w": np.float64, "trk": "var * {pt: float64, eta: float64}"})
        for a, b in ((0, 7), (7, 20)):
            t.extend({**{k: ev[k][a:b] for k in ("x1", "x2", "nj", "label", "w")},
                      "trk": ak.zip({"pt": ev["trk_pt"][a:b], "eta": ev["trk_eta"][a:b]})})
    rc, so, se = run(root, "--tree", "Events", "-o", out, "--features", "x1,x2,nj", "--target", "label",
                     "--weight", "w", "--jagged", "tracks:trk_pt,trk_eta", "--max-len", "6", "--step-size", "6", *extra)
    if rc != 0:
        raise RuntimeError(f"converter failed: {se}")
    # the source paths recorded in hepnn_source differ from run to run; the golden keeps none
    with h5py.File(out, "r+") as f:
        del f.attrs["hepnn_source"]


if __name__ == "__main__":
    if "--write-golden" in sys.argv:
        with tempfile.TemporaryDirectory() as d:
            write_golden(GOLDEN, d)
            write_golden(GOLDEN_MATRIX, d, "--matrix")
        for g in (GOLDEN, GOLDEN_MATRIX):
            print(f"wrote {os.path.normpath(g)} ({os.path.getsize(g)} bytes)")
        sys.exit(0)
    print(f"test_root_to_hdf5: uproot {uproot.__version__}, awkward {ak.__version__}, h5py {h5py.__version__}, "
          f"numpy {np.__version__}, Python {sys.version.split()[0]}")
    unittest.main(verbosity=2)
