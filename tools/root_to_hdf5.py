#!/usr/bin/env python3
"""Converts ROOT TTrees to hepnn's HDF5 data layout, chunk by chunk (bounded memory).

Needs uproot, awkward, h5py and numpy (pip install uproot awkward h5py numpy); ROOT itself is
not needed. Example:

    python3 tools/root_to_hdf5.py sig.root bkg.root --tree Events -o train.h5 \\
        --features jet_pt,jet_eta,met --jagged tracks:trk_pt,trk_eta,trk_d0 --max-len 15 \\
        --target is_signal --weight evt_weight --step-size 100000

Output (all datasets have N rows, one per event that passed --cut):
  <branch>          (N,)              one 1-D column per flat branch of --features/--target/--weight
                                      (with --matrix: features (N, F) and targets (N, T) instead,
                                      one dataset each, so that io::StreamingSource can stream them)
  <group>           (N, max_len, k)   a jagged group: its k branches side by side, padded with --fill
  <group>_length    (N,) int32        min(number of entries, max_len) per event
  attribute hepnn_roles on "/": JSON {"version": 1, "features": [...], "targets": [...],
      "weights": "...", "sequences": {"<group>": {"data", "length", "fill"}}}, so that
      hepnn::io::read_dataset reads features, targets and weights without being told names.

The output is written to <output>.tmp and renamed at the end: a failed or interrupted conversion
never leaves a half-written file under the output name. Exit status 0 on success, 1 on a user
error (message on stderr naming file, tree and branch), 2 on a bad command line.
"""

import argparse
import json
import os
import sys
import time

ROLE_VERSION = 1
CHUNK_ROWS = 4096  # HDF5 chunk length along the event axis (as hepnn's own writer), at most


class ConversionError(Exception):
    """A problem with the input or the options; the message is shown as is."""


def parse_list(values):
    """['a,b', 'c'] -> ['a', 'b', 'c'] (options may be repeated or comma-separated)."""
    out = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def parse_groups(values):
    """['tracks:trk_pt,trk_eta'] -> {'tracks': ['trk_pt', 'trk_eta']} (in the order given)."""
    groups = {}
    for v in values or []:
        name, sep, branches = v.partition(":")
        name = name.strip()
        if not sep or not name or not parse_list([branches]):
            raise ConversionError(f"--jagged '{v}': expected NAME:branch1,branch2,...")
        if name in groups:
            raise ConversionError(f"--jagged: group '{name}' is given twice")
        groups[name] = parse_list([branches])
    return groups


def parse_max_len(values, groups):
    """['15'] or ['tracks=15', 'leptons=4'] -> {group: max_len} for every group."""
    default, per_group = None, {}
    for v in values or []:
        name, sep, n = v.rpartition("=")
        try:
            n = int(n)
        except ValueError:
            raise ConversionError(f"--max-len '{v}': expected a number or GROUP=NUMBER") from None
        if n < 1:
            raise ConversionError(f"--max-len '{v}': must be at least 1")
        if sep:
            if name not in groups:
                raise ConversionError(f"--max-len '{v}': no jagged group '{name}' (groups: {', '.join(groups) or 'none'})")
            per_group[name] = n
        else:
            default = n
    out = {}
    for g in groups:
        if g in per_group:
            out[g] = per_group[g]
        elif default is not None:
            out[g] = default
        else:
            raise ConversionError(f"jagged group '{g}': give --max-len N (or --max-len {g}=N)")
    return out


def parse_step_size(s):
    """'100000' -> 100000 entries; '200 MB' stays a string (uproot reads that much per step)."""
    s = s.strip()
    if s.isdigit():
        if int(s) < 1:
            raise argparse.ArgumentTypeError("must be at least 1")
        return int(s)
    if any(s.upper().endswith(u) for u in ("KB", "MB", "GB", "KIB", "MIB", "GIB")):
        return s
    raise argparse.ArgumentTypeError(f"'{s}': expected a number of entries or a size such as '100 MB'")


def dataset_name(branch):
    """HDF5 name for a branch: '/' would make groups, so it becomes '_'."""
    return branch.replace("/", "_")


def classify(ak, branch_type):
    """('flat' | 'jagged' | None, description) for the awkward type of one entry of a branch."""
    T = ak.types
    t = branch_type
    numeric_kinds = ("bool", "int", "uint", "float")

    def numeric(nt):
        return isinstance(nt, T.NumpyType) and nt.primitive.startswith(numeric_kinds) and "__array__" not in nt.parameters

    if numeric(t):
        return "flat", str(t)
    if isinstance(t, (T.ListType, T.RegularType)) and "__array__" not in t.parameters and numeric(t.content):
        return "jagged", str(t)
    return None, str(t)


