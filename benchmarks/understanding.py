"""Does AlbumGen read words as a musician would? Scores the language reader on the sets of
tests/data/understanding/, written and split before the reader was tuned:

- chat phrasings (negations, "too X", idioms, inflections, instruments removed, scenes, named styles), each
  read against its starting plan exactly as chat reads it (no model preference: the reader alone), right when
  every field moves the way its listener meant; inverted negations are counted separately;
- covers drawn in a genre's visual idiom with words on them, read by the offline describer (PP-OCRv4) into
  the prior, right when the prior's genre is one a listener accepts and every stated key, mode, tempo and
  instrument is obeyed.

Each held-out set (held_out, held_out_2, ...) was written and committed before it was first run; the README
gives each set's first-run figure, as the reader then stood.

Prints accuracy on the tuning and the held-out half of each; report the held-out figures.

    .venv/bin/python benchmarks/understanding.py [--show-misses] [--split tuning]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.understanding import cover_outcome, cover_set, phrasing_outcome, phrasing_set, score, sweep_rows  # noqa: E402


def _splits(outcomes) -> list[str]:
    """The splits the outcomes hold: tuning and the sweeps first, then held_out, held_out_2, ... in order."""
    return sorted({o.split for o in outcomes}, key=lambda s: (s not in ("tuning", "sweep"), len(s), s))


def _line(name: str, outcomes) -> str:
    parts = []
    for split in _splits(outcomes):
        right, total = score(outcomes, split)
        parts.append(f"{split} {right}/{total} ({100 * right / max(total, 1):.0f} %)")
    return f"{name:<24}" + "   ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show-misses", action="store_true", help="print every case read wrongly")
    parser.add_argument("--split", help="score only this split (tuning while tuning: the held-out ones stay unseen)")
    args = parser.parse_args()
    from tools.vision.offline import OfflineDescriber

    def wanted(row) -> bool:
        return args.split is None or row["split"] == args.split

    phrasings = [phrasing_outcome(row) for row in phrasing_set()["phrasings"] if wanted(row)]
    describer = OfflineDescriber()
    covers = [cover_outcome(recipe, describer) for recipe in cover_set() if wanted(recipe)]
    print(_line("phrasings", phrasings))
    for tag in ("negation", "too", "idiom", "inflection", "removal", "scene", "null"):
        print(_line(f"  {tag}", [o for o in phrasings if tag in o.tags]))
    for split in _splits(phrasings):
        bad = [o.text for o in phrasings if o.split == split and "negation" in o.tags and o.inverted]
        print(f"  negations inverted, {split}: {len(bad)}" + (f" ({'; '.join(bad)})" if bad else ""))
    if args.split in (None, "sweep"):  # the vocabulary sweeps: a tuning set, what the tables cover
        sweeps = [phrasing_outcome(row) for row in sweep_rows()]
        phrasings += sweeps
        print(_line("sweeps (tuning)", sweeps))
    print(_line("idiom covers", covers))
    if args.show_misses:
        for o in phrasings + covers:
            if not o.right:
                print(f"  miss [{o.split}] {o.text!r}: {', '.join(o.misses)}")


if __name__ == "__main__":
    main()
