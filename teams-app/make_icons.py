"""Draw the Teams app's icons (a clock face) with the standard library alone.

color.png: 192x192, a white clock on caseclock's blue (the manifest's accentColor).
outline.png: 32x32, the same clock in white on a transparent background, as Teams asks.
Run `python teams-app/make_icons.py` to redraw them; the files are committed.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (0x1F, 0x5C, 0x99)  # the manifest's accentColor, #1F5C99
WHITE = (0xFF, 0xFF, 0xFF)


def png(width: int, height: int, rgba: list[tuple[int, ...]]) -> bytes:
    """A PNG (8-bit RGBA, no interlace) of `rgba`, row by row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"".join(bytes(p) for p in rgba[y * width:(y + 1) * width])
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from (px, py) to the segment from (ax, ay) to (bx, by)."""
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def clock(size: int, stroke: float) -> Callable[[float, float], float]:
    """How much of the pixel centred at (x, y) the clock's ring and hands cover (0 to 1):
    a ring, a hand to twelve and a hand to three, with round ends."""
    c = size / 2
    r = size * 0.36

    def cover(x: float, y: float) -> float:
        ring = abs(math.hypot(x - c, y - c) - r)
        hands = min(_segment(x, y, c, c, c, c - r * 0.62),
                    _segment(x, y, c, c, c + r * 0.45, c))
        d = min(ring, hands) - stroke / 2
        return max(0.0, min(1.0, 0.5 - d))  # a pixel's width of anti-aliasing

    return cover


def color_icon(size: int = 192) -> bytes:
    """The colour icon: the clock in white on the accent colour, edge to edge."""
    cover = clock(size, size * 0.07)
    pixels = []
    for y in range(size):
        for x in range(size):
            a = cover(x + 0.5, y + 0.5)
            pixels.append((*(round(b + (w - b) * a) for b, w in zip(ACCENT, WHITE, strict=True)),
                           255))
    return png(size, size, pixels)


def outline_icon(size: int = 32) -> bytes:
    """The outline icon: white, its coverage as alpha, transparent elsewhere."""
    cover = clock(size, 2.2)
    return png(size, size, [(*WHITE, round(255 * cover(x + 0.5, y + 0.5)))
                            for y in range(size) for x in range(size)])


def main() -> None:
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())


if __name__ == "__main__":
    main()
