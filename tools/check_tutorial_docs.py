#!/usr/bin/env python3
"""Keeps the tutorials and their pages honest (standard library only).

1. Pages: every examples/NN_name/main.cpp has exactly one page docs/tutorial-NN-*.md, every page
   belongs to a tutorial, every relative link of a page (to the program, to other pages, to
   images) points at a file that exists, the docs page a main.cpp names exists, and every page
   has at least one sample-output block.

2. Sample output: a fenced block that shows what a tutorial prints is marked by an HTML comment
   on the line before it (invisible on GitHub):

       <!-- sample-output: 02_signal_vs_background -->
       ```
       ...what the program printed...
       ```

   The comment names the program (examples/NN_name, built as <bin-dir>/NN_name) and the
   arguments it was run with (shell words), then optional fields after " | ":
       optional: REGEX   lines that match (re.search) may be missing on either side, e.g. the
                         early-stopping line, which a shorter run may not reach
       varies: REGEX     the matched text is a result that changes between runs of different
                         size (say, which class is confused most); it is compared as "<varies>"
       excerpt           the block is a part of the output, not all of it
       ranks: N          the program is an MPI program: run it as `mpiexec -n N program args`
                         (Open MPI: with --oversubscribe, and --allow-run-as-root as root);
                         skipped when there is no mpiexec
   The program runs in an empty working directory (or --work-dir) and its output (stdout and
   stderr) is compared with the block line by line after this normalisation, applied to both:
     - runs of spaces become one space, and leading and trailing spaces go (column widths follow
       the numbers);
     - every number becomes "#": integers, decimals, 4,673, 1.1e-16, 10.4%'s 10.4, inf, nan, and
       durations as the progress display writes them (919ms, 1.5s, 7m05s). A number is a run of
       digits not glued to a letter, digit, "_" or "." before it, so names such as conv2d_1,
       dense_3, X0, sm_90 or x86-64's 86 stay literal;
     - the lines the program prints only in a small run (starting "HEPNN_TUTORIAL_SMALL:") go;
     - a run of consecutive lines that are equal after the above counts as one line (so 3 epoch
       lines match 31), and a line "..." in the block matches any number of output lines (the
       page shows where it leaves lines out).
   Everything else must be equal: words, labels, keys, units, punctuation, the order of lines.

   What a run guarantees:
     --full   (the default) the program is run exactly as the marker says, at full size: the page's
              block has the structure of what the program prints today, every word and label
              included; only the numbers are not compared (timings differ between machines, and
              float results in their last digits between CPUs and BLAS libraries).
     --small  (what ctest runs: HEPNN_TUTORIAL_SMALL=1, the same arguments) the same comparison,
              against the small run's output: the page's full-size sample has the structure of
              the output of the current program at a reduced size. Numbers (including counts of
              events and epochs) are not checked at all in this mode; whether the page's numbers
              came from a full-size run is what --regenerate (or --full) ensures.
   A program that exits with 77 (data set or GPU missing) counts as skipped; a program that is not
   built (no HDF5, no nvcc) too. Any other non-zero exit fails the check.

3. --regenerate: reruns every marked block's program at full size and rewrites the block from
   its output: all of it, with runs of 5 or more lines that are equal after normalisation (epoch
   lines) shortened to the first 2, "..." and the last; for an excerpt, the same part of the new
   output (found by matching the old block). Check the diff before committing.

Exit status: 0 when everything checked passed (some blocks may have been skipped), 1 on a
failure, 77 when nothing could be checked because every program run was skipped.

Usage: tools/check_tutorial_docs.py [--structure-only] [--small | --regenerate]
                                    [--only NN ...] [--bin-dir build/examples] [--work-dir DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = 77
SMALL_PREFIX = "HEPNN_TUTORIAL_SMALL:"
GAP = "..."
ELIDE_RUN = 5  # --regenerate shortens runs of at least this many equal lines

MARKER = re.compile(r"^\s*<!--\s*sample-output:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^\s*(```+|~~~+)")
# A number: not glued to a letter, digit, "_" or "." before it; a duration's unit is part of it.
NUMBER = re.compile(
    r"(?<![\w.])(?:"
    r"\d+m\d\ds"  # 7m05s
    r"|[-+]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:ms|us|µs|s|min|h)?"
    r"|[-+]?(?:inf|nan)\b)"
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
IMG_SRC = re.compile(r"<img\s[^>]*src=\"([^\"]+)\"")


@dataclass
class Block:
    page: Path
    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    program: str
    args: list[str]
    optional: list[re.Pattern] = field(default_factory=list)
    varies: list[re.Pattern] = field(default_factory=list)
    excerpt: bool = False
    ranks: int = 0  # > 0: run under mpiexec -n ranks
    lines: list[str] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.start}"


def parse_blocks(page: Path) -> tuple[list[Block], list[str]]:
    text = page.read_text(encoding="utf-8").split("\n")
    blocks, errors = [], []
    for i, line in enumerate(text):
        m = MARKER.match(line)
        if not m:
            continue
        fields = [f.strip() for f in m.group(1).split(" | ")]
        words = shlex.split(fields[0])
        if not words:
            errors.append(f"{page.relative_to(ROOT)}:{i + 1}: sample-output marker without a program")
            continue
        j = i + 1
        while j < len(text) and not text[j].strip():
            j += 1
        if j >= len(text) or not FENCE.match(text[j]):
            errors.append(f"{page.relative_to(ROOT)}:{i + 1}: sample-output marker not followed by a fenced block")
            continue
        fence = FENCE.match(text[j]).group(1)
        k = j + 1
        while k < len(text) and not text[k].strip().startswith(fence):
            k += 1
        if k >= len(text):
            errors.append(f"{page.relative_to(ROOT)}:{j + 1}: unterminated fenced block")
            continue
        b = Block(page, j, k, words[0], words[1:], lines=text[j + 1 : k])
        for f in fields[1:]:
            key, _, value = f.partition(":")
            key = key.strip()
            if key == "optional":
                b.optional.append(re.compile(value.strip()))
            elif key == "varies":
                b.varies.append(re.compile(value.strip()))
            elif key == "excerpt":
                b.excerpt = True
            elif key == "ranks" and value.strip().isdigit() and int(value) > 0:
                b.ranks = int(value)
            else:
                errors.append(f"{page.relative_to(ROOT)}:{i + 1}: unknown field {key!r} in sample-output marker")
        blocks.append(b)
    return blocks, errors


# ---- 1. pages and links ----------------------------------------------------------------------


def tutorials() -> dict[str, Path]:
    return {d.name[:2]: d for d in sorted((ROOT / "examples").glob("[0-9][0-9]_*")) if (d / "main.cpp").exists()}


def pages() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in sorted((ROOT / "docs").glob("tutorial-[0-9][0-9]-*.md")):
        out.setdefault(p.name[9:11], []).append(p)
    return out


def check_structure() -> list[str]:
    errors = []
    tut, pgs = tutorials(), pages()
    for nn, d in tut.items():
        if nn not in pgs:
            errors.append(f"examples/{d.name} has no page docs/tutorial-{nn}-*.md")
        elif len(pgs[nn]) > 1:
            errors.append(f"examples/{d.name} has several pages: {', '.join(p.name for p in pgs[nn])}")
        # the page the program's comment names must exist
        for ref in re.findall(r"docs/tutorial-[\w.-]+\.md", (d / "main.cpp").read_text(encoding="utf-8")):
            if not (ROOT / ref).exists():
                errors.append(f"examples/{d.name}/main.cpp names {ref}, which does not exist")
    for nn, ps in pgs.items():
        for p in ps:
            rel = p.relative_to(ROOT)
            if nn not in tut:
                errors.append(f"{rel}: no tutorial examples/{nn}_*/main.cpp")
            text = p.read_text(encoding="utf-8")
            if nn in tut and f"examples/{tut[nn].name}/main.cpp" not in text:
                errors.append(f"{rel}: does not link its program examples/{tut[nn].name}/main.cpp")
            for target in LINK.findall(text) + IMG_SRC.findall(text):
                if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                    continue
                path = target.split("#")[0]
                if path and not (p.parent / path).resolve().exists():
                    errors.append(f"{rel}: link to {target}, which does not exist")
            blocks, errs = parse_blocks(p)
            errors += errs
            if not blocks:
                errors.append(f"{rel}: no sample-output block (mark the program's output, see {Path(__file__).name})")
            for b in blocks:
                if b.program[:2] != nn or b.program not in {d.name for d in tut.values()}:
                    errors.append(f"{b.where()}: sample output of {b.program}, not of this page's tutorial")
    return errors


# ---- 2. normalising and matching -------------------------------------------------------------


def canonical(line: str, varies: list[re.Pattern]) -> str:
    for v in varies:
        line = v.sub("<varies>", line)
    line = NUMBER.sub("#", line)
    return " ".join(line.split())


def normalise(lines: list[str], b: Block, is_page: bool) -> list[tuple[str, int]]:
    """(canonical line, index of the raw line); GAP for "..." in a page."""
    out: list[tuple[str, int]] = []
    for i, raw in enumerate(lines):
        if raw.startswith(SMALL_PREFIX):
            continue
        if any(o.search(raw) for o in b.optional):
            continue
        if is_page and raw.strip() == GAP:
            out.append((GAP, i))
            continue
        out.append((canonical(raw, b.varies), i))
    while out and out[-1][0] == "":
        out.pop()
    while out and out[0][0] == "":
        out.pop(0)
    # a "..." between two equal lines only leaves out more of the same: drop it
    kept: list[tuple[str, int]] = []
    for k, item in enumerate(out):
        if item[0] == GAP:
            prev = next((x[0] for x in reversed(kept) if x[0] != GAP), None)
            nxt = next((x[0] for x in out[k + 1 :] if x[0] != GAP), None)
            if prev is not None and prev == nxt:
                continue
        kept.append(item)
    # runs of equal lines count as one
    collapsed: list[tuple[str, int]] = []
    for item in kept:
        if collapsed and collapsed[-1][0] == item[0]:
            continue
        collapsed.append(item)
    return collapsed


def match(page: list[tuple[str, int]], out: list[tuple[str, int]], excerpt: bool):
    """Returns (spans, None) with the output span of each page segment, or (None, message)."""
    segments: list[list[tuple[str, int]]] = [[]]
    for item in page:
        if item[0] == GAP:
            segments.append([])
        else:
            segments[-1].append(item)
    anchor_start = not excerpt and bool(segments[0])
    anchor_end = not excerpt and bool(segments[-1])
    segments = [s for s in segments if s]
    o = [x[0] for x in out]
    pos, spans = 0, []

    def at(seg, p):
        return p + len(seg) <= len(o) and all(seg[k][0] == o[p + k] for k in range(len(seg)))

    for n, seg in enumerate(segments):
        last = n == len(segments) - 1
        if n == 0 and anchor_start:
            candidates = [0]
        elif last and anchor_end:
            candidates = [len(o) - len(seg)] if len(o) - len(seg) >= pos else []
        else:
            candidates = range(pos, len(o) - len(seg) + 1)
        found = next((p for p in candidates if at(seg, p)), None)
        if found is None:
            return None, explain(seg, out, pos, candidates)
        if n == 0 and anchor_start and last and anchor_end and found + len(seg) != len(o):
            return None, explain_extra(out, found + len(seg))
        spans.append((found, found + len(seg)))
        pos = found + len(seg)
    if not segments and (anchor_start or anchor_end) and o:
        return None, "the block is empty but the program printed something"
    return spans, None


def explain(seg, out, pos, candidates) -> str:
    # where the segment matches longest: show the first line that differs
    best_p, best_k = None, -1
    for p in list(candidates) or [pos]:
        k = 0
        while k < len(seg) and p + k < len(out) and seg[k][0] == out[p + k][0]:
            k += 1
        if k > best_k:
            best_p, best_k = p, k
    if best_k < len(seg) and best_p is not None and best_p + best_k < len(out):
        return (f"page line {seg[best_k][1] + 1} of the block does not match the program's line "
                f"{out[best_p + best_k][1] + 1}:\n    page:    {seg[best_k][0]}\n    program: {out[best_p + best_k][0]}")
    return f"page line {seg[min(best_k, len(seg) - 1)][1] + 1} of the block has no counterpart: the program's output ended"


def explain_extra(out, k) -> str:
    return f"the program prints more than the block shows, from its line {out[k][1] + 1}:\n    program: {out[k][0]}"


# ---- running the programs --------------------------------------------------------------------


@dataclass
class Run:
    status: str  # "ok", "skip", "fail"
    lines: list[str]
    message: str = ""


def mpi_launcher(ranks: int) -> list[str] | None:
    """mpiexec -n ranks, with the flags Open MPI needs on a small machine and as root; None without mpiexec."""
    import shutil
    exe = shutil.which("mpiexec") or shutil.which("mpirun")
    if not exe:
        return None
    cmd = [exe, "-n", str(ranks)]
    version = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
    if b"Open MPI" in version or b"OpenRTE" in version:
        cmd.append("--oversubscribe")
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    return cmd


def run(program: Path, args: list[str], small: bool, work_dir: Path | None, timeout: float, ranks: int = 0) -> Run:
    launcher: list[str] = []
    if ranks:
        found = mpi_launcher(ranks)
        if found is None:
            return Run("skip", [], "no mpiexec: the MPI program cannot run (apt-get install openmpi-bin)")
        launcher = found
    env = dict(os.environ)
    env.pop("HEPNN_TUTORIAL_SMALL", None)
    if small:
        env["HEPNN_TUTORIAL_SMALL"] = "1"
    with tempfile.TemporaryDirectory(prefix="hepnn-tutorial-") as tmp:
        cwd = work_dir or Path(tmp)
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            p = subprocess.run([*launcher, str(program), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Run("fail", [], f"timed out after {timeout:.0f} s")
    lines = p.stdout.decode("utf-8", "replace").rstrip("\n").split("\n")
    if p.returncode == SKIP:
        return Run("skip", lines, "the program skipped itself (exit 77): " +
                   next((l for l in reversed(lines) if "SKIP" in l), lines[-1] if lines else ""))
    if p.returncode != 0:
        return Run("fail", lines, f"exit status {p.returncode}")
    return Run("ok", lines)


def regenerated(b: Block, output: list[str]) -> list[str] | None:
    out = [l.rstrip() for l in output if not l.startswith(SMALL_PREFIX)]
    while out and not out[-1]:
        out.pop()
    if b.excerpt:
        spans, _ = match(normalise(b.lines, b, True), normalise(out, b, False), True)
        if spans is None:
            return None
        norm = normalise(out, b, False)
        new: list[str] = []
        for n, (s, e) in enumerate(spans):
            if n:
                new.append(GAP)
            first = norm[s][1]
            last = norm[e][1] - 1 if e < len(norm) else len(out) - 1
            # the last matched canonical line may stand for a run: take the run's last line
            new += out[first : last + 1]
        return [l for l in new]
    keys = [canonical(l, b.varies) for l in out]
    new, i = [], 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and keys[j + 1] == keys[i] and out[i].strip():
            j += 1
        if j - i + 1 >= ELIDE_RUN:
            new += [out[i], out[i + 1], GAP, out[j]]
        else:
            new += out[i : j + 1]
        i = j + 1
    return new


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--structure-only", action="store_true", help="only check pages and links, run nothing")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--small", action="store_true", help="run with HEPNN_TUTORIAL_SMALL=1 (what ctest does)")
    mode.add_argument("--full", action="store_true", help="run as the markers say (the default)")
    mode.add_argument("--regenerate", action="store_true", help="rewrite the sample blocks from full-size runs")
    ap.add_argument("--only", nargs="+", default=[], metavar="NN", help="only these tutorials (01, 02, ...)")
    ap.add_argument("--bin-dir", type=Path, default=ROOT / "build" / "examples",
                    help="where the tutorial programs are (default build/examples)")
    ap.add_argument("--work-dir", type=Path, help="run the programs here (default: a fresh temporary directory)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per program run")
    ap.add_argument("--echo", action="store_true", help="print the programs' output")
    a = ap.parse_args()

    a.bin_dir = a.bin_dir.resolve()
    if a.work_dir:
        a.work_dir = a.work_dir.resolve()
    errors = check_structure()
    if a.only:  # a broken page elsewhere is not this run's business
        errors = [e for e in errors if any(f"tutorial-{nn}-" in e or f"examples/{nn}_" in e for nn in a.only)]
    for e in errors:
        print(f"FAIL {e}")
    if a.structure_only:
        print(f"{len(tutorials())} tutorials, {sum(len(p) for p in pages().values())} pages: "
              + ("OK" if not errors else f"{len(errors)} problem(s)"))
        return 1 if errors else 0

    checked = skipped = 0
    cache: dict[tuple, Run] = {}
    for nn, ps in pages().items():
        if a.only and nn not in a.only:
            continue
        for p in ps:
            blocks, _ = parse_blocks(p)
            text = p.read_text(encoding="utf-8").split("\n") if a.regenerate else None
            for b in reversed(blocks) if a.regenerate else blocks:  # bottom up keeps line numbers valid
                exe = a.bin_dir / b.program
                label = f"{b.where()} ({' '.join([b.program, *b.args])})"
                if not exe.exists():
                    print(f"SKIP {label}: {exe} is not built")
                    skipped += 1
                    continue
                key = (b.program, tuple(b.args), b.ranks)
                if key not in cache:
                    print(f"run  {' '.join([b.program, *b.args])}" + (" (HEPNN_TUTORIAL_SMALL=1)" if a.small else ""),
                          flush=True)
                    cache[key] = run(exe, b.args, a.small, a.work_dir, a.timeout, b.ranks)
                    if a.echo:
                        print("\n".join("    | " + l for l in cache[key].lines), flush=True)
                r = cache[key]
                if r.status == "skip":
                    print(f"SKIP {label}: {r.message}")
                    skipped += 1
                    continue
                if r.status == "fail":
                    print(f"FAIL {label}: {r.message}\n" + "\n".join("    | " + l for l in r.lines[-30:]))
                    errors.append(label)
                    continue
                if a.regenerate:
                    new = regenerated(b, r.lines)
                    if new is None:
                        print(f"FAIL {label}: the excerpt is no longer in the output; edit it by hand")
                        errors.append(label)
                        continue
                    text[b.start + 1 : b.end] = new
                    print(f"wrote {label}: {len(new)} lines")
                    checked += 1
                    continue
                spans, why = match(normalise(b.lines, b, True), normalise(r.lines, b, False), b.excerpt)
                if spans is None:
                    print(f"FAIL {label}: the sample output does not match the program's\n  {why}")
                    errors.append(label)
                else:
                    print(f"ok   {label}")
                    checked += 1
            if a.regenerate and text is not None:
                p.write_text("\n".join(text), encoding="utf-8")
    print(f"{checked} block(s) checked, {skipped} skipped, {len(errors)} problem(s)")
    if errors:
        return 1
    return SKIP if checked == 0 and skipped > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
