"""The run pipeline: one run from cover to folder — describe → ground → plan → takes (verified) → run
folder. `generate`, `chat`, `replay` and the web app all run their stages through `Pipeline`.

A run's options are a frozen `RunOptions` passed down the stages, never state on the shared pipeline, so
one loaded pipeline serves concurrent runs (the web app); each backend's model is used by one run at a
time (`Backend.exclusive`).
"""
from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.config import AppConfig, load_config, resolve
from agent.planning.llm import LLM_BACKENDS
from agent.records import (
    AffectRecord,
    AudioRecord,
    CatalogRecord,
    DescriptionRecord,
    MadeWith,
    StreamRecord,
    TakeFile,
)
from agent.run.folder import RunWriter, guarded, prepare_run_dir
from agent.trace import Trace, stage
from tools.analysis import AudioAnalysis
from tools.cover import Cover, load_cover
from tools.errors import BackendError, InputError
from tools.json_values import as_json
from tools.limits import MAX_DURATION_S, MAX_SEED, MAX_TAKES, MIN_DURATION_S, fresh_seed
from tools.music import MUSIC_BACKENDS
from tools.music.base import Audio, GenerationParams
from tools.spec import SETTERS, MusicSpec, SpecEditor
from tools.vision import VISION_BACKENDS

AUDIO_FORMATS = ("wav", "flac")
# Two threads importing one package graph at once can each be handed the other's half-initialised module
# (Python's import deadlock avoidance: "cannot import name 'PytestTester' from partially initialized module
# 'scipy._lib._testutils'"), and the process keeps the broken module, so every later cover of a batch worker
# failed. A process's first describe (skimage, scipy, onnxruntime, torch) and the preload's imports of the music
# engine and the analysis libraries (librosa, scipy) take turns; the chat model (llama.cpp: ctypes and numpy,
# already loaded) loads alongside, and later describes run alongside anything.
_IMPORTS = threading.RLock()
_IMPORTED = threading.Event()


@contextlib.contextmanager
def _first_imports() -> Iterator[None]:
    """Holds the import turn through a process's first describe (until one succeeds)."""
    if _IMPORTED.is_set():
        yield
        return
    with _IMPORTS:
        yield
    _IMPORTED.set()


Notify = Callable[[str], None]


def _quiet(_stage: str) -> None:
    pass


@dataclass(frozen=True)
class RunOptions:
    """Everything one run asks for, validated once; each error names the flag and its allowed values."""

    duration_s: float
    seed: int
    verify: bool = True
    audio_format: str = "wav"
    takes: int = 1
    stream: bool = False
    genre: str | None = None  # a genre asked for (a batch row's hint): evidence the prior weighs decisively

    def __post_init__(self):
        if not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            raise InputError(f"--duration {self.duration_s:g} is out of range: use {MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds")
        if not 0 <= self.seed <= MAX_SEED:
            raise InputError(f"--seed {self.seed} is out of range: use 0 to {MAX_SEED}")
        if self.audio_format not in AUDIO_FORMATS:
            raise InputError(f"--format {self.audio_format} is not supported: use wav or flac")
        if not 1 <= self.takes <= MAX_TAKES:
            raise InputError(f"--takes {self.takes} is out of range: use 1 to {MAX_TAKES}")
        if self.genre is not None:
            from tools.vocab import vocabulary

            if self.genre not in vocabulary().genres:
                raise InputError(f"genre {self.genre!r} is not one AlbumGen knows: use one of "
                                 f"{', '.join(vocabulary().genres)}")

    @classmethod
    def resolve(cls, config: AppConfig, duration: float | None = None, seed: int | None = None,
                verify: bool | None = None, audio_format: str | None = None, takes: int = 1,
                stream: bool | None = None, genre: str | None = None) -> RunOptions:
        """The options of one run: what was asked, else config.yaml's defaults (and a fresh seed)."""
        return cls(duration_s=float(config.defaults.duration_s if duration is None else duration),
                   seed=fresh_seed() if seed is None else int(seed),
                   verify=config.verify.enabled if verify is None else verify,
                   audio_format=audio_format or config.defaults.audio_format, takes=takes,
                   stream=config.defaults.stream if stream is None else stream,
                   genre=genre)

    def for_spec(self, spec: MusicSpec) -> RunOptions:
        """The same options for a plan that sets its own duration and seed (a chat turn)."""
        return replace(self, duration_s=spec.duration_s, seed=spec.seed)


