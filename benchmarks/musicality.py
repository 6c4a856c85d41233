"""Does the take sound made? Generates 45 s offline takes of eight different covers (the scikit-image
photographs) and measures each with tools that never read the plan: section boundaries a self-similarity
novelty curve finds (within 1.5 s of the planned ones), distinct chords essentia's chord detector hears,
loudest minus quietest section, left/right correlation, level lost in a mono sum, spectral bandwidth, and
the music stage's time. Then the sketch renderer alone, warm, on the same plans.

    .venv/bin/python benchmarks/musicality.py [--root CHECKOUT] [--seconds 45]

--root: measure another checkout (e.g. the commit before the form change) with this same script; a take
without planned sections gets its levels over 4 s windows and no boundary figure.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png",
          "rocket.jpg", "camera.png", "no_time_for_that_tiny.gif"]


def photographs() -> list[Path]:
    import skimage.data

    return [Path(skimage.data.__file__).parent / name for name in PHOTOS]


def generate(root: Path, cover: Path, out: Path, seconds: float) -> dict:
    """One `albumgen generate` of checkout `root` (its own code, this environment); the run's trace."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "agent.cli", "generate", str(cover), "-o", str(out), "--seed", "7",
           "--duration", str(seconds), "--force", "--json"]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{cover.name}: generate failed: {proc.stderr.strip().splitlines()[-1:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"audio": summary["audio"], "trace": json.loads(Path(summary["trace"]).read_text())}


def measure(audio_path: str, trace: dict) -> dict:
    import soundfile as sf

    from tools import listen

    data, sr = sf.read(audio_path, dtype="float32", always_2d=True)
    samples = data.T
    if samples.shape[0] == 1:
        samples = samples.repeat(2, axis=0)
    sections = trace.get("sections") or []
    spans = [(s["start_s"], s["end_s"]) for s in sections] or \
        [(t, min(t + 4.0, samples.shape[1] / sr)) for t in range(0, int(samples.shape[1] / sr) - 1, 4)]
    levels = listen.levels_db(samples, sr, spans)
    planned = [s["start_s"] for s in sections[1:]]
    found = listen.boundaries(samples, sr)
    hits, total, stray = listen.boundaries_found(planned, found)
    return {"genre": trace["spec"]["genre"], "form": trace["spec"].get("form") or "-", "sections": len(sections),
            "hits": hits, "planned": total, "stray": stray, "found": len(found),
            "chords": len(listen.distinct_chords(samples, sr)), "range_db": max(levels) - min(levels),
            "corr": listen.correlation(samples), "mono_db": listen.mono_loss_db(samples),
            "bandwidth": listen.bandwidth_hz(samples, sr), "sr": sr, "channels": int(data.shape[1]),
            "music_s": trace["timings_ms"].get("music", 0) / 1000,
            "verified": (trace.get("verification") or {}).get("met")}


def table(rows: list[dict]) -> str:
    head = ["| cover | genre | form | sections | boundaries found | distinct chords | loudest − quietest | L/R corr | "
            "mono loss | bandwidth | Hz / ch | music stage | verified |",
            "| --- " * 13 + "|"]
    body = [f"| {r['cover']} | {r['genre']} | {r['form']} | {r['sections']} | "
            + (f"{r['hits']}/{r['planned']} (+{r['stray']} unplanned) | " if r["planned"] else "- | ")
            + f"{r['chords']} | {r['range_db']:.1f} dB | {r['corr']:.2f} | {r['mono_db']:.2f} dB | {r['bandwidth']:.0f} Hz | "
              f"{r['sr']} / {r['channels']} | {r['music_s']:.1f} s | {r['verified']} |" for r in rows]
    return "\n".join(head + body)


def summary(rows: list[dict]) -> str:
    planned = sum(r["planned"] for r in rows)
    found = sum(r["hits"] for r in rows)
    return (f"boundaries found {found}/{planned} ({100 * found / planned:.0f} %)" if planned else "no planned sections") + \
        f"; chords min {min(r['chords'] for r in rows)}; section range min {min(r['range_db'] for r in rows):.1f} dB; " \
        f"corr min {min(r['corr'] for r in rows):.2f}; mono loss max {max(r['mono_db'] for r in rows):.2f} dB; " \
        f"bandwidth median {statistics.median(r['bandwidth'] for r in rows):.0f} Hz"


def warm_render(traces: list[dict], seconds: float) -> str:
    """The sketch renderer alone, models warm (second call), on each cover's plan: median and max seconds."""
    from tools.music import MUSIC_BACKENDS
    from tools.music.base import GenerationParams
    from tools.spec import MusicSpec

    backend = MUSIC_BACKENDS.create("sketch")
    times = []
    for trace in traces:
        spec = MusicSpec.model_validate(trace["spec"])
        backend.generate(spec, "", GenerationParams(duration_s=seconds, seed=7))
        start = time.perf_counter()
        backend.generate(spec, "", GenerationParams(duration_s=seconds, seed=7))
        times.append(time.perf_counter() - start)
    return f"sketch render of a {seconds:g} s take, warm: median {statistics.median(times):.2f} s, max {max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE)
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args()
    rows, traces = [], []
    with tempfile.TemporaryDirectory(prefix="albumgen-musicality-") as tmp:
        for cover in photographs():
            made = generate(args.root.resolve(), cover, Path(tmp), args.seconds)
            rows.append({"cover": cover.stem, **measure(made["audio"], made["trace"])})
            traces.append(made["trace"])
            print(f"{cover.stem}: done", file=sys.stderr)
    print(f"## {args.root.resolve().name} ({args.seconds:g} s takes, seed 7)\n")
    print(table(rows))
    print("\n" + summary(rows))
    if all(t["spec"].get("sections") for t in traces):
        print(warm_render(traces, args.seconds))


if __name__ == "__main__":
    main()
