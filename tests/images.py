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


def colour_field(lightness: float, chroma: float, hue: float, size: int = 256, seed: int = 0) -> Image.Image:
    """A cover of one CIELAB colour (L*, C*, hue angle) with a soft disc and faint texture, so that it
    looks like a minimal cover rather than a test pattern."""
    import numpy as np
    from skimage.color import lab2rgb

    rng = np.random.default_rng(seed)
    a, b = chroma * math.cos(math.radians(hue)), chroma * math.sin(math.radians(hue))
    yy, xx = np.mgrid[0:size, 0:size] / size
    disc = (((xx - 0.5) ** 2 + (yy - 0.45) ** 2) < 0.06).astype(float)
    lum = lightness + 6 * disc - 3 + rng.normal(0, 1.0, (size, size))
    lab = np.stack([np.clip(lum, 0, 100), np.full_like(lum, a), np.full_like(lum, b)], -1)
    return Image.fromarray((np.clip(lab2rgb(lab), 0, 1) * 255).astype("uint8"))


def colour_sweep() -> list[tuple[dict, Image.Image]]:
    """Twelve covers on a 3 x 2 x 2 design: dark / mid / light, muted / vivid, blue / yellow."""
    out = []
    for lightness in (25, 50, 75):
        for chroma in (12, 45):
            for name, hue in (("blue", 270), ("yellow", 90)):
                out.append(({"lightness": lightness, "chroma": chroma, "hue": name},
                            colour_field(lightness, chroma, hue, seed=len(out))))
    return out


def pleasure_index(design: dict) -> float:
    """Lightness-saturation-warmth pleasure index of a sweep cover, from how it was made (Valdez & Mehrabian
    1994 brightness and saturation; Palmer et al. 2013 yellow over blue)."""
    return 0.5 * design["lightness"] / 100 + 0.2 * design["chroma"] / 50 + 0.3 * (design["hue"] == "yellow")


def arousal_index(design: dict) -> float:
    """Saturation-led arousal index of a sweep cover (Valdez & Mehrabian 1994: arousal rises with
    saturation, falls with brightness)."""
    return 0.7 * design["chroma"] / 50 + 0.3 * (1 - design["lightness"] / 100)


