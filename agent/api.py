"""The Python API: `AlbumGen(...).generate(cover)` runs one cover to a run folder and logs it.

A thin facade over agent.run.pipeline (which owns the stages); the CLI and the web app are thin shells over it.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.config import load_config
from agent.run.pipeline import MAX_TAKES, Pipeline, RunOptions, RunResult

__all__ = ["AlbumGen", "MAX_TAKES", "RunOptions", "RunResult"]


class AlbumGen(Pipeline):
    """One configured pipeline. Backends load their models on first use and keep them loaded; any number
    of runs, in any threads, may use it at once: each run's options travel with the run."""

    @classmethod
    def from_config(cls, path: str | Path | None = None, profile: str | None = None, model: str | None = None):
        return cls(load_config(path), profile=profile, model=model)

    def generate(self, cover: str | Path, out_dir: str | Path | None = None, duration: float | None = None,
                 seed: int | None = None, force: bool = False, verify: bool | None = None,
                 audio_format: str | None = None, log: bool = True, takes: int = 1, stream: bool | None = None,
                 on_stage: Callable[[str], None] | None = None, genre: str | None = None) -> RunResult:
        """Describe the cover, let the agent plan the music, generate (and verify) it, write the run folder.
        `takes`: that many variations of the plan, made as one batch where the backend can; `stream`: write
        each take to a growing *.partial.wav while it is made (None: config defaults.stream); `genre`: a genre asked for, weighed by the
        prior as decisive evidence (a batch row's hint)."""
        options = self.options(duration=duration, seed=seed, verify=verify, audio_format=audio_format,
                               takes=takes, stream=stream, genre=genre)
        result, description = self.run_cover(cover, options, out_dir, force, on_stage)
        if log:
            self._log(result, description.text)
        return result

    def _log(self, result: RunResult, description: str) -> None:
        from agent.store import RunStore, log_take

        store, cover = RunStore(), result.trace.cover
        try:
            session = store.new_session("generate", cover.path, cover.sha256, self.profile_name,
                                        self.llm.model_id, str(result.run_dir.parent), description)
            turn_id, _ = store.begin_turn(session, None)
            log_take(store, session, turn_id, result, changes=[])
            store.close_session(session)
        finally:
            store.close()
