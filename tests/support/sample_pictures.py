"""Writes the sample pictures the screenshots show: photo-like PNGs (a sky, a sun, hills), made
with the standard library only, so no picture of anyone's is committed or fetched.

Usage: python3 sample_pictures.py DIR
"""
import math
import struct
import sys
import zlib
from pathlib import Path


def png(path, width, height, pixel):
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(pixel(x / width, y / height))
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def landscape(sky_top, sky_bottom, hill, sun):
    def pixel(u, v):
        ridge = 0.62 + 0.08 * math.sin(u * 7.0) + 0.04 * math.sin(u * 19.0 + 1.0)
        if v > ridge:
            shade = 1.0 - 0.5 * (v - ridge)
            return bytes(int(c * shade) for c in hill)
        if math.hypot(u - 0.72, (v - 0.3) * 0.6) < 0.07:
            return bytes(sun)
        return bytes(int(a + (b - a) * v) for a, b in zip(sky_top, sky_bottom))
    return pixel


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    png(out / "lead.png", 1200, 675, landscape((40, 90, 170), (250, 190, 120), (60, 110, 70), (255, 240, 200)))
    png(out / "city.png", 480, 360, landscape((90, 140, 200), (220, 230, 240), (120, 120, 130), (255, 255, 255)))
    png(out / "desert.png", 480, 480, landscape((230, 150, 90), (250, 220, 160), (190, 140, 80), (255, 250, 220)))


if __name__ == "__main__":
    main()