@dataclass(frozen=True)
class Run:
    """One run's own state, handed to every stage: options, trace, run folder and progress callback."""

    options: RunOptions
    trace: Trace
    writer: RunWriter
    notify: Notify = _quiet

    @property
    def run_dir(self) -> Path:
        return self.writer.run_dir


@dataclass
class RunResult:
    """A finished run: where its files are, the plan, and what made the kept take."""

    run_dir: Path
    audio_path: Path
    trace_path: Path
    spec: MusicSpec
    prompt: str
    trace: Trace
    made: MadeWith
    takes: list[TakeFile]
    take_paths: list[Path]  # --takes N > 1: all of them; audio_path is the best

    @property
    def measured(self) -> AudioAnalysis | None:
        """The kept take's measurement (None unverified)."""
        return next((t.measured for t in self.takes if t.path == self.audio_path.name), None)


@dataclass(frozen=True)
class MusicRequest:
    """What the agent hands the music stage: the finished plan, its prompt and the generation parameters."""

    spec: MusicSpec
    prompt: str
    params: GenerationParams


@dataclass
class _Made:
    """The takes of the music stage: audio, analyses and scores (None unverified), the best one."""

    audios: list[Audio]
    analyses: list[Any]
    scores: list[float | None]
    best: int
    prompt: str
    params: GenerationParams


