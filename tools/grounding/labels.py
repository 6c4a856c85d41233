"""ImageNet class names (prompts/imagenet_labels.txt), by index and by name."""
from __future__ import annotations

import functools

from tools.vocab import prompt_path


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    lines = prompt_path("imagenet_labels.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@functools.cache
def _index() -> dict[str, int]:
    out: dict[str, int] = {}
    for k, name in enumerate(imagenet_labels()):
        out.setdefault(name, k)
    return out


def imagenet_index(name: str) -> int | None:
    return _index().get(name)
