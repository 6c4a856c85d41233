"""evidence.png: the cover's evidence as a picture a person can check against the cover: the cover with the
boxes of the text OCR read and of the paper scraps cut-out lettering counted, the palette swatches with their
shares, the labels with their confidence (the uncertain ones greyed) and the measured lightness, chroma and
warmth."""
from __future__ import annotations

import io

from tools.grounding.evidence import EvidenceSet

WIDTH, SIDE, PAD = 960, 420, 16
LETTERING = (30, 110, 230)  # the scraps cut-out lettering counted, and its line


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def evidence_picture(image, evidence: EvidenceSet) -> bytes:
    """A PNG (bytes) of the cover beside its evidence."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (WIDTH, SIDE + 2 * PAD + 140), (250, 250, 247))
    cover = image.convert("RGB").copy()
    cover.thumbnail((SIDE, SIDE))
    canvas.paste(cover, (PAD, PAD))
    draw = ImageDraw.Draw(canvas)
    for item in evidence.of_kind("text", certain=False):
        box = item.detail.get("box")
        if box:
            pts = [(PAD + x * cover.width, PAD + y * cover.height) for x, y in box]
            draw.polygon(pts, outline=(255, 40, 40), width=3)
            draw.text((pts[0][0], max(PAD, pts[0][1] - 16)), item.id, fill=(255, 40, 40), font=_font(14))
    for item in evidence.of_kind("lettering"):  # each scrap counted, so the count can be checked by eye
        boxes = item.detail.get("boxes") or []
        for left, top, right, bottom in boxes:
            draw.rectangle((PAD + left * cover.width, PAD + top * cover.height, PAD + right * cover.width,
                            PAD + bottom * cover.height), outline=LETTERING, width=2)
        if boxes:
            left, top = boxes[0][:2]
            draw.text((PAD + left * cover.width, PAD + top * cover.height + 2), item.id, fill=LETTERING,
                      font=_font(12))
    x0, y = SIDE + 2 * PAD, PAD
    y = _swatches(draw, evidence, x0, y)
    y = _labels(draw, evidence, x0, y + 10)
    _measures(draw, evidence, PAD, SIDE + 2 * PAD)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _swatches(draw, evidence: EvidenceSet, x0: int, y: int) -> int:
    palette = evidence.first("palette")
    if palette is None:
        return y
    draw.text((x0, y), f"{palette.id} palette (share of pixels)", fill=(20, 20, 20), font=_font(16))
    y += 24
    bar = WIDTH - x0 - PAD - 150
    for s in palette.detail.get("swatches", []):
        draw.rectangle((x0, y, x0 + 28, y + 22), fill=tuple(s["rgb"]), outline=(90, 90, 90))
        draw.rectangle((x0 + 36, y + 6, x0 + 36 + int(bar * s["share"]), y + 16), fill=tuple(s["rgb"]),
                       outline=(90, 90, 90))
        draw.text((x0 + 44 + int(bar * s["share"]), y + 3), f"{s['name']} {round(s['share'] * 100)}%",
                  fill=(20, 20, 20), font=_font(14))
        y += 28
    return y


def _labels(draw, evidence: EvidenceSet, x0: int, y: int) -> int:
    labels = evidence.of_kind("label", certain=False)
    texts = evidence.of_kind("text", "text_affect", "lettering", certain=False)
    answers = evidence.of_kind("subject", "setting", "style", "era", "mood")
    if labels:
        draw.text((x0, y), "what is pictured (ImageNet, confidence)", fill=(20, 20, 20), font=_font(16))
        y += 24
    for item in labels:
        colour = (160, 160, 160) if item.uncertain else (40, 110, 60)
        width = int(200 * float(item.confidence or 0))
        draw.rectangle((x0, y + 4, x0 + max(width, 1), y + 16), fill=colour)
        tag = " (uncertain)" if item.uncertain else ""
        draw.text((x0 + 210, y + 2), f"{item.id} {item.value} {float(item.confidence or 0):.2f}{tag}", fill=colour,
                  font=_font(14))
        y += 22
    import textwrap

    for item in texts + answers:
        colour = (120, 30, 30) if item.kind.startswith("text") else LETTERING if item.kind == "lettering" \
            else (30, 30, 120)
        for line in textwrap.wrap(f"{item.id} {item.text}", 62)[:3]:
            draw.text((x0, y + 4), line, fill=colour, font=_font(14))
            y += 20
    return y


def _measures(draw, evidence: EvidenceSet, x0: int, y: int) -> None:
    scales = {"lightness": (0, 100), "chroma": (0, 60), "warmth": (-40, 40), "contrast": (0, 40)}
    for k, (kind, (lo, hi)) in enumerate(scales.items()):
        item = evidence.first(kind)
        if item is None:
            continue
        yy = y + k * 32
        draw.text((x0, yy), f"{item.id} {item.text}"[:60], fill=(20, 20, 20), font=_font(14))
        gx = x0 + 480
        draw.rectangle((gx, yy + 4, gx + 400, yy + 14), outline=(120, 120, 120))
        pos = int(400 * (float(item.value) - lo) / (hi - lo))
        draw.rectangle((gx + max(0, min(400, pos)) - 2, yy, gx + max(0, min(400, pos)) + 2, yy + 18), fill=(200, 30, 30))


def neighbours_picture(neighbours, side: int = 128) -> bytes:
    """A strip of the catalogue's nearest covers, each captioned with its similarity and genre (catalog.png)."""
    import io

    from PIL import Image, ImageDraw

    strip = Image.new("RGB", (max(1, len(neighbours)) * (side + 8) + 8, side + 44), "white")
    draw = ImageDraw.Draw(strip)
    for k, n in enumerate(neighbours):
        x = 8 + k * (side + 8)
        try:
            with Image.open(n.cover) as img:
                strip.paste(img.convert("RGB").resize((side, side)), (x, 8))
        except OSError:  # the catalogue's file moved: its caption still says what it was
            draw.rectangle((x, 8, x + side, 8 + side), outline="grey")
        draw.text((x, side + 12), f"{n.similarity:.2f} {n.attributes.genre}", fill="black", font=_font(12))
        draw.text((x, side + 26), f"{n.attributes.tempo:.0f} BPM", fill="black", font=_font(12))
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    return buf.getvalue()
