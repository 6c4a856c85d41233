"""Live progress on stderr (tqdm): covers of an import or a batch, and MusicGen's decoder steps and windows
with ETA while a take is made. Off with --json, or when stderr is not a terminal (a log keeps the lines)."""
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


def cover_bar(total: int | None, quiet: bool, done: int = 0):
    """A bar over covers (catalogue import, batch) with ETA, starting at `done`."""
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="cover", file=sys.stderr, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty(), smoothing=0.1)
