"""Orchestration overhead: full offline-profile runs (offline describer, SmolLM2 GGUF agent) with the
real-size musicgen-small architecture (random weights, no download) making the music, and the share of each
run's wall time spent outside model forward passes.

    .venv/bin/python benchmarks/overhead.py [--runs 5] [--seconds 10]

Forward passes are timed where they happen: every outermost torch module call (EfficientNet-Lite0,
MusicGen's T5, decoder and EnCodec), onnxruntime sessions (PP-OCRv4) and llama.cpp evaluation (SmolLM2).
The first run also loads every model; the table shows it apart from the median of the warm runs.
Verification is off: random weights cannot meet a spec, so it would only repeat the take.
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table  # noqa: E402

from tests.models import real_size_musicgen  # noqa: E402

KINDS = ("vision (torch)", "OCR (onnxruntime)", "agent LLM (llama.cpp)", "MusicGen (torch)")


class ForwardClock:
    """Adds up the time spent inside model forward passes, by kind; nested calls count once."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)
        self._depth = 0

    def wrap(self, fn, kind_of):
        clock = self

        @functools.wraps(fn)
        def timed(obj, *args, **kwargs):
            if clock._depth:
                return fn(obj, *args, **kwargs)
            clock._depth += 1
            start = time.perf_counter()
            try:
                return fn(obj, *args, **kwargs)
            finally:
                clock.spent[kind_of(obj)] += time.perf_counter() - start
                clock._depth -= 1

        return timed

    def install(self) -> None:
        import llama_cpp
        import onnxruntime
        import torch

        def torch_kind(module):
            name = type(module).__module__
            return KINDS[3] if any(k in name for k in ("musicgen", "encodec", "t5")) else KINDS[0]

        torch.nn.Module.__call__ = self.wrap(torch.nn.Module.__call__, torch_kind)
        onnxruntime.InferenceSession.run = self.wrap(onnxruntime.InferenceSession.run, lambda _s: KINDS[1])
        llama_cpp.Llama.eval = self.wrap(llama_cpp.Llama.eval, lambda _s: KINDS[2])


def bench_config(music_dir: Path, out: Path) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    profile = dict(data["profiles"]["offline"])
    profile["music"] = {"backend": "musicgen", "model": str(music_dir), "device": "cpu"}
    data["profiles"]["bench"] = profile
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="warm runs after the first (cold) one")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    from agent.api import AlbumGen
    from agent.config import load_config

    work = Path(tempfile.mkdtemp(prefix="albumgen-overhead-"))
    real_size_musicgen("small", work / "musicgen-small")
    app = AlbumGen(load_config(bench_config(work / "musicgen-small", work)), profile="bench")
    clock = ForwardClock()
    clock.install()
    rows = []
    for run in range(args.runs + 1):
        clock.spent.clear()
        start = time.perf_counter()
        result = app.generate(ROOT / "covers" / "midnight-orbit.png", out_dir=work / "out", duration=args.seconds,
                              seed=run, verify=False, log=False, force=True)
        wall = time.perf_counter() - start
        forward = sum(clock.spent.values())
        rows.append({"wall": wall, **{k: clock.spent[k] for k in KINDS}, "outside": wall - forward,
                     "stages": dict(result.trace.timings_ms)})
    warm = rows[1:]

    def cells(label, picked):
        med = {k: median([r[k] for r in picked]) for k in ("wall", "outside", *KINDS)}
        return (label, f"{med['wall']:.2f} s", *(f"{med[k]:.2f} s" for k in KINDS), f"{med['outside']:.2f} s",
                f"{100 * med['outside'] / med['wall']:.1f} %")

    print(f"\nfull offline-profile run, {args.seconds:g} s take by the musicgen-small architecture (random weights, "
          f"CPU), verification off; warm = median of {args.runs}")
    print(table([cells("first run (loads models)", rows[:1]), cells("warm runs", warm)],
                ("run", "wall", *KINDS, "outside forward", "outside %")))
    stages = {k: median([r["stages"].get(k, 0) for r in warm]) for k in warm[0]["stages"]}
    print("warm stage times (trace.timings_ms, median): " + " · ".join(f"{k} {v / 1000:.2f} s" for k, v in stages.items()))


if __name__ == "__main__":
    main()