class Pipeline:
    """One configured pipeline: backends picked by name from config.yaml; their models load on first use
    and stay loaded for every later run."""

    def __init__(self, config: AppConfig | None = None, profile: str | None = None, model: str | None = None,
                 chat_model=None, vision_model: str | None = None, base_url: str | None = None,
                 mmproj: str | None = None, catalog: str | None = None):
        """`model` / `vision_model`: an alias or BACKEND:MODEL overriding the profile's agent LLM / describer;
        `base_url` and `mmproj` go to the backends that take them. `chat_model`: any LangChain chat model with
        bind_tools, used instead of the configured LLM backend. `catalog`: a catalogue name whose nearest
        covers become evidence (default: config.yaml's catalog.default; "none" turns it off)."""
        self.config = config or load_config()
        self.setup = setup = resolve(self.config, profile, model, vision_model, base_url, mmproj, catalog)
        self.profile_name = setup.profile
        self.vision = VISION_BACKENDS.create(setup.vision.backend, setup.vision.options_dict(), setup.where("vision"))
        self.llm = LLM_BACKENDS.create(setup.llm.backend, setup.llm.options_dict(), setup.where("llm"))
        self.music = MUSIC_BACKENDS.create(setup.music.backend, setup.music.options_dict(), setup.where("music"))
        self.mode = self.llm.default_mode if setup.llm.mode == "auto" else setup.llm.mode
        self.rationale_tries = self.config.agent.rationale_tries if setup.llm.rationale_tries is None \
            else setup.llm.rationale_tries
        self._chat_model, self._chat_lock = chat_model, threading.Lock()
        self._preloading: threading.Thread | None = None
        self.catalog = None
        if setup.catalog is not None:
            from tools.catalog.lookup import Catalog

            self.catalog = Catalog(setup.catalog, self.config.catalog.k)

    @property
    def chat_model(self):
        with self._chat_lock:  # two runs starting together load the model once
            if self._chat_model is None:
                self._chat_model = self.llm.chat_model()
            return self._chat_model

    def preload(self) -> None:
        """Loads the agent's model, the music backend and the audio analysis libraries in a background thread,
        once per pipeline, while the cover is being read: in a fresh process they are ready when their stage
        starts (llama.cpp, numpy and onnxruntime release the interpreter while they work)."""
        with self._chat_lock:
            if self._preloading is not None:
                return
            self._preloading = threading.Thread(target=self._preload, name="albumgen-preload", daemon=True)
        self._preloading.start()

    def _preload(self) -> None:
        from tools.analysis import preload as analysis_libraries

        for load, turn in ((lambda: self.chat_model, contextlib.nullcontext()), (self.music.warm, _IMPORTS),
                           (analysis_libraries, _IMPORTS)):
            try:
                with turn:  # the scientific stack's imports never during the first describe's
                    load()
            except Exception:  # noqa: BLE001 - the stage that needs it loads it again and reports the error
                continue

    # -- a run's identity and parameters ---------------------------------------------------------
    def options(self, **asked: Any) -> RunOptions:
        return RunOptions.resolve(self.config, **asked)

    def params(self, options: RunOptions) -> GenerationParams:
        """The music backend's generation parameters for this run (its configured guidance and sampling)."""
        tuned = {k: getattr(self.music.options, k) for k in ("guidance_scale", "temperature", "top_k")
                 if hasattr(self.music.options, k)}
        try:
            return GenerationParams(duration_s=options.duration_s, seed=options.seed, **tuned)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def run_id(self, cover: Cover, options: RunOptions) -> str:
        key = f"{cover.sha256}|{self.profile_name}|{self.llm.model_id}|{self.music.model_id}|{options.duration_s}|{options.seed}"
        key += f"|takes={options.takes}" if options.takes > 1 else ""
        key += f"|genre={options.genre}" if options.genre else ""
        return hashlib.sha256(key.encode()).hexdigest()[:10]

    def new_trace(self, cover: Cover, run_id: str) -> Trace:
        return Trace(run_id=run_id, agent_mode=self.mode,
                     cover={"path": str(cover.path), "sha256": cover.sha256, "width": cover.original_size[0],
                            "height": cover.original_size[1], "format": cover.format},
                     backends={"vision": self.vision.describe_backend(), "llm": self.llm.describe_backend(),
                               "music": self.music.describe_backend(), "profile": {"backend": "profile", "model": self.profile_name}})

    def open_run(self, cover: Cover, run_dir: Path, options: RunOptions, notify: Notify | None = None,
                 run_id: str | None = None) -> Run:
        trace = self.new_trace(cover, run_id or self.run_id(cover, options))
        return Run(options, trace, RunWriter(run_dir, trace), notify or _quiet)

    # -- the whole run ---------------------------------------------------------------------------
    def run_cover(self, cover_path: str | Path, options: RunOptions, out_dir: str | Path | None = None,
                  force: bool = False, notify: Notify | None = None):
        """Cover → folder: returns (RunResult, the cover's description). Every input is checked before
        anything is written; from then on the trace is saved with its status whatever happens."""
        cover = load_cover(cover_path)
        self.music.check_duration(options.duration_s)
        name = f"{cover.stem}-{self.run_id(cover, options)}"
        run = self.open_run(cover, prepare_run_dir(Path(out_dir or self.config.defaults.output_dir), name, force),
                            options, notify)
        with guarded(run.trace, run.writer):
            description, prior = self.ground(cover, self.describe(cover, run), run)
            editor = SpecEditor(MusicSpec(duration_s=options.duration_s, seed=options.seed), prior=prior)
            result = self.compose(editor, run, plan=lambda agent: agent.run(self.mode, description.for_agent()))
        return result, description

    # -- the stages ------------------------------------------------------------------------------
    def describe(self, cover: Cover, run: Run):
        """The cover's description and numbered evidence, saved in the trace before anything else runs."""
        run.writer.save()
        self.preload()
        run.notify("describing")
        with stage(run.trace, "vision"), self.vision.exclusive(), _first_imports():
            description = self.vision.describe(cover)
        run.trace.description = DescriptionRecord.of(description)
        run.trace.evidence = description.evidence.records()
        run.writer.save()
        return description

    def ground(self, cover: Cover, description, run: Run):
        """(the description with catalogue evidence added, the prior over every spec field from its
        evidence); evidence.png beside the trace."""
        from dataclasses import asdict

        from tools.files import atomic_write
        from tools.grounding.picture import evidence_picture
        from tools.grounding.prior import Prior

        if self.catalog is not None:
            description = self.find_similar_covers(cover, description, run)
        if run.options.genre:
            description = self.hinted(description, run)
        with stage(run.trace, "grounding"):
            prior = Prior(description.evidence)
            from tools.optional import cover_warnings

            run.trace.warnings += cover_warnings(description.evidence)
            run.trace.affect = AffectRecord(**asdict(prior.affect))
            atomic_write(run.run_dir / "evidence.png", evidence_picture(cover.image, description.evidence))
        run.writer.save()
        return description, prior

    @staticmethod
    def with_evidence(description, run: Run, items):
        """The description with `items` numbered on after its evidence; the trace lists them all."""
        from dataclasses import replace as with_field

        from tools.grounding.catalog import extended

        evidence = extended(description.evidence, items)
        run.trace.evidence = evidence.records()
        return with_field(description, evidence=evidence)

    def hinted(self, description, run: Run):
        """The genre asked for as one more evidence item (kind hint), so the decision cites it."""
        from tools.grounding.evidence import Evidence

        genre = run.options.genre
        return self.with_evidence(description, run, [Evidence(id="", kind="hint", value=genre, confidence=1.0,
                                                              text=f"the batch row asks for {genre}",
                                                              detail={"field": "genre"})])

    def find_similar_covers(self, cover: Cover, description, run: Run):
        """The catalogue's k nearest covers and the trained predictor's guesses, as numbered evidence after
        the cover's own; the neighbours go into the trace with their files, similarity and attributes."""
        from tools.files import atomic_write
        from tools.grounding.catalog import neighbour_items, prediction_items
        from tools.grounding.picture import neighbours_picture

        run.notify("finding similar covers")
        with stage(run.trace, "catalog"):
            neighbours, predictions = self.catalog.find(cover.image)
            grounded = self.with_evidence(description, run, neighbour_items(self.catalog.name, neighbours)
                                          + prediction_items(self.catalog.name, predictions))
            atomic_write(run.run_dir / "catalog.png", neighbours_picture(neighbours))
        run.trace.catalog = CatalogRecord(**self.catalog.describe(), neighbours=[n.to_dict() for n in neighbours],
                                          evidence=[e.id for e in grounded.evidence.items[len(description.evidence):]])
        return grounded

    def compose(self, editor: SpecEditor, run: Run, plan: Callable[[Any], None],
                tools: tuple[str, ...] = SETTERS) -> RunResult:
        """The agent plans (`plan(agent)` edits the spec and ends by calling generate_music, which hands the
        finished plan over); then the pipeline makes the takes and writes them."""
        from agent.planning.loop import Agent, ToolBox

        handed: list[MusicRequest] = []
        run.notify("thinking")
        with stage(run.trace, "agent"):
            settings = self.config.agent
            toolbox = ToolBox(editor, run.trace, self._music_tool(editor, run, handed), tools,
                              lookups=self._lookups(editor))
            plan(Agent(self.chat_model, toolbox,
                       run.trace, max_steps=settings.max_steps, max_retries=settings.max_retries,
                       label=self.llm.label, model_weight=settings.model_weight,
                       rationale_tries=self.rationale_tries))
        run.trace.warnings += [w for w in editor.warnings if w not in run.trace.warnings]
        if not handed:  # Agent.finish calls generate_music when a model did not: a bug if we get here
            raise BackendError("music: the agent finished without handing over a plan")
        return self.make(handed[-1], run)

    def make(self, request: MusicRequest, run: Run) -> RunResult:
        """The music stage: generate (verify and repair) the takes of a finished plan, streaming them when
        asked, then write the run folder."""
        run.notify("composing")
        sink = self._open_stream(run)
        try:
            with stage(run.trace, "music"), self.music.exclusive():
                made = self._make_takes(request.spec, request.prompt, request.params, run, sink)
        finally:
            if sink is not None:
                sink.close()
                run.trace.stream = StreamRecord(**sink.summary())
        result = self._write(request.spec, run, made)
        if sink is not None:
            sink.finish()
        return result

    @staticmethod
    def _lookups(editor: SpecEditor) -> dict[str, Callable[[], str]]:
        """find_similar_covers, for a free model to read the neighbours again (the catalogue step has already
        found them and the prior weighs them whether or not a model asks: a small model must not be able to
        leave the catalogue out by not calling a tool)."""
        found = editor.prior.evidence.of_kind("neighbour", "predicted") if editor.prior is not None else []
        if not found:
            return {}

        def find_similar_covers() -> str:
            """The catalogue covers most like this one: their evidence ids, similarity and known music (genre, tempo, key, energy, valence). Cite the ids in rationales."""
            return "\n".join(e.line() for e in found)

        return {"find_similar_covers": find_similar_covers}

    def _music_tool(self, editor: SpecEditor, run: Run, handed: list[MusicRequest]) -> Callable[[], str]:
        def generate_music() -> str:
            """Render the current plan into the music prompt and generate the audio. Call it once, after every setting is decided."""
            from tools.prompt import render_prompt

            self._plan_form(editor, run)
            prompt = render_prompt(editor.spec, self.music.prompt_template)
            run.trace.spec, run.trace.rationales = editor.spec.model_copy(deep=True), dict(editor.rationales)
            run.trace.prompt = prompt
            run.writer.save()
            handed.append(MusicRequest(editor.spec, prompt, self.params(run.options.for_spec(editor.spec))))
            return f"ok: the plan goes to the music engine ({self.music.name}) for: {prompt}"

        return generate_music

    @staticmethod
    def _plan_form(editor: SpecEditor, run: Run) -> None:
        """The room and the form, decided from the evidence once the other fields are set (a chat turn keeps
        the ones it has: its edits re-fit them)."""
        from tools.errors import SpecError
        from tools.grounding.form import form_plan, space_plan

        plans = [] if editor.spec.space else [space_plan(editor.spec, editor.prior)]
        plans += [] if editor.spec.sections or editor.spec.missing() else [form_plan(editor.spec, editor.prior)]
        for plan in plans:
            try:
                getattr(editor, plan.tool)(**plan.arguments)
            except SpecError as exc:
                run.trace.warnings.append(f"{plan.decision.field} not planned from the evidence ({exc}): "
                                          "the renderer plans the genre's form")
                continue
            run.trace.decisions.append(plan.decision)

    def _make_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, run: Run, sink) -> _Made:
        """Generate the takes once, or verify and repair them when verification is on."""
        takes = run.options.takes
        if not run.options.verify:
            audios = self.music.generate_takes(spec, prompt, params, takes, sink)
            return _Made(audios, [None] * len(audios), [None] * len(audios), 0, prompt, params)
        from agent.run.verify import Verifier

        run.notify("verifying")
        verifier = Verifier(self.music, run.trace, attempts=self.config.verify.attempts,
                            tolerance=self.config.verify.tempo_tolerance)
        batch, best, _verification = verifier.run(spec, prompt, params, takes, sink)
        kept = next(k for k, t in enumerate(batch) if t is best)  # by identity: takes hold arrays
        return _Made([t.audio for t in batch], [t.analysis for t in batch], [t.verdict.score for t in batch], kept,
                     best.record.prompt, replace(params, seed=best.record.seed,
                                                 guidance_scale=best.record.guidance_scale, steps=best.record.steps))

    @staticmethod
    def _record_form(audio: Audio, run: Run) -> None:
        """trace.sections from the kept take; with verification, each section's level and the ordering checks."""
        from agent.records import SectionSpan

        if not audio.sections:
            run.trace.sections = []
            return
        if not run.options.verify:
            run.trace.sections = [SectionSpan(**s) for s in audio.sections]
            return
        from agent.run.verify import check_levels

        run.trace.sections, run.trace.level_checks = check_levels(audio)
        for c in run.trace.level_checks:
            if not c.holds:
                run.trace.warnings.append(f"{c.louder} was planned louder than {c.quieter} but measures "
                                          f"{-c.measured_db:.1f} dB quieter")

    def _open_stream(self, run: Run):
        if not run.options.stream:
            return None
        from tools.stream import PartialTakes

        sink = PartialTakes(run.run_dir, run.options.takes)
        run.notify(f"streaming to {sink.path(0)}")
        return sink

    def _write(self, spec: MusicSpec, run: Run, made: _Made) -> RunResult:
        """The takes into the run folder, their records into the trace; `trace.audio` is the best take."""
        run.notify("writing")
        trace = run.trace
        with stage(trace, "write"):
            paths = run.writer.write_takes(made.audios, spec, run.options.audio_format)
            takes = [TakeFile(take=k + 1, path=p.name, score=score if len(paths) > 1 else None,
                              measured=a)
                     for k, (p, a, score) in enumerate(zip(paths, made.analyses, made.scores))]
            best = takes[made.best]
            audio = made.audios[made.best]
            trace.audio = AudioRecord(path=best.path, sample_rate=audio.sample_rate,
                                      duration_s=round(audio.duration_s, 3), channels=int(audio.samples.shape[0]),
                                      files=_take_files(audio, best.path, len(paths)), measured=best.measured,
                                      **as_json(audio.details))
            trace.takes = takes if len(takes) > 1 else []
            self._record_form(audio, run)
            if audio.details.get("warning") and audio.details["warning"] not in trace.warnings:
                trace.warnings.append(audio.details["warning"])
            trace.status = "ok"
        run.writer.save()
        made_with = MadeWith(seed=made.params.seed, prompt=made.prompt, guidance_scale=made.params.guidance_scale,
                             steps=made.params.steps, takes=len(takes), take=made.best + 1)
        return RunResult(run_dir=run.run_dir, audio_path=paths[made.best], trace_path=run.run_dir / "trace.json",
                         spec=spec, prompt=trace.prompt or "", trace=trace, made=made_with, takes=takes,
                         take_paths=paths if len(paths) > 1 else [])


def _take_files(audio: Audio, path: str, takes: int) -> list[str]:
    """The kept take's extra files (MIDI, stems) as paths in the run folder."""
    home = "" if takes == 1 else f"{Path(path).stem}/"
    return [f"{home}{name}" for name in sorted(audio.extra_files)]
