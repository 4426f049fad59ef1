#!/usr/bin/env python3
"""Checks that image files are valid, for CI: SVG and PNG, Python standard library only.

    python3 tools/check_images.py FILE_OR_DIR [FILE_OR_DIR ...] [--min-count N]

A directory is searched (recursively) for *.svg and *.png. For each file it prints what it checked:
  SVG: parses as well-formed XML (xml.etree); the root element is <svg> in the SVG namespace, with
       positive width and height and a viewBox of four numbers; it holds at least one drawn element.
  PNG: the 8-byte signature, an IHDR chunk first, every chunk's CRC, positive width and height, a
       valid bit depth / colour type pair, and an IEND chunk at the end; for 8-bit RGB (what
       hepnn writes) the image data are inflated with zlib and unfiltered, and must hold more
       than one colour (something was drawn).
Exits 1 if any file is invalid, or if fewer than --min-count files (default 1) were found.
"""
import argparse
import os
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"
DRAWN = {"path", "line", "rect", "circle", "polyline", "polygon", "text", "ellipse", "image"}


def length(value):
    v = value.strip()
    for unit in ("px", "pt", "mm", "cm", "in"):
        if v.endswith(unit):
            v = v[: -len(unit)]
            break
    return float(v)


def check_svg(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return f"not well-formed XML: {e}"
    if root.tag != SVG_NS + "svg":
        return f"root element is {root.tag}, expected <svg> in the SVG namespace"
    for attr in ("width", "height", "viewBox"):
        if attr not in root.attrib:
            return f"<svg> has no {attr} attribute"
    try:
        w, h = length(root.attrib["width"]), length(root.attrib["height"])
    except ValueError:
        return f"width/height {root.attrib['width']!r}/{root.attrib['height']!r} are not lengths"
    if not (w > 0 and h > 0):
        return f"width x height is {w} x {h}"
    box = root.attrib["viewBox"].replace(",", " ").split()
    try:
        box = [float(x) for x in box]
    except ValueError:
        box = []
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
        return f"viewBox {root.attrib['viewBox']!r} is not four numbers with positive width and height"
    drawn = sum(1 for el in root.iter() if el.tag.replace(SVG_NS, "") in DRAWN)
    if drawn == 0:
        return "no drawn element (path, line, rect, circle, text, ...)"
    return f"ok: SVG {w:g} x {h:g}, {drawn} drawn elements"


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    if len(data) < 8 + 25 + 12:
        return f"too short for a PNG ({len(data)} bytes)"
    n, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or n != 13:
        return f"first chunk is {kind!r} of {n} bytes, expected IHDR of 13"
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    if zlib.crc32(data[12:29]) & 0xFFFFFFFF != crc:
        return "IHDR CRC mismatch"
    w, h, depth, colour = struct.unpack(">IIBB", body[:10])
    allowed = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
    if w == 0 or h == 0:
        return f"size {w} x {h}"
    if colour not in allowed or depth not in allowed[colour]:
        return f"bit depth {depth} with colour type {colour} is not valid"
    if data[-12:-8] != b"\x00\x00\x00\x00" or data[-8:-4] != b"IEND":
        return "no IEND chunk at the end (truncated?)"
    idat, at = b"", 8
    while at + 12 <= len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + n]
        (crc,) = struct.unpack(">I", data[at + 8 + n : at + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            return f"CRC mismatch in chunk {kind!r} at byte {at}"
        if kind == b"IDAT":
            idat += body
        at += 12 + n
    if at != len(data):
        return f"chunks end at byte {at} of {len(data)}"
    if depth != 8 or colour != 2:
        return f"ok: PNG {w} x {h}, bit depth {depth}, colour type {colour} (pixels not decoded)"
    try:
        raw = zlib.decompress(idat)
    except zlib.error as e:
        return f"image data do not inflate: {e}"
    stride = 3 * w
    if len(raw) != h * (stride + 1):
        return f"image data inflate to {len(raw)} bytes, expected {h * (stride + 1)}"
    prev, colours = bytearray(stride), set()
    for y in range(h):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if f > 4:
            return f"row {y} has filter type {f}"
        for i in range(stride):
            a = row[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                row[i] = (row[i] + a) & 255
            elif f == 2:
                row[i] = (row[i] + b) & 255
            elif f == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if len(colours) < 2:
            colours.update(bytes(row[i : i + 3]) for i in range(0, stride, 3))
        prev = row
    if len(colours) < 2:
        return "the image is one flat colour (nothing drawn)"
    return f"ok: PNG {w} x {h}, bit depth {depth}, colour type {colour}, pixels decoded"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="image files or directories")
    ap.add_argument("--min-count", type=int, default=1, help="fail if fewer images are found (default 1)")
    args = ap.parse_args()
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            for d, _, names in sorted(os.walk(p)):
                files += [os.path.join(d, n) for n in sorted(names) if n.lower().endswith((".svg", ".png"))]
        elif os.path.exists(p):
            files.append(p)
        else:
            print(f"{p}: FAIL: no such file or directory")
            files.append(None)
    bad = files.count(None)
    files = [f for f in files if f is not None]
    for f in files:
        if f.lower().endswith(".svg"):
            result = check_svg(f)
        elif f.lower().endswith(".png"):
            result = check_png(f)
        else:
            result = "unknown image type (expected .svg or .png)"
        ok = result.startswith("ok")
        bad += not ok
        print(f"{f}: {result if ok else 'FAIL: ' + result}")
    if len(files) < args.min_count:
        print(f"FAIL: {len(files)} image(s) found, expected at least {args.min_count}")
        bad += 1
    print(f"check_images: {len(files)} file(s) checked, {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
