"""Chat: wall time of turn 2 ("slower") against turn 1 (cold start: models load, cover is described)
on the offline profile, and of a natural request ("like a rainy day": read, alternatives scored by the
model) with the time spent outside music generation; medians over RUNS fresh sessions.

    .venv/bin/python benchmarks/chat.py [RUNS]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table, timer  # noqa: E402


def main(runs: int = 5) -> None:
    os.environ.setdefault("ALBUMGEN_HOME", tempfile.mkdtemp(prefix="albumgen-bench-"))
    import json

    from agent.api import AlbumGen
    from agent.chat.session import ChatSession
    from agent.store import RunStore

    first, second, natural, outside = [], [], [], []
    for i in range(runs):
        out = Path(tempfile.mkdtemp(prefix="albumgen-bench-out-"))
        store = RunStore()
        with timer(first):
            app = AlbumGen(profile="offline")  # a new pipeline: nothing loaded yet
            session, _ = ChatSession.start(app, store, ROOT / "covers" / "midnight-orbit.png", out, duration=10, seed=i)
        with timer(second):
            session.handle("slower")
        with timer(natural):
            reply = session.handle("make it sound like a rainy day")
        music_s = json.loads(Path(reply.data["trace"]).read_text())["timings_ms"]["music"] / 1000
        outside.append(natural[-1] - music_s)
        store.close()
    rows = [("turn 1 (load + describe + plan + music)", f"{median(first):.2f} s"),
            ("turn 2 ('slower', models cached)", f"{median(second):.2f} s"),
            ("turn 2 / turn 1", f"{median(second) / median(first):.2f}"),
            ("turn 3 ('make it sound like a rainy day')", f"{median(natural):.2f} s"),
            ("turn 3 outside music generation (target < 2 s)", f"{median(outside):.2f} s")]
    print(table(rows, ("offline profile, 10 s takes", f"median of {runs}")))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
