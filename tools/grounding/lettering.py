"""Cut-out lettering: letters pasted on scraps of paper, each scrap its own rectangle around one glyph.

Jamie Reid's ransom-note lettering for the Sex Pistols ("God Save the Queen", "Never Mind the Bollocks", 1977)
and the cut-and-paste fanzines of the same year (Sniffin' Glue) made it punk's look; hardcore flyers and
mixtape covers took it up after. It is a look of the letters, not of the colours, so the palette cannot see
it, and it scatters OCR ('SMAS H THE', 'Kill You / andlord'), so the words alone often miss it.

The measure: regions of one flat colour (colours binned, the cover at a fixed size) that fill their bounding
box as a rectangle does, sized as a letter's scrap is, and that hold something of another colour inside (the
glyph). Drawn covers of every other look hold 0-3 such regions, cut-out lettering 10-37
(tests/data/understanding/covers.yaml, every style). The rule's thresholds and genres are in
prompts/associations.yaml `lettering`.
"""
from __future__ import annotations

from typing import Any

SIZE = 384       # the cover is measured at this size
COLOUR_BIN = 24  # RGB values within one bin are one flat colour (paper scans are not perfectly flat)


def cut_out_scraps(image, min_side: float = 0.015, max_side: float = 0.2, min_fill: float = 0.85,
                   min_hole: float = 0.04) -> list[dict[str, Any]]:
    """The letter-sized, flat, rectangular regions of `image` with a glyph inside: for each, its box (fractions
    of the cover) and its colour. `min_fill`: the share of the bounding box the region fills once its holes
    are filled; `min_hole`: the share of that the glyph takes."""
    import numpy as np
    from scipy import ndimage
    from skimage.measure import label

    rgb = np.asarray(image.convert("RGB").resize((SIZE, SIZE)), dtype=np.int32)
    binned = rgb // COLOUR_BIN
    code = (binned[..., 0] * 16 + binned[..., 1]) * 16 + binned[..., 2]
    regions = label(code, background=-1, connectivity=1)
    lo, hi = min_side * SIZE, max_side * SIZE
    boxes = ndimage.find_objects(regions)
    areas = np.bincount(regions.ravel())
    scraps = []
    for number in np.nonzero(areas >= lo * lo / 2)[0]:  # a photograph has thousands of specks: skip them first
        box = boxes[number - 1] if number > 0 else None  # regions are numbered from 1
        if box is None:
            continue
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        if not (lo <= h <= hi and lo <= w <= hi) or areas[number] < 0.1 * h * w:  # a glyph never fills a scrap
            continue
        mask = regions[box] == number
        filled = int(ndimage.binary_fill_holes(mask).sum())
        if filled < min_fill * h * w or filled - int(mask.sum()) < min_hole * filled:
            continue
        y, x = np.argwhere(mask)[0]
        scraps.append({"box": [round(box[1].start / SIZE, 3), round(box[0].start / SIZE, 3),
                               round(box[1].stop / SIZE, 3), round(box[0].stop / SIZE, 3)],
                       "rgb": [int(v) for v in rgb[box][y, x]]})
    return scraps
