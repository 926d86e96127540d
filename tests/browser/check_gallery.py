#!/usr/bin/env python3
"""Real-browser test of tessel's matmul pictures (tessel/viz.hpp).

Runs examples/mm_pictures to write its gallery, then has headless Chromium take a
screenshot of every picture and of index.html, and checks the pixels: every face of every
matmul box shows both hues (blue for positive values, red for negative ones), and the
fused-QKV pictures show the origin colours where they should (q alone in the right order's
q, q mixed with k or v in the wrong one's). Faces are found by their outlines in the SVG
(<polygon class="face"|"panel" data-face=... points=...>, page coordinates where one
viewBox unit is one CSS pixel).

Standard library only: the SVG is read with xml.etree (a second, independent XML parser)
and the PNG is decoded here with zlib.

  check_gallery.py --program build/ci/examples/mm_pictures --out build/ci/tests/browser/gallery

Exit status: 0 pass, 1 fail, 77 skipped (no Chromium; CTest's SKIP_RETURN_CODE).
"""
import argparse
import colorsys
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

SKIP = 77
SVG_NS = "{http://www.w3.org/2000/svg}"


def find_chromium(explicit):
    for name in [explicit, os.environ.get("TESSEL_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]:
        if name:
            path = shutil.which(name)
            if path:
                return path
    return None


def screenshot(chromium, url, png, width, height, scale):
    """One headless screenshot of a width × height (CSS px) window at `scale` pixels per CSS
    pixel, with a fresh profile and nothing fetched from the network."""
    with tempfile.TemporaryDirectory(prefix="tessel-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--force-device-scale-factor=%g" % scale, "--user-data-dir=" + profile,
               "--screenshot=" + png, "--window-size=%d,%d" % (width, height), url]
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        if result.returncode != 0 or not os.path.exists(png):
            raise RuntimeError("chromium failed on %s (status %d):\n%s" %
                               (url, result.returncode, result.stderr.decode(errors="replace")[-2000:]))


def _add_bytes(a, b):
    """(a + b) mod 256 byte by byte, on whole rows at once (carries kept inside each byte)."""
    n = len(a)
    x, y = int.from_bytes(a, "little"), int.from_bytes(b, "little")
    low = int.from_bytes(b"\x7f" * n, "little")
    high = int.from_bytes(b"\x80" * n, "little")
    return bytearray((((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "little"))


def _unfilter(kind, line, previous, channels):
    if kind == 0:
        return line
    if kind == 2:  # up
        return _add_bytes(line, previous)
    if kind == 1:  # sub: a running sum along each channel
        for c in range(channels):
            total = 0
            for i in range(c, len(line), channels):
                total = (total + line[i]) & 0xff
                line[i] = total
        return line
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        up = previous[i]
        if kind == 3:  # average
            line[i] = (line[i] + ((left + up) >> 1)) & 0xff
        elif kind == 4:  # Paeth
            corner = previous[i - channels] if i >= channels else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xff
        else:
            raise ValueError("bad PNG filter %d" % kind)
    return line


def decode_png(path):
    """(width, height, rows of bytes in RGB order) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(path + " is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) & 0xffffffff != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError("bad CRC in " + path)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError("unsupported PNG format (depth %d, colour type %d, interlace %d)" % (depth, colour, interlace))
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    if len(raw) != height * (stride + 1):
        raise ValueError("PNG data of %s has the wrong length" % path)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = _unfilter(raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]),
                         previous, channels)
        rgb = line if channels == 3 else bytearray(b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(bytes(rgb))
        previous = line
    return width, height, rows


# Hue classes (degrees) for pixels with some colour in them (saturation and value floors keep
# out white, the greys of text and outlines, and anti-aliasing fringes).
HUES = {"blue": (190, 250), "red": (345, 15), "green": (100, 170), "orange": (20, 45)}


_hue_memo = {}


def hue_class(r, g, b):
    key = (r << 16) | (g << 8) | b
    if key in _hue_memo:
        return _hue_memo[key]
    h, s, v = colorsys.rgb_to_hsv(r / 255.0, g / 255.0, b / 255.0)
    found = None
    if s >= 0.22 and v >= 0.25:
        deg = h * 360
        for name, (lo, hi) in HUES.items():
            if (lo <= deg <= hi) if lo <= hi else (deg >= lo or deg <= hi):
                found = name
                break
    _hue_memo[key] = found
    return found


def count_hues(rows, poly, origin, scale):
    """Pixels of each hue class whose centres lie inside the polygon (page coordinates; the
    screenshot has `scale` pixels per CSS pixel), and the polygon's area in pixels."""
    ox, oy = origin
    pts = [((x - ox) * scale, (y - oy) * scale) for x, y in poly]
    counts, area = {name: 0 for name in HUES}, 0
    height, width = len(rows), len(rows[0]) // 3
    y0, y1 = max(int(min(p[1] for p in pts)), 0), min(int(max(p[1] for p in pts)) + 1, height)
    edges = list(zip(pts, pts[1:] + pts[:1]))
    for y in range(y0, y1):
        yc = y + 0.5
        # Scanline: the polygon covers the pixels between pairs of edge crossings.
        xs = sorted(x1 + (yc - y1) * (x2 - x1) / (y2 - y1) for (x1, y1), (x2, y2) in edges if (y1 > yc) != (y2 > yc))
        row = rows[y]
        for a, b in zip(xs[0::2], xs[1::2]):
            for x in range(max(int(a + 0.5), 0), min(int(b + 0.5), width)):
                area += 1
                c = hue_class(row[3 * x], row[3 * x + 1], row[3 * x + 2])
                if c:
                    counts[c] += 1
    return counts, area


def read_svg(path):
    root = ET.parse(path).getroot()  # a second XML parser: fails on malformed SVG
    if root.tag != SVG_NS + "svg":
        raise ValueError(path + ": the root is not an SVG element")
    vb = [float(v) for v in root.get("viewBox").split()]
    width, height = int(float(root.get("width"))), int(float(root.get("height")))
    if abs(vb[2] - width) > 0.5 or abs(vb[3] - height) > 0.5:
        raise ValueError(path + ": viewBox and size differ; faces could not be located")
    outlines = []
    for p in root.iter(SVG_NS + "polygon"):
        if p.get("class") in ("face", "panel"):
            pts = [tuple(float(v) for v in pair.split(",")) for pair in p.get("points").split()]
            outlines.append((p.get("class"), p.get("data-face"), p.get("data-matrix"), pts))
    for tag in ("script", "foreignObject", "image"):
        if list(root.iter(SVG_NS + tag)):
            raise ValueError(path + ": holds <%s>, the pictures must be self-contained" % tag)
    return width, height, (vb[0], vb[1]), outlines


def check_picture(name, svg, png, scale, failures, report):
    width, height, origin, outlines = read_svg(svg)
    w, h, rows = decode_png(png)
    if abs(w - width * scale) > 1 or abs(h - height * scale) > 1:
        failures.append("%s: screenshot is %dx%d, the picture %dx%d at scale %g" % (name, w, h, width, height, scale))
        return
    faces = [o for o in outlines if o[0] == "face"]
    panels = [o for o in outlines if o[0] == "panel"]
    measured = {}
    for kind, face, matrix, pts in outlines:
        counts, area = count_hues(rows, pts, origin, scale)
        measured[(kind, face, matrix)] = (counts, area)
        report.append("  %-6s %-6s %-44s area %7d  blue %6d  red %6d  green %5d  orange %5d" %
                      (kind, face, matrix[:44], area, counts["blue"], counts["red"], counts["green"], counts["orange"]))

    def need(cond, what):
        if not cond:
            failures.append("%s: %s" % (name, what))

    if name.startswith("qkv"):
        get = {face: measured[(kind, face, matrix)] for kind, face, matrix, _ in panels}
        need(set(get) >= {"x", "x-a", "q-a", "x-b", "q-b"}, "missing panels (found %s)" % sorted(get))
        if not set(get) >= {"x", "x-a", "q-a", "x-b", "q-b"}:
            return
        counts, area = get["x"]
        for hue in ("blue", "green", "orange"):
            need(counts[hue] >= 0.1 * area, "x shows too little %s (%d of %d px): q, k and v must all be there" %
                 (hue, counts[hue], area))
        right, wrong = ("q-a", "q-b") if name == "qkv_views.svg" else ("q-b", "q-a")
        counts, area = get[right]
        need(counts["blue"] >= 0.4 * area, "%s (the right order) should be all q-blue (%d of %d px)" %
             (right, counts["blue"], area))
        need(counts["green"] + counts["orange"] <= 0.01 * area, "%s (the right order) shows k or v" % right)
        counts, area = get[wrong]
        need(counts["green"] + counts["orange"] >= 0.1 * area,
             "%s (the wrong order) should show k or v mixed in (%d px of %d)" %
             (wrong, counts["green"] + counts["orange"], area))
        return

    # Three faces per box; a chain (two boxes sharing a face) has five.
    need(len(faces) >= 3 and (len(faces) % 3 == 0 or name == "chain.svg"), "expected three faces per box, found %d" %
         len(faces))
    for kind, face, matrix, _ in faces:
        counts, area = measured[(kind, face, matrix)]
        floor = max(20, 0.05 * area)
        need(area >= 50, "face %s (%s) covers only %d px" % (face, matrix, area))
        need(counts["blue"] >= floor, "face %s (%s) shows %d blue px of %d" % (face, matrix, counts["blue"], area))
        need(counts["red"] >= floor, "face %s (%s) shows %d red px of %d" % (face, matrix, counts["red"], area))
    for kind, face, matrix, _ in panels:
        counts, area = measured[(kind, face, matrix)]
        need(counts["blue"] + counts["red"] >= max(10, 0.02 * area), "panel %s shows no values" % face)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--program", required=True, help="the mm_pictures example")
    ap.add_argument("--out", required=True, help="folder for the gallery and the screenshots")
    ap.add_argument("--chromium", help="browser to use (default: chromium on PATH)")
    ap.add_argument("--scale", type=float, default=0.5,
                    help="screenshot pixels per CSS pixel (default 0.5: faces stay hundreds of pixels large, "
                         "and the pure-Python PNG decoder has a quarter of the work)")
    args = ap.parse_args()

    chromium = find_chromium(args.chromium)
    if not chromium:
        print("SKIPPED: no chromium on PATH (scripts/run-browser-tests.sh installs Debian's chromium)")
        return SKIP
    gallery = os.path.abspath(os.path.join(args.out, "gallery"))
    shots = os.path.abspath(os.path.join(args.out, "screenshots"))
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(shots)
    subprocess.run([args.program, gallery], check=True)

    pictures = sorted(f for f in os.listdir(gallery) if f.endswith(".svg"))
    failures, report = [], []
    if len(pictures) < 6:
        failures.append("the gallery has only %d pictures" % len(pictures))
    for name in pictures:
        svg = os.path.join(gallery, name)
        width, height, _, _ = read_svg(svg)
        png = os.path.join(shots, name[:-4] + ".png")
        screenshot(chromium, "file://" + svg, png, width, height, args.scale)
        report.append("%s (%dx%d)" % (name, width, height))
        check_picture(name, svg, png, args.scale, failures, report)

    # index.html shows every picture: its screenshot holds both hues in quantity.
    png = os.path.join(shots, "index.png")
    screenshot(chromium, "file://" + os.path.join(gallery, "index.html"), png, 1400, 9000, 0.25)
    _, _, rows = decode_png(png)
    total = {name: 0 for name in HUES}
    for row in rows:
        for x in range(0, len(row), 3):
            c = hue_class(row[x], row[x + 1], row[x + 2])
            if c:
                total[c] += 1
    report.append("index.html (at scale 0.25): blue %d, red %d, green %d, orange %d px" %
                  (total["blue"], total["red"], total["green"], total["orange"]))
    for hue in ("blue", "red", "green", "orange"):
        if total[hue] < 100:
            failures.append("index.html shows almost no %s: are its pictures missing?" % hue)

    print("\n".join(report))
    print("screenshots in " + shots)
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall %d pictures passed" % len(pictures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
