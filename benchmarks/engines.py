"""Engines side by side: seconds of compute per second of audio for every music engine, on the same spec,
interleaved in one process so that each sees the same machine load.

    .venv/bin/python benchmarks/engines.py [--seconds 4] [--runs 3] [--device cpu] [--acestep ID] [--stable-audio ID]

Without ids it times the tiny random ACE-Step and Stable Audio pipelines the tests build (architecture and
sample rate as the real ones, a few layers of width 32) beside the tiny MusicGen and the sketch renderer: a
measure of each engine's fixed cost here (text encoding, the VAE decoding 44.1/48 kHz stereo, mastering), not
of the real models. With hub ids or local folders of real weights (a GPU machine) it times those.
Prints seconds per audio second and each engine's ratio to the fastest.
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

from tests.models import tiny_acestep, tiny_musicgen, tiny_stable_audio  # noqa: E402


def engines(args) -> dict[str, tuple[str, dict]]:
    """name -> (backend, options)."""
    scratch = Path(tempfile.mkdtemp(prefix="engines-"))
    ace = args.acestep or str(tiny_acestep(scratch / "acestep"))
    stable = args.stable_audio or str(tiny_stable_audio(scratch / "stable-audio"))
    device = {"device": args.device}
    return {
        "sketch": ("sketch", {}),
        "musicgen (tiny)": ("musicgen", {"model": str(tiny_musicgen(scratch / "musicgen")), **device}),
        f"acestep ({'tiny' if not args.acestep else ace}, {args.ace_steps} steps)":
            ("acestep", {"model": ace, "steps": args.ace_steps, **device}),
        f"stable-audio ({'tiny' if not args.stable_audio else stable}, {args.sa_steps} steps)":
            ("stable-audio", {"model": stable, "steps": args.sa_steps, **device}),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--acestep", help="hub id or folder of real ACE-Step 1.5 weights (default: the tiny one)")
    ap.add_argument("--stable-audio", help="hub id or folder of real Stable Audio Open weights (default: the tiny one)")
    ap.add_argument("--ace-steps", type=int, default=8)
    ap.add_argument("--sa-steps", type=int, default=100)
    args = ap.parse_args()

    import torch

    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.prompt import render_prompt
    from tools.spec import MusicSpec

    if args.device == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))
    spec = MusicSpec(genre="jazz", moods=("calm",), energy=0.3, valence=0.5, tempo_bpm=96, key="A", mode="minor",
                     time_signature="4/4", instruments=("piano", "upright bass", "drums"))
    params = GenerationParams(duration_s=args.seconds, seed=0)
    tools = {name: MUSIC_BACKENDS.create(backend, options) for name, (backend, options) in engines(args).items()}
    prompts = {name: render_prompt(spec, tool.prompt_template) for name, tool in tools.items()}
    for name, tool in tools.items():  # warm-up (and load) outside the timing
        tool.generate(spec, prompts[name], params)
    times: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(args.runs):
        for name, tool in tools.items():
            start = time.perf_counter()
            audio = tool.generate(spec, prompts[name], params)
            times[name].append(time.perf_counter() - start)
            assert abs(audio.duration_s - args.seconds) < 0.05, (name, audio.duration_s)
    per = {name: median(t) / args.seconds for name, t in times.items()}
    fastest = min(per.values())
    rows = [(name, f"{getattr(tools[name].options, 'sample_rate', None) or tools[name].sample_rate}",
             f"{median(times[name]):.2f} s", f"{per[name]:.3f}", f"{per[name] / fastest:.1f}x") for name in tools]
    print(f"\n{args.seconds:g} s of audio per take, {args.device}, {torch.get_num_threads()} threads, median of {args.runs}")
    print(table(rows, ("engine", "Hz", "wall", "s per audio s", "vs fastest")))


if __name__ == "__main__":
    main()
