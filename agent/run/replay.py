"""Replay a stored take: the same spec, seed, prompt and guidance through the same music backend."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from agent.records import MadeWith
from agent.run.folder import prepare_run_dir, write_take
from agent.run.pipeline import Pipeline
from agent.store import RunStore, TakeRow
from tools.errors import InputError


def pick_take(store: RunStore, session_id: str, take_no: int | None) -> tuple[int, TakeRow]:
    takes = store.takes(session_id)
    if not takes:
        raise InputError(f"run {session_id} has no finished take to replay")
    number = len(takes) if take_no is None else take_no
    if not 1 <= number <= len(takes):
        raise InputError(f"run {session_id} has takes 1-{len(takes)}: --take {take_no} does not exist")
    return number, takes[number - 1]


def replay(app: Pipeline, store: RunStore, session_id: str, take_no: int | None, out_dir: str | None) -> list[str]:
    """Regenerate a take; returns the summary lines (path, and whether the audio is identical)."""
    import numpy as np
    import soundfile as sf

    number, take = pick_take(store, session_id, take_no)
    spec = take.spec
    made = take.params or MadeWith(seed=take.seed, prompt=take.prompt)  # a take logged before v3: its seed
    params = app.params(app.options(duration=spec.duration_s, seed=take.seed))
    if made.guidance_scale:
        params = replace(params, guidance_scale=made.guidance_scale)
    if made.steps:  # a diffusion engine's repair changed them
        params = replace(params, steps=made.steps)
    with app.music.exclusive():
        audio = app.music.generate_takes(spec, take.prompt, params, made.takes)[made.take - 1]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = prepare_run_dir(Path(out_dir or app.config.defaults.output_dir),
                              f"replay-{session_id}-take{number}-{stamp}", force=False)
    original = Path(take.audio_path)
    path = write_take(run_dir, audio, "audio", original.suffix.lstrip(".") or "wav")
    lines = [f"replayed take {number} of {session_id} (seed {take.seed})", f"audio       {path}"]
    if original.exists():
        same = np.array_equal(sf.read(str(original), dtype="int16")[0], sf.read(str(path), dtype="int16")[0])
        lines.append("identical to the original take" if same else "differs from the original take "
                     "(the backend is not deterministic here, or the take was verified with another attempt)")
    return lines
