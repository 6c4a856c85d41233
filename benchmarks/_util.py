"""Small helpers shared by the benchmark scripts: timing, medians and a plain table."""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager


@contextmanager
def timer(out: list[float]):
    start = time.perf_counter()
    yield
    out.append(time.perf_counter() - start)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(rows: list[tuple], header: tuple) -> str:
    cells = [header] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(cells[0]), line(tuple("-" * w for w in widths))] + [line(r) for r in cells[1:]])
