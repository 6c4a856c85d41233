"""Batch throughput: the same covers made four ways, side by side in one run, on the offline profile.

    .venv/bin/python benchmarks/batch.py [--covers 24] [--duration 4] [--workers 2]

1. a process per cover: `albumgen generate COVER` once per cover (what a shell loop does: every model
   loaded again for every cover);
2. `albumgen batch --workers 1`;
3. `albumgen batch --workers N` (N = --workers);
4. `albumgen batch --ray --workers N`: a local Ray cluster of the same size, started by the batch.
Prints covers/min, the ratio to a process per cover, and each worker's peak RSS (from the batch report).
The covers are drawn (tests/images.py, three styles); the seeds are fixed, so the four make the same plans.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from benchmarks._util import table  # noqa: E402

CLI = [sys.executable, "-m", "agent.cli"]


def make_covers(folder: Path, n: int) -> list[Path]:
    from tests.images import catalog_cover

    folder.mkdir(parents=True)
    styles = ("metal", "pop", "ambient")
    paths = []
    for k in range(n):
        path = folder / f"cover-{k:02d}.png"
        catalog_cover(styles[k % 3], 500 + k).save(path)
        paths.append(path)
    return paths


def per_process(covers: list[Path], out: Path, duration: float) -> tuple[float, str]:
    start = time.perf_counter()
    for k, cover in enumerate(covers):
        proc = subprocess.run([*CLI, "generate", str(cover), "-o", str(out), "--duration", str(duration), "--seed",
                               str(1000 + k), "-n", "--json"], cwd=HERE, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"generate {cover.name} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest single child
    return time.perf_counter() - start, f"{peak:.0f} MB (one process)"


def batch(folder: Path, out: Path, duration: float, *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([*CLI, "batch", str(folder), "-o", str(out), "--duration", str(duration), "--seed", "1000",
                           "--json", *extra], cwd=HERE, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"batch {' '.join(extra)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    rss = ", ".join(f"{v:.0f}" for v in report["peak_rss_mb"].values())
    return seconds, f"{rss} MB ({len(report['peak_rss_mb'])} workers)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--covers", type=int, default=24)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="albumgen-batch-bench-") as tmp:
        tmp = Path(tmp)
        covers = make_covers(tmp / "covers", args.covers)
        n = args.workers
        results = {"a process per cover": per_process(covers, tmp / "seq", args.duration),
                   "batch --workers 1": batch(tmp / "covers", tmp / "w1", args.duration, "--workers", "1"),
                   f"batch --workers {n}": batch(tmp / "covers", tmp / f"w{n}", args.duration, "--workers", str(n)),
                   f"batch --ray --workers {n}": batch(tmp / "covers", tmp / "ray", args.duration, "--ray", "--workers",
                                                       str(n))}
    base = args.covers / results["a process per cover"][0] * 60
    rows = [(name, f"{seconds:.1f}", f"{args.covers / seconds * 60:.1f}", f"{args.covers / seconds * 60 / base:.2f}x", rss)
            for name, (seconds, rss) in results.items()]
    print(f"{args.covers} covers, offline profile, {args.duration:g} s each")
    print(table(rows, ("how", "seconds", "covers/min", "vs a process per cover", "peak RSS per worker")))


if __name__ == "__main__":
    main()
