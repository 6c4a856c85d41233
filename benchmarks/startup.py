"""Startup: `albumgen --help` wall time against `python -c pass`, and which heavy modules it imports.

    .venv/bin/python benchmarks/startup.py [RUNS]
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, table, timer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "llama_cpp", "gradio", "langchain", "librosa", "PIL")


def main(runs: int = 10) -> None:
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "albumgen --help": [sys.executable, "-m", "agent.cli", "--help"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so both see the same machine load
        for name, cmd in commands.items():
            with timer(times[name]):
                subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
    base = median(times["python -c pass"])
    rows = [(name, f"{median(t) * 1000:.0f} ms", f"{median(t) / base:.2f}x") for name, t in times.items()]
    print(table(rows, ("command", f"median of {runs}", "vs python -c pass")))
    probe = ("import sys, runpy; sys.argv=['albumgen','--help']\n"
             "try: runpy.run_module('agent.cli', run_name='__main__')\nexcept SystemExit: pass\n"
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True).stdout
    print(f"\nheavy modules imported by --help: {out.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
