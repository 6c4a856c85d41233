"""The Python API: AlbumGen(...).generate(cover) runs cover → description → agent → music → files.

The CLI and the web app are thin shells over this module.
"""
from __future__ import annotations

import errno
import hashlib
import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from agent.config import AppConfig, LLMChoice, load_config, parse_model_flag
from agent.llm import LLM_BACKENDS
from agent.trace import Trace, to_markdown
from tools.cover import Cover, load_cover
from tools.errors import AlbumGenError, ConfigError, InputError, redact
from tools.files import atomic_write, write_audio
from tools.music import MUSIC_BACKENDS
from tools.music.base import Audio, GenerationParams
from tools.spec import MAX_DURATION_S, SETTERS, MusicSpec, SpecEditor
from tools.vision import VISION_BACKENDS


@dataclass
class RunResult:
    run_dir: Path
    audio_path: Path
    trace_path: Path
    spec: MusicSpec
    prompt: str
    trace: Trace

    def lines(self) -> list[str]:
        """The short human summary: spec, measured tempo and key, prompt, paths."""
        return self.plan_lines() + [f"audio       {self.audio_path}", f"trace       {self.trace_path} (and trace.md)"]

    def plan_lines(self) -> list[str]:
        """The spec with measured tempo and key, and the prompt."""
        spec = self.spec
        return [f"genre       {spec.genre}" + (f" ({spec.subgenre})" if spec.subgenre else ""),
                f"mood        {', '.join(spec.moods)} · energy {spec.energy} · valence {spec.valence}",
                f"tempo       {tempo_key_line(spec, (self.trace.audio or {}).get('measured'))} · {spec.time_signature}",
                f"instruments {', '.join(spec.instruments)}" + (f" · era {spec.era}" if spec.era else ""),
                f"prompt      {self.prompt}"]

    def summary(self) -> dict[str, Any]:
        """The --json output: exactly audio, trace, spec, prompt."""
        return {"audio": str(self.audio_path), "trace": str(self.trace_path),
                "spec": self.spec.model_dump(mode="json"), "prompt": self.prompt}


def tempo_key_line(spec: MusicSpec, measured: dict | None) -> str:
    """'96 BPM (measured 96.3) · A minor (measured A minor, conf 0.81)'; without measurement, the plan only."""
    if not measured:
        return f"{spec.tempo_bpm} BPM · {spec.key} {spec.mode}"
    return (f"{spec.tempo_bpm} BPM (measured {measured['tempo_bpm']}) · {spec.key} {spec.mode} "
            f"(measured {measured['key']} {measured['mode']}, conf {measured['key_confidence']})")


class RunWriter:
    """Owns one run folder; every save rewrites trace.json and trace.md atomically."""

    def __init__(self, run_dir: Path, trace: Trace):
        self.run_dir, self.trace = run_dir, trace

    def save(self) -> None:
        atomic_write(self.run_dir / "trace.json", self.trace.to_json())
        atomic_write(self.run_dir / "trace.md", to_markdown(self.trace))

    def write_take(self, audio: Audio, spec: MusicSpec, audio_format: str = "wav") -> Path:
        path = self.run_dir / f"audio.{audio_format}"
        write_audio(path, audio.samples, audio.sample_rate)
        for name, data in audio.extra_files.items():
            atomic_write(self.run_dir / name, data)
        atomic_write(self.run_dir / "spec.json", json.dumps(spec.model_dump(mode="json"), indent=2) + "\n")
        return path


@contextmanager
def stage(trace: Trace, name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        trace.timings_ms[name] = trace.timings_ms.get(name, 0) + int((time.perf_counter() - start) * 1000)


def prepare_run_dir(out_dir: Path, name: str, force: bool) -> Path:
    run_dir = out_dir / name
    if run_dir.exists() and not force:
        raise InputError(f"output folder {run_dir} already exists: pass --force to overwrite it or choose another --seed")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = "no space left" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc)).lower()
        raise InputError(f"cannot write to {out_dir} ({reason}): choose a writable folder with -o") from None
    return run_dir