def open_tree(uproot, path, tree_name):
    try:
        f = uproot.open(path)
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file") from None
    except Exception as e:  # not a ROOT file, truncated, ...
        raise ConversionError(f"{path}: cannot be opened as a ROOT file ({type(e).__name__}: {e})") from None
    try:
        tree = f[tree_name]
    except Exception:
        trees = [k.split(";")[0] for k, c in f.classnames().items() if c in ("TTree", "TNtuple", "TNtupleD")]
        raise ConversionError(
            f"{path}: no tree '{tree_name}' (trees in the file: {', '.join(sorted(set(trees))) or 'none'})") from None
    if not hasattr(tree, "iterate") or not hasattr(tree, "keys"):
        raise ConversionError(f"{path}: '{tree_name}' is a {type(tree).__name__}, not a TTree")
    return tree


def check_inputs(uproot, ak, paths, tree_name, flat, groups):
    """Checks every file before anything is written: the tree, each branch, flat versus jagged,
    numeric types. Returns the total number of entries."""
    total = 0
    for path in paths:
        tree = open_tree(uproot, path, tree_name)
        where = f"{path}, tree '{tree_name}'"
        keys = set(tree.keys())
        for b in flat + [b for bs in groups.values() for b in bs]:
            if b not in keys:
                raise ConversionError(f"{where}: no branch '{b}' (branches: {', '.join(sorted(keys))})")
        for b in flat:
            kind, desc = classify(ak, branch_type(ak, tree, b, where))
            if kind == "jagged":
                raise ConversionError(f"{where}, branch '{b}': has a variable or fixed number of values per event "
                                      f"({desc}), so it cannot be a flat column; give it in a --jagged group")
            if kind is None:
                raise ConversionError(f"{where}, branch '{b}': type {desc} is not numeric")
        for g, bs in groups.items():
            for b in bs:
                kind, desc = classify(ak, branch_type(ak, tree, b, where))
                if kind == "flat":
                    raise ConversionError(f"{where}, branch '{b}' (jagged group '{g}'): has one value per event "
                                          f"({desc}), not a list; give it in --features, --target or --weight")
                if kind is None:
                    raise ConversionError(f"{where}, branch '{b}' (jagged group '{g}'): type {desc} is not a list of numbers")
        total += tree.num_entries
    return total


def branch_type(ak, tree, b, where):
    try:
        return ak.type(tree[b].array(entry_start=0, entry_stop=0, library="ak")).content
    except Exception as e:  # uproot cannot interpret the branch (objects, unknown streamers)
        raise ConversionError(f"{where}, branch '{b}': cannot be read as numbers ({type(e).__name__}: {e})") from None


class Writer:
    """Resizable, chunked HDF5 datasets that grow by one block of events at a time."""

    def __init__(self, h5py, path, specs, chunk_rows):
        self.f = h5py.File(path, "w")
        self.ds = {}
        for name, (inner_shape, dtype) in specs.items():
            self.ds[name] = self.f.create_dataset(name, shape=(0,) + inner_shape, maxshape=(None,) + inner_shape,
                                                  dtype=dtype, chunks=(chunk_rows,) + inner_shape)
        self.rows = 0

    def append(self, arrays):
        n = None
        for name, a in arrays.items():
            if n is None:
                n = len(a)
            assert len(a) == n, name
        if not n:
            return
        for name, a in arrays.items():
            d = self.ds[name]
            d.resize(self.rows + n, axis=0)
            d[self.rows:self.rows + n] = a
        self.rows += n


