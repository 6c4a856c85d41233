"""The mix: stems placed left to right, filtered, summed into a bus with EQ, compression and a reverb sized by
the spec's `space` (Spotify's pedalboard), then mastered to the loudness target.

Phase-safe by construction: stems are panned by level (constant power, never by delay or polarity), the
reverb is a send with width under 1, so the mix keeps its level summed to mono (a phone, one speaker).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from tools.form import form_table

# Where each part sits (-1 left .. 1 right), its level and how much of it goes to the reverb.
PLACES = {"bass": (0.0, 1.0, 0.05), "drums": (0.0, 0.9, 0.25), "chords": (-0.35, 0.8, 0.6),
          "pad": (0.3, 0.55, 0.9), "lead": (0.12, 0.85, 0.6), "accents": (-0.15, 0.8, 0.7)}
HIGHPASS_HZ = {"bass": 35.0, "drums": 30.0, "chords": 110.0, "pad": 150.0, "lead": 180.0, "accents": 40.0}
# How much of a stem's own stereo spread is kept (the soundfont's wide pad and piano samples, narrowed so the
# mix stays correlated; the bass is mono).
WIDTH = {"bass": 0.0, "drums": 0.8, "chords": 0.7, "pad": 0.6, "lead": 0.5, "accents": 0.3}


@dataclass(frozen=True)
class Stem:
    """One instrument's own audio (channels, frames) and the part it plays."""

    name: str
    part: str
    samples: object


def narrow(samples, width: float):
    """Mid/side: the side (L-R) scaled by `width` (0 mono, 1 as it was)."""
    import numpy as np

    mid, side = (samples[0] + samples[1]) / 2, (samples[0] - samples[1]) / 2 * width
    return np.stack([mid + side, mid - side])


def pan(samples, position: float):
    """Constant-power balance: the stem's own stereo image kept, its level shared between the sides."""
    import numpy as np

    angle = (position + 1.0) * math.pi / 4
    gains = np.array([[math.cos(angle)], [math.sin(angle)]], dtype=np.float32) * math.sqrt(2.0)
    return samples * gains


def place(stems: list[Stem], sample_rate: int) -> list[Stem]:
    """Every stem filtered below its range, panned and levelled: what the bus sums (the stems users take away).
    A second instrument of one part sits on the other side of the first."""
    from pedalboard import HighpassFilter, Pedalboard

    out, seen = [], {}
    for stem in stems:
        position, gain, _send = PLACES.get(stem.part, (0.0, 0.8, 0.5))
        if seen.get(stem.part):
            position = -position if position else 0.4 * (-1) ** seen[stem.part]
        seen[stem.part] = seen.get(stem.part, 0) + 1
        board = Pedalboard([HighpassFilter(cutoff_frequency_hz=HIGHPASS_HZ.get(stem.part, 100.0))])
        filtered = board(stem.samples, sample_rate)
        placed = pan(narrow(filtered, WIDTH.get(stem.part, 0.7)), position) * gain
        out.append(Stem(stem.name, stem.part, placed.astype("float32")))
    return out


def bus(stems: list[Stem], sample_rate: int, space: str | None):
    """The stems summed, compressed and brightened, with the space's reverb as a send."""
    import numpy as np
    from pedalboard import Compressor, Delay, HighpassFilter, HighShelfFilter, LowShelfFilter, Pedalboard, Reverb

    dry = np.sum([s.samples for s in stems], axis=0)
    room = form_table()["spaces"][space or "studio"]
    if room["wet"] > 0:
        send = np.sum([s.samples * PLACES.get(s.part, (0, 0, 0.5))[2] for s in stems], axis=0).astype("float32")
        reverb = Pedalboard([Delay(delay_seconds=room["predelay_ms"] / 1000, feedback=0.0, mix=1.0),
                             Reverb(room_size=room["room_size"], damping=0.45, wet_level=1.0, dry_level=0.0,
                                    width=room["width"]),
                             HighpassFilter(cutoff_frequency_hz=200.0)])  # a long tail below 200 Hz muddies the bass
        dry = dry + room["wet"] * reverb(send, sample_rate)
    master_bus = Pedalboard([LowShelfFilter(cutoff_frequency_hz=90, gain_db=1.0),
                             HighShelfFilter(cutoff_frequency_hz=6500, gain_db=3.0),
                             Compressor(threshold_db=-18, ratio=2.5, attack_ms=20, release_ms=180)])
    return master_bus(dry.astype("float32"), sample_rate)
