"""Live progress on stderr (tqdm): MusicGen's decoder steps and windows with ETA while a take is made.

Off with --json, or when stderr is not a terminal (a log file gets the stage lines only)."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tools.music.base import reporting_steps


@contextmanager
def step_bar(enabled: bool) -> Iterator[None]:
    """While inside, each decoder step advances one bar per take ("composing (window 2/10)", steps, ETA)."""
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience: without tqdm the stage lines remain
        enabled = False
    if not (enabled and sys.stderr.isatty()):
        yield
        return
    state: dict = {"bar": None}

    def report(done: int, total: int, label: str) -> None:
        bar = state["bar"]
        if bar is None or done < bar.n:  # a new take (or a new chat turn)
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
        bar.set_description_str(f"composing ({label})", refresh=False)
        bar.update(done - bar.n)

    try:
        with reporting_steps(report):
            yield
    finally:
        if state["bar"] is not None:
            state["bar"].close()