def convert(args):
    import awkward as ak
    import h5py
    import numpy as np
    import uproot

    t_start = time.monotonic()
    features = parse_list(args.features)
    targets = parse_list(args.target)
    weight = args.weight.strip() if args.weight else None
    groups = parse_groups(args.jagged)
    max_len = parse_max_len(args.max_len, groups)
    dtype = np.dtype(args.dtype)
    if not features:
        raise ConversionError("give at least one flat feature branch with --features")
    if not targets:
        raise ConversionError("give at least one target branch with --target")

    # the flat columns, each written once even if it serves several roles
    flat = list(dict.fromkeys(features + targets + ([weight] if weight else [])))
    jagged_branches = [b for bs in groups.values() for b in bs]
    for b in jagged_branches:
        if b in flat:
            raise ConversionError(f"branch '{b}' is given both as a flat column and in a --jagged group")
    if len(set(jagged_branches)) != len(jagged_branches):
        raise ConversionError("a branch appears in more than one --jagged group (or twice in one)")
    if args.matrix:  # only the weights stay a column
        names = {b: dataset_name(b) for b in ([weight] if weight else [])}
        out_names = list(names.values()) + ["features", "targets"]
    else:
        names = {b: dataset_name(b) for b in flat}
        out_names = list(names.values())
    for g in groups:
        out_names += [g, g + "_length"]
    dup = sorted({n for n in out_names if out_names.count(n) > 1})
    if dup:
        raise ConversionError(f"output dataset names clash: {', '.join(dup)} (rename a --jagged group)")

    total = check_inputs(uproot, ak, args.inputs, args.tree, flat, groups)

    specs = {name: ((), dtype) for name in names.values()}
    if args.matrix:
        specs["features"] = ((len(features),), dtype)
        specs["targets"] = ((len(targets),), dtype)
    for g, bs in groups.items():
        specs[g] = ((max_len[g], len(bs)), dtype)
        specs[g + "_length"] = ((), np.dtype(np.int32))

    if args.matrix:
        roles = {"version": ROLE_VERSION, "features": "features", "targets": "targets"}
    else:
        roles = {"version": ROLE_VERSION, "features": [names[b] for b in features], "targets": [names[b] for b in targets]}
    if weight:
        roles["weights"] = names[weight]
    if groups:
        roles["sequences"] = {g: {"data": g, "length": g + "_length", "fill": float(args.fill)} for g in groups}

    out = args.output
    tmp = out + ".tmp"
    truncated = {g: 0 for g in groups}
    dropped = {g: 0 for g in groups}
    longest = {g: 0 for g in groups}
    entries_read = 0
    steps = 0
    w = None
    try:
        # small inputs get small chunks (a chunk takes its full size on disk)
        w = Writer(h5py, tmp, specs, max(1, min(CHUNK_ROWS, total)))
        # a fixed-length string (numpy.bytes_): hepnn refuses variable-length text attributes,
        # whose reading HDF5 cannot bound on a damaged file (docs/file-format.md)
        w.f.attrs.create("hepnn_roles", np.bytes_(json.dumps(roles).encode()))
        w.f.attrs["hepnn_source"] = json.dumps({"converter": "tools/root_to_hdf5.py", "inputs": args.inputs,
                                                "tree": args.tree, "cut": args.cut})
        if args.matrix:
            w.ds["features"].attrs["columns"] = json.dumps(features)
            w.ds["targets"].attrs["columns"] = json.dumps(targets)
        for g, bs in groups.items():
            w.ds[g].attrs["branches"] = json.dumps(bs)
            w.ds[g].attrs["fill"] = float(args.fill)
        sources = [{p: args.tree} for p in args.inputs]
        expressions = flat + jagged_branches
        try:
            iterator = uproot.iterate(sources, expressions, cut=args.cut or None, step_size=args.step_size,
                                      library="ak", report=True)
            for arrays, report in iterator:
                steps += 1
                entries_read += report.tree_entry_stop - report.tree_entry_start
                where = (f"{report.file_path}, tree '{args.tree}', entries {report.tree_entry_start}"
                         f" to {report.tree_entry_stop - 1}")
                block = {}
                column = {b: ak.to_numpy(arrays[b]).astype(dtype, copy=False) for b in flat}
                for b, name in names.items():
                    block[name] = column[b]
                if args.matrix:
                    n_block = len(arrays)
                    block["features"] = np.stack([column[b] for b in features], axis=1).reshape(n_block, len(features))
                    block["targets"] = np.stack([column[b] for b in targets], axis=1).reshape(n_block, len(targets))
                del column
                for g, bs in groups.items():
                    counts = ak.num(arrays[bs[0]], axis=1)
                    for b in bs[1:]:
                        other = ak.num(arrays[b], axis=1)
                        bad = np.nonzero(ak.to_numpy(counts != other))[0]
                        if len(bad):
                            i = int(bad[0])
                            at = (f"entry {report.tree_entry_start + i}" if not args.cut
                                  else f"event {i} of this block after the cut")
                            raise ConversionError(
                                f"{where}: jagged group '{g}': branch '{b}' has {int(other[i])} values at {at} but "
                                f"'{bs[0]}' has {int(counts[i])}; the branches of a group must have equal counts")
                    counts = ak.to_numpy(counts).astype(np.int64)
                    m = max_len[g]
                    over = counts > m
                    truncated[g] += int(over.sum())
                    dropped[g] += int((counts[over] - m).sum())
                    if len(counts):
                        longest[g] = max(longest[g], int(counts.max()))
                    cols = [ak.to_numpy(ak.fill_none(ak.pad_none(ak.values_astype(arrays[b], dtype), m, axis=1, clip=True),
                                                     args.fill, axis=1)) for b in bs]
                    block[g] = np.stack(cols, axis=-1).astype(dtype, copy=False)
                    block[g + "_length"] = np.minimum(counts, m).astype(np.int32)
                w.append(block)
                del arrays, block
        except ConversionError:
            raise
        except Exception as e:
            what = f"{', '.join(args.inputs)}, tree '{args.tree}'"
            if args.cut:
                what += f", cut '{args.cut}'"
            raise ConversionError(f"{what}: reading failed ({type(e).__name__}: {e})") from None
        rows = w.rows
        w.f.close()
        os.replace(tmp, out)
    except BaseException:
        if w is not None:
            try:
                w.f.close()
            except Exception:
                pass
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

    dt = time.monotonic() - t_start
    print(f"root_to_hdf5: {len(args.inputs)} file(s), tree '{args.tree}': {entries_read} of {total} entries read"
          f" in {steps} step(s), {rows} events written to {out} ({dt:.1f} s)")
    if args.cut:
        print(f"  cut '{args.cut}': {rows} of {entries_read} events kept")
    if args.matrix:
        print(f"  {'features':<20} ({rows}, {len(features)}) {dtype}  [features: {', '.join(features)}]")
        print(f"  {'targets':<20} ({rows}, {len(targets)}) {dtype}  [targets: {', '.join(targets)}]")
    for b, name in names.items():
        roles_of = [r for r, lst in (("feature", features), ("target", targets), ("weight", [weight])) if b in lst]
        print(f"  {name:<20} ({rows},) {dtype}  [{', '.join(roles_of)}]")
    for g, bs in groups.items():
        print(f"  {g:<20} ({rows}, {max_len[g]}, {len(bs)}) {dtype}  [sequence: {', '.join(bs)}; fill {args.fill}]")
        print(f"  {g + '_length':<20} ({rows},) int32")
        msg = (f"  {g}: {truncated[g]} of {rows} events had more than {max_len[g]} entries (longest {longest[g]});"
               f" {dropped[g]} entries dropped by truncation")
        print(msg if truncated[g] else f"  {g}: no event had more than {max_len[g]} entries (longest {longest[g]})")
    if rows == 0:
        print("root_to_hdf5: WARNING: no events were written", file=sys.stderr)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Convert ROOT TTrees to hepnn's HDF5 data layout (flat columns, padded jagged groups, "
                    "targets, event weights), chunk by chunk.",
        epilog="Example: root_to_hdf5.py a.root b.root --tree Events -o train.h5 --features pt,eta,met "
               "--jagged tracks:trk_pt,trk_eta --max-len 15 --target label --weight w")
    p.add_argument("inputs", nargs="+", metavar="INPUT.root", help="ROOT file(s), read in the order given")
    p.add_argument("--tree", "-t", required=True, help="name of the TTree (the same in every file)")
    p.add_argument("--output", "-o", required=True, metavar="OUT.h5", help="HDF5 file to write (replaced at the end)")
    p.add_argument("--features", "-f", action="append", metavar="B1,B2,...",
                   help="flat branches used as features, one 1-D dataset each (repeatable)")
    p.add_argument("--target", action="append", metavar="B1,...", help="flat target branch(es) (repeatable)")
    p.add_argument("--weight", metavar="BRANCH", help="flat branch of event weights (negative ones are kept)")
    p.add_argument("--jagged", action="append", metavar="NAME:B1,B2,...",
                   help="jagged branches with equal counts per event -> dataset NAME (N, max_len, k) and "
                        "NAME_length (repeatable)")
    p.add_argument("--max-len", action="append", metavar="N|NAME=N",
                   help="entries kept per event in a jagged group; longer lists are truncated (counted and reported)")
    p.add_argument("--matrix", action="store_true",
                   help="write the features as one (N, F) dataset 'features' and the targets as 'targets' (N, T) "
                        "instead of one column per branch: what io::StreamingSource needs to stream the file")
    p.add_argument("--fill", type=float, default=0.0, help="padding value of jagged groups (default 0)")
    p.add_argument("--cut", help="selection as an expression over branches, e.g. 'jet_pt > 20' (uproot's cut)")
    p.add_argument("--step-size", type=parse_step_size, default=100000, metavar="N|SIZE",
                   help="entries (or e.g. '200 MB') read per step; memory use is bounded by this (default 100000)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="type of features, targets, weights and jagged data (default float32)")
    args = p.parse_args(argv)
    try:
        return convert(args)
    except ConversionError as e:
        print(f"root_to_hdf5: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("root_to_hdf5: interrupted; no output written", file=sys.stderr)
        return 130
    except ImportError as e:
        print(f"root_to_hdf5: error: {e}; install with: pip install uproot awkward h5py numpy", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
