"""Takes: `--takes N` makes N variations as one batch. AlbumGen's music tool with N takes against one take,
the real-size musicgen-small architecture with random weights (no download), interleaved in one process.

    .venv/bin/python benchmarks/takes.py [--takes 4] [--runs 5] [--seconds 2] [--device cpu] [--dtype float32]

Prints the wall time for 1 and N takes, the N/1 time ratio and the time per take.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table  # noqa: E402

from tests.models import real_size_musicgen  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--takes", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--size", default="small")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()

    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.spec import MusicSpec

    folder = Path(tempfile.mkdtemp(prefix=f"musicgen-{args.size}-"))
    real_size_musicgen(args.size, folder)
    tool = MUSIC_BACKENDS.create("musicgen", {"model": str(folder), "device": args.device, "dtype": args.dtype})
    spec = MusicSpec(genre="jazz", moods=("calm",), tempo_bpm=96, key="A", mode="minor", instruments=("piano",))
    params = GenerationParams(duration_s=args.seconds, seed=0)
    prompt = "calm jazz piano, 96 bpm, a minor"
    counts = (1, args.takes)
    for n in counts:  # warm-up (and load) outside the timing
        tool.generate_takes(spec, prompt, params, n)
    times: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.runs):  # interleaved: both see the same machine load
        for n in counts:
            start = time.perf_counter()
            takes = tool.generate_takes(spec, prompt, params, n)
            times[n].append(time.perf_counter() - start)
            assert len(takes) == n
    one = median(times[1])
    rows = [(n, f"{median(times[n]):.2f} s", f"{median(times[n]) / n:.2f} s", f"{median(times[n]) / one:.2f}",
             f"{n * one / median(times[n]):.2f}x") for n in counts]
    quant = "int8 decoder" if tool.quantized(args.device) else "no quantisation"
    print(f"\nmusicgen-{args.size} architecture, random weights, {args.device} {args.dtype}, {quant}, "
          f"{args.seconds:g} s per take, median of {args.runs}")
    print(table(rows, ("takes", "wall", "per take", "time vs 1 take", "takes per second vs 1 by 1")))
    print(f"N={args.takes} vs N=1 time ratio: {median(times[args.takes]) / one:.2f}")


if __name__ == "__main__":
    main()
