#!/usr/bin/env python3
"""h5py side of benchmarks/streaming.sh: makes the test file the way a physicist's Python would,
and reads it back with plain sequential h5py slices, the reference speed for io::StreamingSource.

  stream_h5py.py make FILE ROWS [--features 28] [--chunk 65536]
      features (ROWS, F) float32, targets (ROWS,) float32, weights (ROWS,) float32, chunked by
      CHUNK rows, no filter (h5py's defaults otherwise)
  stream_h5py.py read FILE [--batch 1024] [--reps 3]
      reads features, targets and weights B rows at a time in file order (dset[r0:r1], each a
      new numpy array, as a training loop would), all rows once per repetition; prints the median
      RESULT reader=h5py batch=B rows=N rows_per_s=... gb_per_s=...
Needs numpy and h5py (Debian: python3-h5py, run with /usr/bin/python3).
"""
import argparse
import statistics
import sys
import time

import h5py
import numpy as np


def make(a):
    rng = np.random.default_rng(1)
    with h5py.File(a.file, "w") as f:
        x = f.create_dataset("features", (a.rows, a.features), dtype="f4", chunks=(min(a.chunk, a.rows), a.features))
        y = f.create_dataset("targets", (a.rows,), dtype="f4", chunks=(min(a.chunk, a.rows),))
        w = f.create_dataset("weights", (a.rows,), dtype="f4", chunks=(min(a.chunk, a.rows),))
        for r0 in range(0, a.rows, a.chunk):
            r1 = min(a.rows, r0 + a.chunk)
            x[r0:r1] = rng.standard_normal((r1 - r0, a.features), dtype=np.float32)
            y[r0:r1] = (np.arange(r0, r1) % 2).astype(np.float32)
            w[r0:r1] = 1.0 + 0.01 * (np.arange(r1 - r0) % 7).astype(np.float32)
    print(f"# wrote {a.file}: {a.rows} rows x {a.features} features, chunks of {a.chunk} rows (h5py {h5py.__version__})")


def read(a):
    rates = []
    with h5py.File(a.file, "r") as f:
        x, y, w = f["features"], f["targets"], f["weights"]
        n = x.shape[0]
        row_bytes = 4 * (int(np.prod(x.shape[1:])) + 2)
        checksum = 0.0
        for _ in range(a.reps):
            t0 = time.perf_counter()
            for r0 in range(0, n, a.batch):
                xb, yb, wb = x[r0:r0 + a.batch], y[r0:r0 + a.batch], w[r0:r0 + a.batch]
                checksum += float(xb[0, 0]) + float(wb[-1])
            rates.append(n / (time.perf_counter() - t0))
    med = statistics.median(rates)
    print(f"RESULT reader=h5py batch={a.batch} rows={n} rows_per_s={med:.0f} gb_per_s={med * row_bytes / 1e9:.3f}")
    print(f"# h5py checksum {checksum:.6g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["make", "read"])
    ap.add_argument("file")
    ap.add_argument("rows", type=int, nargs="?", default=0)
    ap.add_argument("--features", type=int, default=28)
    ap.add_argument("--chunk", type=int, default=65536)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if a.what == "make":
        if a.rows < 1 or a.features < 1 or a.chunk < 1:
            sys.exit("stream_h5py.py: make needs ROWS, --features and --chunk >= 1")
        make(a)
    else:
        if a.batch < 1 or a.reps < 1:
            sys.exit("stream_h5py.py: --batch and --reps must be >= 1")
        read(a)


if __name__ == "__main__":
    main()
