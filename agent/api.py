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
from dataclasses import dataclass, field, replace
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


MAX_TAKES = 8  # one batch; more would multiply memory for little choice


@dataclass
class RunResult:
    run_dir: Path
    audio_path: Path
    trace_path: Path
    spec: MusicSpec
    prompt: str
    trace: Trace
    take_paths: list[Path] = field(default_factory=list)  # --takes N > 1: all of them; audio_path is the best

    def lines(self) -> list[str]:
        """The short human summary: spec, measured tempo and key, prompt, paths."""
        out = self.plan_lines() + [f"audio       {self.audio_path}"]
        if self.take_paths:
            out.append(f"takes       {len(self.take_paths)} in {self.run_dir} (best: {self.audio_path.name})")
        if self.trace.stream and self.trace.stream.get("first_audio_s") is not None:
            out.append(f"streamed    first audio after {self.trace.stream['first_audio_s']} s of music generation")
        return out + [f"trace       {self.trace_path} (and trace.md)"]

    def plan_lines(self) -> list[str]:
        """The spec with measured tempo and key, and the prompt."""
        spec = self.spec
        return [f"genre       {spec.genre}" + (f" ({spec.subgenre})" if spec.subgenre else ""),
                f"mood        {', '.join(spec.moods)} · energy {spec.energy} · valence {spec.valence}",
                f"tempo       {tempo_key_line(spec, (self.trace.audio or {}).get('measured'))} · {spec.time_signature}",
                f"instruments {', '.join(spec.instruments)}" + (f" · era {spec.era}" if spec.era else ""),
                f"prompt      {self.prompt}"]

    def summary(self) -> dict[str, Any]:
        """The --json output: audio, trace, spec, prompt (and takes with --takes N > 1)."""
        out = {"audio": str(self.audio_path), "trace": str(self.trace_path),
               "spec": self.spec.model_dump(mode="json"), "prompt": self.prompt}
        if self.take_paths:
            out["takes"] = [str(p) for p in self.take_paths]
        return out


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

    def write_take(self, audio: Audio, spec: MusicSpec, audio_format: str = "wav", name: str = "audio") -> Path:
        path = self.run_dir / f"{name}.{audio_format}"
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
        self.rationale_tries = self.config.agent.rationale_tries if llm_choice.rationale_tries is None \
            else llm_choice.rationale_tries
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

    def _make_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, trace: Trace, notify,
                    sink=None) -> tuple[list[tuple[Audio, Any]], int]:
        """Generate the takes once, or verify and repair when verification is on; returns
        ([(audio, analysis or None)], index of the best take)."""
        if not self._verify:
            return [(a, None) for a in self.music.generate_takes(spec, prompt, params, self._takes, sink)], 0
        from agent.verify import Verifier

        notify("verifying")
        batch, best = Verifier(self.music, trace, attempts=self.config.verify.attempts,
                               tolerance=self.config.verify.tempo_tolerance).run(spec, prompt, params, self._takes, sink)
        # by identity: takes hold arrays, so == between two of them is ambiguous
        return [(t.audio, t.analysis) for t in batch], next(k for k, t in enumerate(batch) if t is best)

    def run_id(self, cover: Cover, params: GenerationParams) -> str:
        key = f"{cover.sha256}|{self.profile_name}|{self.llm.model_id}|{self.music.model_id}|{params.duration_s}|{params.seed}"
        key += f"|takes={self._takes}" if self._takes > 1 else ""
        return hashlib.sha256(key.encode()).hexdigest()[:10]

    def new_trace(self, cover: Cover, run_id: str) -> Trace:
        return Trace(run_id=run_id, agent_mode=self.mode,
                     cover={"path": str(cover.path), "sha256": cover.sha256, "width": cover.original_size[0],
                            "height": cover.original_size[1], "format": cover.format},
                     backends={"vision": self.vision.describe_backend(), "llm": self.llm.describe_backend(),
                               "music": self.music.describe_backend(), "profile": {"backend": "profile", "model": self.profile_name}})

    def generate(self, cover: str | Path, out_dir: str | Path | None = None, duration: float | None = None,
                 seed: int | None = None, force: bool = False, verify: bool | None = None,
                 audio_format: str | None = None, log: bool = True, takes: int = 1, stream: bool = False,
                 on_stage: Callable[[str], None] | None = None) -> RunResult:
        """Describe the cover, let the agent plan the music, generate (and verify) it, write the run folder.
        `takes`: that many variations of the plan, made as one batch where the backend can; `stream`: write
        each take to a growing *.partial.wav while it is made."""
        params = self.params(duration, seed)
        self.set_output(verify, audio_format, takes, stream)
        loaded = load_cover(cover)  # every input is checked before anything is written
        run_id = self.run_id(loaded, params)
        run_dir = prepare_run_dir(Path(out_dir or self.config.defaults.output_dir), f"{loaded.stem}-{run_id}", force)
        trace = self.new_trace(loaded, run_id)
        writer = RunWriter(run_dir, trace)
        notify = on_stage or (lambda _name: None)
        with guarded(trace, writer):
            description = self.describe(loaded, trace, writer, notify)
            editor = SpecEditor(MusicSpec(duration_s=params.duration_s, seed=params.seed),
                                prior=self.ground(loaded, description, trace, writer))
            result = self.compose(editor, params, trace, writer, notify,
                                  plan=lambda agent: agent.run(self.mode, description.for_agent()))
        if log:
            self.log_single_run(loaded, description.text, result)
        return result

    def set_output(self, verify: bool | None, audio_format: str | None, takes: int = 1, stream: bool = False) -> None:
        self._verify = self.config.verify.enabled if verify is None else verify
        self._format = audio_format or self.config.defaults.audio_format
        if self._format not in ("wav", "flac"):
            raise InputError(f"--format {self._format} is not supported: use wav or flac")
        if not 1 <= takes <= MAX_TAKES:
            raise InputError(f"--takes {takes} is out of range: use 1 to {MAX_TAKES}")
        self._takes, self._stream = takes, stream

    def describe(self, cover: Cover, trace: Trace, writer: RunWriter, notify: Callable[[str], None]):
        writer.save()
        notify("describing")
        with stage(trace, "vision"):
            description = self.vision.describe(cover)
        trace.description = {"text": description.text, "details": description.details}
        trace.evidence = description.evidence.to_list()
        writer.save()
        return description

    def ground(self, cover: Cover, description, trace: Trace, writer: RunWriter):
        """The prior over every spec field from the description's evidence; evidence.png beside the trace."""
        from dataclasses import asdict

        from tools.grounding.picture import evidence_picture
        from tools.grounding.prior import Prior

        with stage(trace, "grounding"):
            prior = Prior(description.evidence)
            trace.affect = asdict(prior.affect)
            atomic_write(writer.run_dir / "evidence.png", evidence_picture(cover.image, description.evidence))
        writer.save()
        return prior

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
            take["sink"] = self._open_stream(writer, notify)
            with stage(trace, "music"):
                take["takes"], take["best"] = self._make_takes(editor.spec, prompt, take_params, trace, notify,
                                                               take["sink"])
            audio = take["takes"][0][0]
            made = f"{len(take['takes'])} takes of " if len(take["takes"]) > 1 else ""
            return f"ok: generated {made}{audio.duration_s:.1f} s of audio for: {prompt}"

        notify("thinking")
        try:
            with stage(trace, "agent"):
                settings = self.config.agent
                plan(Agent(self.chat_model, ToolBox(editor, trace, generate_music, tools), trace,
                           max_steps=settings.max_steps, max_retries=settings.max_retries, label=self.llm.label,
                           model_weight=settings.model_weight, rationale_tries=self.rationale_tries))
        finally:
            if take.get("sink") is not None:
                take["sink"].close()
                trace.stream = take["sink"].summary()
        trace.timings_ms["agent"] -= trace.timings_ms.get("music", 0)
        trace.warnings += [w for w in editor.warnings if w not in trace.warnings]
        notify("writing")
        with stage(trace, "write"):
            audio_path, paths = self._write_takes(writer, editor.spec, trace, take["takes"], take["best"])
            trace.status = "ok"
        writer.save()
        if take.get("sink") is not None:
            take["sink"].finish()
        return RunResult(run_dir=writer.run_dir, audio_path=audio_path, trace_path=writer.run_dir / "trace.json",
                         spec=editor.spec, prompt=trace.prompt or "", trace=trace, take_paths=paths)

    def _open_stream(self, writer: RunWriter, notify):
        if not self._stream:
            return None
        from tools.stream import PartialTakes

        sink = PartialTakes(writer.run_dir, self._takes)
        notify(f"streaming to {sink.path(0)}")
        return sink

    def _write_takes(self, writer: RunWriter, spec: MusicSpec, trace: Trace, takes: list, best: int):
        """One take: audio.FORMAT. Several: take-K.FORMAT each, listed in the trace; `trace.audio` (and the
        returned path) is the best one."""
        single = len(takes) == 1
        paths = [writer.write_take(audio, spec, self._format, "audio" if single else f"take-{k + 1}")
                 for k, (audio, _) in enumerate(takes)]
        entries = []
        for k, ((audio, analysis), path) in enumerate(zip(takes, paths)):
            entry = {"path": path.name, "sample_rate": audio.sample_rate, "duration_s": round(audio.duration_s, 3),
                     "channels": int(audio.samples.shape[0]), **audio.details}
            if analysis is not None:
                entry["measured"] = analysis.to_dict()
            entries.append(entry)
        trace.audio = entries[best]
        if not single:
            chosen = (trace.verification or {}).get("chosen")
            scores = {a.get("take"): a["score"] for a in trace.attempts if a["attempt"] == chosen}
            trace.takes = [{"take": k + 1, "path": e["path"], "measured": e.get("measured"), "score": scores.get(k + 1)}
                           for k, e in enumerate(entries)]
        return paths[best], ([] if single else paths)

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
