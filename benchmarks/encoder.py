"""What reading a cover's words costs with each sentence encoder the offline describer takes: all-mpnet-base-v2
(the default) against all-MiniLM-L6-v2, side by side in one run of this script.

- cold: a fresh process reads one cover's words (torch imported, weights loaded, the anchors' vectors read from
  the cache, which an untimed run fills first), with its peak RSS;
- warm: the words of each drawn cover of the last two held-out sets read in one process, median per cover;
- right: how many of those covers' genres the encoder alone puts first among those a listener accepts (the
  prior weighs it beside the colours: benchmarks/understanding.py scores the whole reader).

    .venv/bin/python benchmarks/encoder.py [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from benchmarks._util import median, table  # noqa: E402

MODELS = ["sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2"]
CHILD = """
import json, resource, sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from tools.grounding.encoder import read_genre
read_genre("THE REVOLVERS / Loud Guitars, Louder Hearts", {model!r})
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def cold(model: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(HERE), model=model)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per encoder (interleaved)")
    args = parser.parse_args()
    import time

    from tests.understanding import cover_set
    from tools.grounding.encoder import read_genre

    covers = [c for c in cover_set() if c["split"] in ("held_out_30", "held_out_31")]
    for model in MODELS:
        cold(model)  # fills the anchor cache (and unpacks a split model) untimed
    colds: dict[str, list[dict]] = {m: [] for m in MODELS}
    for _ in range(args.runs):
        for model in MODELS:
            colds[model].append(cold(model))
    rows, per = [], {}
    for model in MODELS:
        read_genre("warm-up", model)
        times, right = [], 0
        for cover in covers:
            start = time.perf_counter()
            reading = read_genre(" / ".join(cover["lines"]), model)
            times.append(time.perf_counter() - start)
            right += reading.top[0] in cover["accept"]
        per[model] = median(times)
        rows.append((model.rsplit("/", 1)[-1], f"{median([c['seconds'] for c in colds[model]]):.2f} s",
                     f"{max(c['rss_mb'] for c in colds[model]):.0f} MB", f"{1000 * per[model]:.1f} ms",
                     f"{right}/{len(covers)}"))
    print(table(rows, ("encoder", "cold (fresh process)", "peak RSS", "warm, per cover", "encoder alone right")))
    print(f"warm per cover, mpnet / MiniLM: {per[MODELS[1]] / per[MODELS[0]]:.1f}x")


if __name__ == "__main__":
    main()
