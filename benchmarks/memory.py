"""Long takes in bounded memory: peak RSS of a 120 s take against a 30 s take, AlbumGen's music tool on the
real-size musicgen-small architecture with random weights (no download). Each take runs in a fresh process
(peak RSS is per process); the durations alternate so both see the same machine.

    .venv/bin/python benchmarks/memory.py [--runs 5] [--durations 30 120] [--device cpu]

Slow on CPU: a 120 s take is ~6,600 decoder steps (about 5 minutes here per run).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table  # noqa: E402

from tests.models import real_size_musicgen  # noqa: E402


def child(seconds: float, folder: str, device: str) -> None:
    """Load the tool, make one take of `seconds` (0: load only), print peak RSS and the windows as JSON."""
    import resource
    import time

    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.spec import MusicSpec

    tool = MUSIC_BACKENDS.create("musicgen", {"model": folder, "device": device})
    _ = tool._loaded  # load outside the timing
    windows, start = 0, time.perf_counter()
    if seconds:
        audio = tool.generate(MusicSpec(genre="jazz", tempo_bpm=96), "calm jazz piano, 96 bpm",
                              GenerationParams(duration_s=seconds, seed=0))
        windows = len(audio.details["windows"])
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "windows": windows,
                      "wall_s": time.perf_counter() - start}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--durations", type=float, nargs="+", default=[30.0, 120.0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--child", nargs=2, metavar=("SECONDS", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(float(args.child[0]), args.child[1], args.device)

    folder = Path(tempfile.mkdtemp(prefix="musicgen-small-"))
    real_size_musicgen("small", folder)
    durations = [0.0] + args.durations
    seen: dict[float, list[dict]] = {d: [] for d in durations}
    for _ in range(args.runs):
        for d in durations:
            proc = subprocess.run([sys.executable, __file__, "--device", args.device, "--child", str(d), str(folder)],
                                  capture_output=True, text=True, check=True)
            seen[d].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = median([r["peak_rss_mb"] for r in seen[args.durations[0]]])
    rows = []
    for d in durations:
        rss = median([r["peak_rss_mb"] for r in seen[d]])
        rows.append(("model loaded, no take" if d == 0 else f"{d:g} s take", seen[d][0]["windows"], f"{rss:.0f} MB",
                     f"{median([r['wall_s'] for r in seen[d]]):.1f} s", f"{rss / base:.3f}"))
    print(f"\nmusicgen-small architecture, random weights, {args.device}, one process per take, median of {args.runs}")
    print(table(rows, ("take", "windows", "peak RSS", "generation", f"vs {args.durations[0]:g} s")))
    last = median([r["peak_rss_mb"] for r in seen[args.durations[-1]]])
    print(f"peak RSS {args.durations[-1]:g} s / {args.durations[0]:g} s: {last / base:.3f} (target <= 1.1)")


if __name__ == "__main__":
    main()
