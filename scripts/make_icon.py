#!/usr/bin/env python3
"""Draws the mailmfa icon (an envelope with a shield) as assets/mailmfa.png and assets/mailmfa.ico.

Pure Python (zlib only), run once by hand; the results are committed. Shapes are signed-distance
functions sampled 4x4 per pixel for smooth edges.
"""

import math
import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def rounded_box(px, py, cx, cy, hw, hh, r):
    """Signed distance to a rounded rectangle centred at (cx, cy)."""
    qx = abs(px - cx) - hw + r
    qy = abs(py - cy) - hh + r
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - r


def segment(px, py, ax, ay, bx, by):
    """Distance to the segment a-b."""
    pax, pay, bax, bay = px - ax, py - ay, bx - ax, by - ay
    h = max(0.0, min(1.0, (pax * bax + pay * bay) / (bax * bax + bay * bay)))
    return math.hypot(pax - bax * h, pay - bay * h)


def shield(px, py):
    """Inside test for the shield at the lower right (unit square coordinates)."""
    cx, top, bottom, half = 0.72, 0.50, 0.93, 0.17
    if py < top or py > bottom:
        return False
    t = (py - top) / (bottom - top)
    width = half if t < 0.45 else half * math.cos((t - 0.45) / 0.55 * math.pi / 2)
    return abs(px - cx) <= width


def colour_at(x, y):
    """RGBA of the point (x, y) in the unit square."""
    # Background tile: deep blue rounded square.
    if rounded_box(x, y, 0.5, 0.5, 0.47, 0.47, 0.12) > 0:
        return (0, 0, 0, 0)
    colour = (28, 86, 160, 255)
    # Envelope body.
    if rounded_box(x, y, 0.42, 0.45, 0.30, 0.20, 0.03) <= 0:
        colour = (250, 250, 252, 255)
        # Flap lines.
        if min(segment(x, y, 0.14, 0.27, 0.42, 0.48), segment(x, y, 0.70, 0.27, 0.42, 0.48)) < 0.018:
            colour = (28, 86, 160, 255)
    # Shield with a white outline, then a check mark.
    ox = 0.72 + (x - 0.72) / 0.86
    oy = 0.71 + (y - 0.71) / 0.86
    if shield(ox, oy) and not shield(x, y):
        colour = (250, 250, 252, 255)
    if shield(x, y):
        colour = (46, 160, 67, 255)
        if min(segment(x, y, 0.64, 0.69, 0.70, 0.76), segment(x, y, 0.70, 0.76, 0.81, 0.61)) < 0.022:
            colour = (250, 250, 252, 255)
    return colour


def render(size):
    """The icon at size x size pixels, as rows of RGBA bytes."""
    samples = 4
    rows = []
    for j in range(size):
        row = bytearray()
        for i in range(size):
            acc = [0, 0, 0, 0]
            for sj in range(samples):
                for si in range(samples):
                    r, g, b, a = colour_at((i + (si + 0.5) / samples) / size, (j + (sj + 0.5) / samples) / size)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            alpha = acc[3] / (samples * samples)
            if acc[3]:
                row += bytes([round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(alpha)])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return rows


def png(size):
    """A PNG file of the icon."""
    raw = b"".join(b"\x00" + row for row in render(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(sizes):
    """A Windows icon holding one PNG per size (Windows Vista and later read PNG entries)."""
    images = [png(s) for s in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for s, data in zip(sizes, images):
        out += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(images)


if __name__ == "__main__":
    ASSETS.mkdir(exist_ok=True)
    (ASSETS / "mailmfa.png").write_bytes(png(256))
    (ASSETS / "mailmfa.ico").write_bytes(ico([16, 32, 48, 256]))
    print("wrote", ASSETS / "mailmfa.png", "and", ASSETS / "mailmfa.ico")