def text_cover(text: str, background=(10, 10, 10), ink=(200, 20, 20), size: int = 512) -> Image.Image:
    """Big block letters on a field, with a red splash: e.g. "DEATH METAL" over black and red."""
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    draw.polygon([(0, size), (size * 0.4, size * 0.55), (size, size * 0.75), (size, size)], fill=ink)
    font = ImageFont.load_default(size=size // 9)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - (box[2] - box[0])) / 2, size * 0.2), text, font=font, fill=(235, 235, 235))
    return img


def pastel_flowers(size: int = 384, seed: int = 3) -> Image.Image:
    """A light pastel field of soft pink and cream blossoms with green stems (photo-like, blurred)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), (236, 226, 240))
    draw = ImageDraw.Draw(img)
    for _ in range(14):
        x, y = rng.randrange(size), rng.randrange(size // 3, size)
        draw.line((x, y, x + rng.randrange(-20, 20), size), fill=(150, 190, 140), width=4)
        for k in range(5):
            a = k * 2 * math.pi / 5
            px, py = x + 16 * math.cos(a), y + 16 * math.sin(a)
            draw.ellipse((px - 14, py - 14, px + 14, py + 14), fill=rng.choice([(246, 196, 210), (250, 232, 200)]))
        draw.ellipse((x - 7, y - 7, x + 7, y + 7), fill=(245, 215, 120))
    return img.filter(ImageFilter.GaussianBlur(2))


if __name__ == "__main__":
    import sys

    night_cover().save(sys.argv[1] if len(sys.argv) > 1 else "covers/midnight-orbit.png", optimize=True)


CATALOG_STYLES = {  # what a small label's back catalogue might look like: picture style → known music
    "metal": {"genre": "metal", "tempo": 160, "key": 4, "mode": 0, "energy": 0.92, "valence": 0.18},
    "pop": {"genre": "pop", "tempo": 112, "key": 0, "mode": 1, "energy": 0.7, "valence": 0.85},
    "ambient": {"genre": "ambient", "tempo": 70, "key": 2, "mode": 1, "energy": 0.2, "valence": 0.45},
}


def catalog_cover(style: str, seed: int, size: int = 224) -> Image.Image:
    """A cover in one of CATALOG_STYLES: dark red and textured (metal), pastel shapes (pop), smooth grey-blue
    haze (ambient). Each seed varies the colours, shapes and their placement."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if style == "metal":
        base = np.array([55 + rng.integers(0, 40), 4 + rng.integers(0, 12), 6 + rng.integers(0, 12)], float)
        arr = base + rng.normal(0, 28, (size, size, 1)) * np.array([1.0, 0.3, 0.3])
        img = Image.fromarray(arr.clip(0, 255).astype("uint8"))
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(12, 25))):
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)]
            draw.line(pts, fill=(int(rng.integers(120, 200)), 10, 10), width=int(rng.integers(1, 4)))
        return img
    if style == "pop":
        back = tuple(int(v) for v in rng.integers(215, 250, 3))
        img = Image.new("RGB", (size, size), back)
        draw = ImageDraw.Draw(img)
        pastels = [(250, 190, 210), (190, 235, 215), (210, 200, 245), (255, 230, 180), (180, 220, 250)]
        for _ in range(int(rng.integers(3, 7))):
            x, y, r = (int(v) for v in (*rng.integers(0, size, 2), rng.integers(size // 10, size // 4)))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=pastels[int(rng.integers(0, len(pastels)))])
        return img.filter(ImageFilter.GaussianBlur(1))
    y = np.linspace(0, 1, size)[:, None, None]
    top = np.array([110, 125, 145]) + rng.integers(-15, 15, 3)
    bottom = np.array([60, 72, 90]) + rng.integers(-15, 15, 3)
    arr = top * (1 - y) + bottom * y + rng.normal(0, 2, (size, size, 1))
    return Image.fromarray(np.broadcast_to(arr, (size, size, 3)).clip(0, 255).astype("uint8")).filter(
        ImageFilter.GaussianBlur(3))


def write_catalog(folder, per_style: int = 8, start_seed: int = 0):
    """Covers of every style in `folder` and catalog.csv beside them (tempo jittered a little per cover)."""
    import csv
    from pathlib import Path

    folder = Path(folder)
    (folder / "covers").mkdir(parents=True, exist_ok=True)
    rows = []
    for style, attrs in CATALOG_STYLES.items():
        for k in range(per_style):
            seed = start_seed + k
            name = f"covers/{style}-{seed:03d}.png"
            catalog_cover(style, seed * 31 + len(style)).save(folder / name)
            rows.append({"cover": name, **attrs, "tempo": attrs["tempo"] + (k % 5) - 2})
    with open(folder / "catalog.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder / "catalog.csv"


# -- covers in a genre's visual idiom, drawn from the recipes of tests/data/understanding/covers.yaml ---------
def _idiom_ground(style: str, colours: list, size: int, rng: random.Random) -> Image.Image:
    import numpy as np

    first, second = tuple(colours[0]), tuple(colours[-1])
    if style == "stripes":
        img = Image.new("RGB", (size, size))
        draw = ImageDraw.Draw(img)
        band = size / len(colours)
        for k, colour in enumerate(colours):
            draw.rectangle((0, k * band, size, (k + 1) * band), fill=tuple(colour))
        return img
    if style in ("gradient", "sepia"):
        t = np.linspace(0, 1, size)[:, None, None]
        arr = (1 - t) * np.array(first) + t * np.array(second)
        arr = np.broadcast_to(arr, (size, size, 3)).copy()
        if style == "sepia":  # film grain and a vignette
            arr += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 14, arr.shape)
            yy, xx = np.mgrid[:size, :size] / size - 0.5
            arr *= (1 - 0.9 * (xx**2 + yy**2))[..., None]
        return Image.fromarray(arr.clip(0, 255).astype("uint8"))
    img = Image.new("RGB", (size, size), first)
    draw = ImageDraw.Draw(img)
    if style == "splatter":
        for _ in range(40):
            x, y, r = rng.uniform(0, size), rng.uniform(size * 0.35, size), rng.uniform(4, size / 9)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=second)
            for _drip in range(rng.randrange(3)):
                draw.line((x, y, x + rng.uniform(-8, 8), y + rng.uniform(20, 90)), fill=second, width=max(2, int(r / 4)))
    elif style == "neon":
        horizon = size * 0.55
        draw.ellipse((size * 0.3, horizon - size * 0.22, size * 0.7, horizon + size * 0.18), fill=second)
        draw.rectangle((0, horizon, size, size), fill=first)
        for k in range(1, 12):
            y = horizon + (size - horizon) * (k / 11) ** 1.8
            draw.line((0, y, size, y), fill=second, width=2)
        for k in range(-10, 11):
            draw.line((size / 2 + k * 12, horizon, size / 2 + k * size / 8, size), fill=second, width=2)
    elif style == "pastel":
        for _ in range(14):
            x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(size / 10, size / 4)
            draw.ellipse((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=second)
        img = img.filter(ImageFilter.GaussianBlur(size / 40))
    elif style == "flat":
        r = size * 0.28
        draw.ellipse((size / 2 - r, size * 0.55 - r, size / 2 + r, size * 0.55 + r), fill=second)
    return img


def _ransom(draw: ImageDraw.ImageDraw, text: str, y: float, size: int, colours: list, rng: random.Random) -> float:
    """Cut-out letters: each on its own scrap of paper, its own size, tilted by a different baseline; a word
    that would run off the cover starts a new row, as a person pasting them would. Returns the y below."""
    letters = []  # (char, font, box, dy, paper), drawn from rng in the order the letters come
    for ch in text:
        if ch == " ":
            letters.append((ch, None, None, 0.0, None))
            continue
        font = ImageFont.load_default(size=int(size / rng.uniform(9, 12)))
        dy = rng.uniform(-size * 0.015, size * 0.015)
        paper = tuple(rng.choice(colours + [[255, 255, 255], [20, 20, 20]]))
        letters.append((ch, font, draw.textbbox((0, 0), ch, font=font), dy, paper))
    words, word = [], []
    for letter in letters + [(" ", None, None, 0.0, None)]:
        if letter[0] == " ":
            words, word = (words + [word] if word else words), []
        else:
            word.append(letter)

    def width(w: list) -> float:
        return sum(box[2] - box[0] + size * 0.02 for _ch, _f, box, _dy, _p in w)

    left = x = size * 0.06
    for w in words:
        if x > left and x + width(w) > size * 0.96:
            x, y = left, y + size * 0.12
        for ch, font, box, dy, paper in w:
            cw, ch_h = box[2] - box[0], box[3] - box[1]
            ink = (255, 255, 255) if sum(paper) < 200 else (10, 10, 10)
            draw.rectangle((x - 4, y + dy + box[1] - 4, x + cw + 4, y + dy + box[1] + ch_h + 6), fill=paper)
            draw.text((x - box[0], y + dy), ch, font=font, fill=ink)
            x += cw + size * 0.02
        x += size * 0.04
    return y


def idiom_cover(recipe: dict, size: int = 512) -> Image.Image:
    """A cover from a recipe of tests/data/understanding/covers.yaml: its ground in a genre's idiom, then its
    words, the first line big, the others smaller beneath it."""
    rng = random.Random(recipe["title"])
    img = _idiom_ground(recipe["style"], recipe["colours"], size, rng)
    draw = ImageDraw.Draw(img)
    y = size * 0.08
    for k, line in enumerate(recipe["lines"]):
        if recipe["style"] == "ransom":
            y = _ransom(draw, str(line), y, size, recipe["colours"], rng) + size * 0.2
            continue
        font = ImageFont.load_default(size=int(size / (10 if k == 0 else 17)))
        box = draw.textbbox((0, 0), str(line), font=font)
        while box[2] - box[0] > size * 0.92:  # long titles shrink to fit
            font = ImageFont.load_default(size=int(font.size * 0.9))
            box = draw.textbbox((0, 0), str(line), font=font)
        draw.text(((size - (box[2] - box[0])) / 2 - box[0], y), str(line), font=font, fill=tuple(recipe["ink"]))
        y += (box[3] - box[1]) * 1.6
    return img
