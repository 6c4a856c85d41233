"""How soon does a person hear something? Measured from outside the run, on the offline default: the time to
the first audio file in the run folder that has sound, and to the finished run (the call returns, every file
written), side by side in one run of this script:

- cold: `albumgen generate COVER` in a fresh process, from process start;
- warm: the second cover in one process with the models loaded (as chat and the web app run), from the call
  that starts the run;
- at the default duration and with a 45 s take;
- with the count of LLM calls the run made and the preference calls it skipped (the prior's margin beyond
  the model's reach).

    .venv/bin/python benchmarks/latency.py [--root CHECKOUT] [--runs 2]

--root: measure another checkout of AlbumGen (e.g. the commit before a change) with this same script.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
# scikit-image's photographs: a warm run always gets a cover the process has not seen (no memoised scores)
PHOTOS = ["hubble_deep_field.jpg", "chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png",
          "camera.png", "coins.png", "retina.jpg", "horse.png"]


def sounding(folder: Path) -> bool:
    """Whether any audio file under `folder` (a growing *.partial.wav included) already holds sound."""
    import numpy as np
    import soundfile as sf

    for path in folder.rglob("*.wav"):
        try:
            data, _sr = sf.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, OSError, ValueError):
            continue  # a header still being written
        if data.size and float(np.sqrt(np.mean(data**2))) > 1e-4:
            return True
    return False


def watch(folder: Path, done: threading.Event, started: float) -> float | None:
    """Polls `folder` every 20 ms until a file has sound; the seconds since `started`, or None."""
    while not done.is_set():
        if folder.exists() and sounding(folder):
            return time.perf_counter() - started
        time.sleep(0.02)
    return time.perf_counter() - started if sounding(folder) else None


def calls(folder: Path) -> tuple[int, int]:
    trace = json.loads(next(folder.rglob("trace.json")).read_text())
    made = sum(1 for s in trace["steps"] if s["kind"] == "llm_call")
    skipped = sum(1 for s in trace["steps"] if s["name"] == "preference skipped")
    return made, skipped


def cold(root: Path, cover: Path, duration: float | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="latency-cold-"))
    cmd = [str(HERE / ".venv" / "bin" / "albumgen"), "generate", str(cover), "--out", str(out), "--force"]
    cmd += ["--duration", str(duration)] if duration else []
    env = {**os.environ, "PYTHONPATH": str(root)}
    started, done = time.perf_counter(), threading.Event()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first: list[float | None] = []
    watcher = threading.Thread(target=lambda: first.append(watch(out, done, started)))
    watcher.start()
    _, err = proc.communicate()
    total = time.perf_counter() - started
    done.set()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"albumgen generate failed ({proc.returncode}): {err.strip().splitlines()[-1]}")
    return {"first": first[0], "total": total, "calls": calls(out)}


def warm(app, cover: Path, duration: float | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="latency-warm-"))
    started, done = time.perf_counter(), threading.Event()
    first: list[float | None] = []
    watcher = threading.Thread(target=lambda: first.append(watch(out, done, started)))
    watcher.start()
    app.generate(cover, out_dir=out, duration=duration, force=True, log=False)
    total = time.perf_counter() - started
    done.set()
    watcher.join()
    return {"first": first[0], "total": total, "calls": calls(out)}


def med(xs: list[float]) -> float:
    return xs[len(xs) // 2] if xs else float("nan")


def _fmt(rows: list[dict]) -> tuple[str, str, str]:
    firsts = sorted(r["first"] for r in rows if r["first"] is not None)
    totals = sorted(r["total"] for r in rows)
    made, skipped = rows[-1]["calls"]
    return f"{med(firsts):.1f} s", f"{med(totals):.1f} s", f"{made} made, {skipped} skipped"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=HERE, help="the AlbumGen checkout to measure")
    ap.add_argument("--runs", type=int, default=2, help="runs per row (medians)")
    args = ap.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    os.chdir(root)
    import skimage.data

    from agent.api import AlbumGen

    photos = [Path(skimage.data.__file__).parent / name for name in PHOTOS]
    unseen = iter(photos[1:])
    results: dict[str, list[dict]] = {}
    for label, duration in (("default", None), ("45 s", 45.0)):
        results[f"cold, {label}"] = [cold(root, photos[1 + k], duration) for k in range(args.runs)]
    app = AlbumGen(profile="offline")
    app.generate(photos[0], out_dir=Path(tempfile.mkdtemp()), force=True, log=False)  # loads every model
    for label, duration in (("default", None), ("45 s", 45.0)):
        results[f"warm, {label}"] = [warm(app, next(unseen), duration) for _ in range(args.runs)]
    print(f"AlbumGen at {root}, offline profile, {args.runs} runs per row on different photographs (medians)\n")
    print("| run | first audio with sound | finished run folder | LLM calls |")
    print("| --- | --- | --- | --- |")
    for name, rows in results.items():
        print(f"| {name} | " + " | ".join(_fmt(rows)) + " |")


if __name__ == "__main__":
    main()
