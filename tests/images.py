"""Synthetic album covers for tests and the demo cover in covers/ (drawn with Pillow, no downloads)."""
from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont


def night_cover(title: str = "MIDNIGHT ORBIT", size: int = 768, seed: int = 7) -> Image.Image:
    """A dark blue/purple night sky with stars, a ringed planet and a bold title."""
    rng = random.Random(seed)
    img = Image.new("RGB", (size, size))
    px = img.load()
    for y in range(size):
        t = y / size
        row = (int(12 + 40 * t), int(10 + 12 * t), int(40 + 70 * t))
        for x in range(size):
            px[x, y] = row
    draw = ImageDraw.Draw(img)
    for _ in range(260):
        x, y, r = rng.randrange(size), rng.randrange(size), rng.choice((1, 1, 1, 2))
        v = rng.randrange(170, 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(v, v, min(255, v + 20)))
    cx, cy, pr = size // 2, int(size * 0.45), size // 6
    glow = Image.new("RGB", (size, size))
    ImageDraw.Draw(glow).ellipse((cx - pr - 30, cy - pr - 30, cx + pr + 30, cy + pr + 30), fill=(120, 40, 160))
    img = Image.blend(img, glow.filter(ImageFilter.GaussianBlur(40)), 0.35)
    draw = ImageDraw.Draw(img)
    draw.ellipse((cx - pr, cy - pr, cx + pr, cy + pr), fill=(190, 60, 150), outline=(240, 150, 210), width=3)
    for k in range(3):
        a = 2.2 * pr + k * 18
        draw.ellipse((cx - a, cy - a * 0.28, cx + a, cy + a * 0.28), outline=(230, 200, 120), width=2)
    font = ImageFont.load_default(size=size // 11)
    box = draw.textbbox((0, 0), title, font=font)
    draw.text(((size - (box[2] - box[0])) / 2, size * 0.8), title, font=font, fill=(245, 240, 230))
    return img


def sunny_cover(size: int = 256) -> Image.Image:
    """A bright, warm, low-detail cover: yellow sun on orange sky."""
    img = Image.new("RGB", (size, size), (250, 170, 60))
    draw = ImageDraw.Draw(img)
    r = size // 4
    draw.ellipse((size / 2 - r, size / 2 - r, size / 2 + r, size / 2 + r), fill=(255, 235, 90))
    for k in range(12):
        a = k * math.pi / 6
        draw.line((size / 2, size / 2, size / 2 + 1.8 * r * math.cos(a), size / 2 + 1.8 * r * math.sin(a)),
                  fill=(255, 220, 80), width=4)
    return img


if __name__ == "__main__":
    import sys

    night_cover().save(sys.argv[1] if len(sys.argv) > 1 else "covers/midnight-orbit.png", optimize=True)