class AlbumGen:
    """One configured pipeline. Backends load their models on first use and keep them loaded."""

    def __init__(self, config: AppConfig | None = None, profile: str | None = None, model: str | None = None,
                 chat_model=None, vision_model: str | None = None, base_url: str | None = None,
                 mmproj: str | None = None):
        """`model` / `vision_model`: an alias or BACKEND:MODEL overriding the profile's agent LLM / describer;
        `base_url` and `mmproj` go to the backends that take them. `chat_model`: any LangChain chat model with
        bind_tools, used instead of the configured LLM backend."""
        self.config = config or load_config()
        self.profile_name = profile or self.config.default_profile
        if self.profile_name not in self.config.profiles:
            raise ConfigError(f"unknown profile {self.profile_name!r}: use one of {', '.join(self.config.profiles)}")
        prof = self.config.profiles[self.profile_name]
        llm_choice: LLMChoice = parse_model_flag(model, self.config, base_url=base_url) if model else prof.llm
        vision = parse_model_flag(vision_model, self.config, "vision", base_url=base_url, mmproj=mmproj) \
            if vision_model else prof.vision
        where = f"profiles.{self.profile_name}"
        self.vision = VISION_BACKENDS.create(vision.backend, vision.options_dict(), f"{where}.vision")
        self.llm = LLM_BACKENDS.create(llm_choice.backend, llm_choice.options_dict(), f"{where}.llm")
        self.music = MUSIC_BACKENDS.create(prof.music.backend, prof.music.options_dict(), f"{where}.music")
        self.mode = self.llm.default_mode if llm_choice.mode == "auto" else llm_choice.mode
        self._chat_model = chat_model

    @classmethod
    def from_config(cls, path: str | Path | None = None, profile: str | None = None, model: str | None = None):
        return cls(load_config(path), profile=profile, model=model)

    @property
    def chat_model(self):
        if self._chat_model is None:
            self._chat_model = self.llm.chat_model()
        return self._chat_model

    def params(self, duration: float | None, seed: int | None) -> GenerationParams:
        duration = self.config.defaults.duration_s if duration is None else duration
        if not 0.5 <= duration <= MAX_DURATION_S:
            raise InputError(f"--duration {duration:g} is out of range: use 0.5 to {MAX_DURATION_S:g} seconds")
        seed = secrets.randbelow(2**31) if seed is None else seed
        opts = self.music.options
        try:
            return GenerationParams(duration_s=float(duration), seed=int(seed),
                                    guidance_scale=getattr(opts, "guidance_scale", 3.0),
                                    temperature=getattr(opts, "temperature", 1.0), top_k=getattr(opts, "top_k", 250))
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def _make_take(self, spec: MusicSpec, prompt: str, params: GenerationParams, trace: Trace, notify):
        """Generate once, or verify and repair when verification is on; returns (audio, analysis or None)."""
        if not self._verify:
            return self.music.generate(spec, prompt, params), None
        from agent.verify import Verifier

        notify("verifying")
        best = Verifier(self.music, trace, attempts=self.config.verify.attempts,
                        tolerance=self.config.verify.tempo_tolerance).run(spec, prompt, params)
        return best.audio, best.analysis

    def run_id(self, cover: Cover, params: GenerationParams) -> str:
        key = f"{cover.sha256}|{self.profile_name}|{self.llm.model_id}|{self.music.model_id}|{params.duration_s}|{params.seed}"
        return hashlib.sha256(key.encode()).hexdigest()[:10]

    def new_trace(self, cover: Cover, run_id: str) -> Trace:
        return Trace(run_id=run_id, agent_mode=self.mode,
                     cover={"path": str(cover.path), "sha256": cover.sha256, "width": cover.original_size[0],
                            "height": cover.original_size[1], "format": cover.format},
                     backends={"vision": self.vision.describe_backend(), "llm": self.llm.describe_backend(),
                               "music": self.music.describe_backend(), "profile": {"backend": "profile", "model": self.profile_name}})

    def generate(self, cover: str | Path, out_dir: str | Path | None = None, duration: float | None = None,
                 seed: int | None = None, force: bool = False, verify: bool | None = None,
                 audio_format: str | None = None, log: bool = True,
                 on_stage: Callable[[str], None] | None = None) -> RunResult:
        """Describe the cover, let the agent plan the music, generate (and verify) it, write the run folder."""
        params = self.params(duration, seed)
        self.set_output(verify, audio_format)
        loaded = load_cover(cover)  # every input is checked before anything is written
        run_id = self.run_id(loaded, params)
        run_dir = prepare_run_dir(Path(out_dir or self.config.defaults.output_dir), f"{loaded.stem}-{run_id}", force)
        trace = self.new_trace(loaded, run_id)
        writer = RunWriter(run_dir, trace)
        notify = on_stage or (lambda _name: None)
        with guarded(trace, writer):
            description = self.describe(loaded, trace, writer, notify)
            editor = SpecEditor(MusicSpec(duration_s=params.duration_s, seed=params.seed))
            result = self.compose(editor, params, trace, writer, notify,
                                  plan=lambda agent: agent.run(self.mode, description.text))
        if log:
            self.log_single_run(loaded, description.text, result)
        return result

    def set_output(self, verify: bool | None, audio_format: str | None) -> None:
        self._verify = self.config.verify.enabled if verify is None else verify
        self._format = audio_format or self.config.defaults.audio_format
        if self._format not in ("wav", "flac"):
            raise InputError(f"--format {self._format} is not supported: use wav or flac")

    def describe(self, cover: Cover, trace: Trace, writer: RunWriter, notify: Callable[[str], None]):
        writer.save()
        notify("describing")
        with stage(trace, "vision"):
            description = self.vision.describe(cover)
        trace.description = {"text": description.text, "details": description.details}
        writer.save()
        return description

    def compose(self, editor: SpecEditor, params: GenerationParams, trace: Trace, writer: RunWriter,
                notify: Callable[[str], None], plan: Callable[[Any], None], tools: tuple[str, ...] = SETTERS) -> RunResult:
        """Run the agent (`plan(agent)`), which edits the spec and calls generate_music; write the take."""
        from agent.loop import Agent, ToolBox

        take: dict[str, Any] = {}

        def generate_music() -> str:
            """Render the current plan into the MusicGen prompt and generate the audio. Call it once, after every setting is decided."""
            from tools.prompt import render_prompt

            prompt = render_prompt(editor.spec)
            trace.spec, trace.rationales, trace.prompt = editor.spec.model_dump(mode="json"), dict(editor.rationales), prompt
            writer.save()
            notify("composing")
            take_params = replace(params, seed=editor.spec.seed, duration_s=editor.spec.duration_s)
            with stage(trace, "music"):
                take["audio"], take["analysis"] = self._make_take(editor.spec, prompt, take_params, trace, notify)
            return f"ok: generated {take['audio'].duration_s:.1f} s of audio for: {prompt}"

        notify("thinking")
        with stage(trace, "agent"):
            plan(Agent(self.chat_model, ToolBox(editor, trace, generate_music, tools), trace,
                       max_steps=self.config.agent.max_steps, max_retries=self.config.agent.max_retries,
                       label=self.llm.label))
        trace.timings_ms["agent"] -= trace.timings_ms.get("music", 0)
        notify("writing")
        with stage(trace, "write"):
            audio = take["audio"]
            audio_path = writer.write_take(audio, editor.spec, self._format)
            trace.audio = {"path": audio_path.name, "sample_rate": audio.sample_rate,
                           "duration_s": round(audio.duration_s, 3), "channels": int(audio.samples.shape[0]),
                           **audio.details}
            if take.get("analysis") is not None:
                trace.audio["measured"] = take["analysis"].to_dict()
            trace.status = "ok"
        writer.save()
        return RunResult(run_dir=writer.run_dir, audio_path=audio_path, trace_path=writer.run_dir / "trace.json",
                         spec=editor.spec, prompt=trace.prompt or "", trace=trace)

    def log_single_run(self, cover: Cover, description: str, result: RunResult) -> None:
        from agent.store import RunStore, log_take

        store = RunStore()
        try:
            session = store.new_session("generate", str(cover.path), cover.sha256, self.profile_name,
                                        self.llm.model_id, str(result.run_dir.parent), description)
            turn_id, _ = store.begin_turn(session, None)
            log_take(store, session, turn_id, result, changes=[])
            store.close_session(session)
        finally:
            store.close()


@contextmanager
def guarded(trace: Trace, writer: RunWriter):
    """Whatever stops a run, its trace is saved with why: failed (with the error) or interrupted."""
    try:
        yield
    except KeyboardInterrupt:
        trace.status, trace.error = "interrupted", "interrupted by the user"
        writer.save()
        raise
    except AlbumGenError as exc:
        trace.status, trace.error = "failed", redact(str(exc))
        writer.save()
        raise
    except Exception as exc:
        trace.status, trace.error = "failed", redact(f"{type(exc).__name__}: {str(exc)[:300]}")
        writer.save()
        raise
