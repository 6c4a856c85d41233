"""Streaming: time to first audio with `--stream` against waiting for the whole take, AlbumGen's music tool on
the real-size musicgen-small architecture with random weights (no download), interleaved in one process.

    .venv/bin/python benchmarks/stream.py [--seconds 10] [--runs 5] [--chunk 2] [--device cpu]

Prints, per mode, the wall time of the take and when its first audio was on disk (the growing
audio.partial.wav), and what streaming costs in total time.
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
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the take (the config default is 10)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chunk", type=float, default=2.0, help="stream_chunk_s")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.spec import MusicSpec
    from tools.stream import PartialTakes

    folder = Path(tempfile.mkdtemp(prefix="musicgen-small-"))
    real_size_musicgen("small", folder)
    tool = MUSIC_BACKENDS.create("musicgen", {"model": str(folder), "device": args.device,
                                              "stream_chunk_s": args.chunk})
    spec = MusicSpec(genre="jazz", moods=("calm",), tempo_bpm=96, key="A", mode="minor", instruments=("piano",))
    params = GenerationParams(duration_s=args.seconds, seed=0)
    prompt = "calm jazz piano, 96 bpm, a minor"
    out = Path(tempfile.mkdtemp(prefix="albumgen-stream-"))

    def whole():
        tool.generate(spec, prompt, params)
        return None

    def streamed():
        sink = PartialTakes(out, 1)
        tool.generate(spec, prompt, params, sink)
        sink.finish()
        return sink.first_audio_s

    tool.generate(spec, prompt, GenerationParams(duration_s=1.0, seed=0))  # load and warm up outside the timing
    runs: dict[str, dict[str, list]] = {name: {"total": [], "first": []} for name in ("whole take", "--stream")}
    for _ in range(args.runs):  # interleaved: both see the same machine load
        for name, fn in (("whole take", whole), ("--stream", streamed)):
            start = time.perf_counter()
            first = fn()
            total = time.perf_counter() - start
            runs[name]["total"].append(total)
            runs[name]["first"].append(total if first is None else first)
    base = median(runs["whole take"]["total"])
    rows = [(name, f"{median(r['total']):.2f} s", f"{median(r['first']):.2f} s",
             f"{median(r['first']) / median(r['total']):.2f}", f"{median(r['total']) / base:.2f}")
            for name, r in runs.items()]
    print(f"\nmusicgen-small architecture, random weights, {args.device}, {args.seconds:g} s take, "
          f"chunks of {args.chunk:g} s, median of {args.runs}")
    print(table(rows, ("mode", "take done", "first audio on disk", "first / done", "total vs whole")))
    print(f"time to first audio: {median(runs['--stream']['first']):.2f} s with --stream vs {base:.2f} s without "
          f"({base / median(runs['--stream']['first']):.1f}x sooner)")


if __name__ == "__main__":
    main()
