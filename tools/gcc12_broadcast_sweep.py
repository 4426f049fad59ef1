#!/usr/bin/env python3
"""Finds every store that GCC 12's AVX-512 constant-broadcast bug miscompiles in a set of sources.

GCC 12.1/12.2 expand some 256/512-bit constants (OImode/XImode CONST_WIDE_INTs whose top 64-bit
words are zero) as a broadcast of their first word (cmake/hepnnCompilerChecks.cmake). This
compiles each source with -fdump-rtl-expand and the given flags (without the workaround), and
reports each vec_duplicate whose REG_EQUAL constant is not really a broadcast of one element.

usage: tools/gcc12_broadcast_sweep.py BUILD_DIR FILE.cpp... [-- extra compiler flags]
BUILD_DIR's compile_commands.json gives each file's flags (configure with
-DCMAKE_EXPORT_COMPILE_COMMANDS=ON); the workaround flag is removed from them.
"""
import json, os, re, shlex, subprocess, sys, tempfile

def splat_width(value, bits):
    """The element width (8..64) of which `value` (a `bits`-bit integer) is a broadcast, or None."""
    for w in (8, 16, 32, 64):
        first = value & ((1 << w) - 1)
        if all(((value >> s) & ((1 << w) - 1)) == first for s in range(0, bits, w)):
            return w
    return None

MODE_BITS = {"OI": 256, "XI": 512, "TI": 128}

def scan(dump):
    """(line, constant, bits) of each wrong broadcast in one expand dump."""
    bad = []
    text = open(dump).read()
    # (set (reg:OI n) (subreg:OI (reg:V4DI m) 0)) with a REG_EQUAL (const_wide_int 0x...) note,
    # where reg m was set by a vec_duplicate
    dup_regs = set(re.findall(r"\(set \(reg:V\d+[A-Z]+ (\d+)\)\s*\(vec_duplicate:", text))
    for m in re.finditer(r"\(set \(reg:(OI|XI|TI) \d+\)\s*\(subreg:(?:OI|XI|TI) \(reg:V\d+[A-Z]+ (\d+)\) 0\)\)"
                         r"[^\n]*\n\s*\(expr_list:REG_EQUAL \(const_wide_int (0x[0-9a-f]+)\)", text):
        mode, reg, const = m.group(1), m.group(2), int(m.group(3), 16)
        bits = MODE_BITS[mode]
        if reg in dup_regs and splat_width(const % (1 << bits), bits) is None:
            loc = text.rfind(";; Function", 0, m.start())
            bad.append((text[loc:text.find("\n", loc)], hex(const), bits))
    return bad

def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    build, files = args[0], args[1:]
    db = {os.path.realpath(e["file"]): e for e in json.load(open(os.path.join(build, "compile_commands.json")))}
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            e = db.get(os.path.realpath(f))
            if e is None:
                print(f"{f}: not in compile_commands.json", file=sys.stderr)
                continue
            cmd = shlex.split(e["command"]) if "command" in e else e["arguments"]
            out = []
            skip = False
            for a in cmd:
                if skip:
                    skip = False
                    continue
                if a == "-o":
                    skip = True
                    continue
                if "inter_unit_moves_to_vec" in a:
                    continue
                out.append(a)
            base = os.path.join(tmp, "tu")
            subprocess.run(out + extra + ["-o", base + ".o", "-fdump-rtl-expand", "-dumpbase", base],
                           cwd=e["directory"], check=True, stderr=subprocess.DEVNULL)
            dumps = [os.path.join(tmp, d) for d in os.listdir(tmp) if d.endswith("r.expand")]
            found = [b for d in dumps for b in scan(d)]
            for d in os.listdir(tmp):
                os.remove(os.path.join(tmp, d))
            total += len(found)
            print(f"{f}: {len(found)} miscompiled constant store(s)")
            for fn, const, bits in found:
                print(f"    {fn.strip()}: {bits}-bit constant {const} stored as a broadcast")
    print(f"total: {total}")

if __name__ == "__main__":
    main()
