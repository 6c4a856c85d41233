"""The explainable trace: typed steps (LLM calls, tool calls, fallbacks) written as JSON and Markdown."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from agent.records import (
    AffectRecord,
    Attempt,
    AudioRecord,
    BackendRecord,
    CatalogRecord,
    CoverRecord,
    DescriptionRecord,
    LevelCheck,
    SectionSpan,
    StreamRecord,
    TakeFile,
    Verification,
)
from tools.analysis import AudioAnalysis
from tools.errors import redact
from tools.grounding.decide import Decision
from tools.grounding.evidence import EvidenceRecord
from tools.spec import MusicSpec, rationale_key

Status = Literal["running", "ok", "failed", "interrupted"]


class Step(BaseModel):
    """One thing the agent did, in order."""

    index: int
    kind: Literal["llm_call", "tool_call", "fallback", "note"]
    name: str
    at_ms: int = Field(description="start, in ms since the run began")
    duration_ms: int = 0
    arguments: dict[str, JsonValue] | None = None  # a tool's arguments as the model sent them
    result: str | None = None
    error: str | None = None
    detail: dict[str, JsonValue] = {}  # an LLM call's tool calls and text; a preference's numbers


class Trace(BaseModel):
    """Everything a run did and why; rewritten to disk after every stage so nothing is lost."""

    version: int = 1
    run_id: str
    status: Status = "running"
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    cover: CoverRecord | None = None
    backends: dict[str, BackendRecord] = {}
    agent_mode: str | None = None
    description: DescriptionRecord | None = None
    evidence: list[EvidenceRecord] = []    # numbered E1..En
    affect: AffectRecord | None = None   # valence/energy read from the evidence, and the indices behind them
    catalog: CatalogRecord | None = None  # --catalog: the catalogue, its nearest covers and their evidence ids
    decisions: list[Decision] = []   # one per field decided
    steps: list[Step] = []
    spec: MusicSpec | None = None
    rationales: dict[str, str] = {}
    prompt: str | None = None
    audio: AudioRecord | None = None
    takes: list[TakeFile] = []  # --takes N > 1: every take written; `audio` is the best one
    stream: StreamRecord | None = None  # --stream: partial files, time to first audio
    attempts: list[Attempt] = []  # every measured take of every verification attempt
    verification: Verification | None = None
    sections: list[SectionSpan] = []  # the kept take's form, in seconds of the written audio
    level_checks: list[LevelCheck] = []  # verification: planned level ordering of neighbouring sections
    timings_ms: dict[str, int] = {}
    warnings: list[str] = []
    error: str | None = None

    def model_post_init(self, _context) -> None:
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()  # tool calls of one model message may run in parallel threads

    def now_ms(self) -> int:
        return int((time.perf_counter() - self._t0) * 1000)

    def add(self, kind: str, name: str, started_ms: int, **fields) -> Step:
        with self._lock:
            step = Step(index=len(self.steps) + 1, kind=kind, name=name, at_ms=started_ms,
                        duration_ms=self.now_ms() - started_ms, **fields)
            self.steps.append(step)
        return step

    def tool_calls(self, name: str | None = None) -> list[Step]:
        return [s for s in self.steps if s.kind == "tool_call" and (name is None or s.name == name)]

    def to_json(self) -> str:
        return redact(json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def read_trace(path) -> Trace:
    """A run folder's trace.json, read back through the same types it was written from."""
    from pathlib import Path

    return Trace.model_validate_json(Path(path).read_text(encoding="utf-8"))


@contextmanager
def stage(trace: Trace, name: str):
    """Adds the time spent inside to trace.timings_ms[name]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        trace.timings_ms[name] = trace.timings_ms.get(name, 0) + int((time.perf_counter() - start) * 1000)


def _fmt_args(args: dict[str, Any] | None) -> str:
    if not args:
        return ""
    shown = {k: v for k, v in args.items() if k != "rationale"}
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())


def _step_md(step: Step) -> str:
    head = f"{step.index}. **{step.kind.replace('_', ' ')}** `{step.name}` ({step.duration_ms} ms)"
    lines = [head]
    if step.kind == "llm_call":
        calls = step.detail.get("tool_calls") or []
        said = (step.detail.get("content") or "").strip()
        if calls:
            lines.append("   - asked for: " + "; ".join(f"`{c['name']}({_fmt_args(c.get('args'))})`" for c in calls))
        if said:
            lines.append(f"   - said: {said[:300]}")
    else:
        if step.arguments:
            lines.append(f"   - arguments: {_fmt_args(step.arguments)}")
            if step.arguments.get("rationale"):
                lines.append(f"   - because: {step.arguments['rationale']}")
        if step.result:
            lines.append(f"   - result: {step.result}")
    if step.error:
        lines.append(f"   - error: {step.error}")
    return "\n".join(lines)


def _evidence_lines(trace: Trace) -> str:
    return "\n".join(f"{e.id} [{e.kind}] {e.text}" for e in trace.evidence)


def _cell(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace("|", "/")


def _decision_row(d: Decision) -> str:
    prior = ", ".join(f"{_cell(o.value)} {o.score:.2f}" for o in d.prior[:3])
    model = d.model
    preferred = "not asked" if model is None else (f"{_cell(model.top)} ({model.method})" if model.top is not None
                                                   else f"no preference ({model.method})")
    source = "" if d.rationale_source == "model" else " _(composed from the evidence)_"
    return (f"| {d.field} | **{_cell(d.choice)}** | {d.decided_by} | {prior} | {preferred} | "
            f"{_cell(d.evidence[:4])} | {_cell(d.rationale)}{source} |")


def decisions_table(decisions: list[Decision]) -> str:
    """Per decision: what was chosen, by whom, the prior's top options, the model's preference, the
    evidence cited and the rationale (trace.md and the web app)."""
    head = ["| setting | chosen | decided by | prior's top options | model preferred | evidence | rationale |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    return "\n".join(head + [_decision_row(d) for d in decisions])


def _head_md(trace: Trace) -> list[str]:
    out = [f"# AlbumGen run {trace.run_id}", "", f"Status: **{trace.status}**" + (f" — {trace.error}" if trace.error else ""), ""]
    cover = trace.cover
    if cover:
        out += [f"Cover: `{cover.path}` ({cover.width}×{cover.height}, sha256 {cover.sha256[:12]}…)", ""]
    if trace.backends:
        out += ["## Backends", ""] + [f"- {kind}: {b.backend} — `{b.model}`" for kind, b in trace.backends.items()]
        out += [f"- agent mode: {trace.agent_mode}", ""]
    return out


def _grounding_md(trace: Trace) -> list[str]:
    out = []
    if trace.description:
        out += ["## What the cover shows", "", trace.description.text, ""]
    if trace.evidence and trace.description and trace.description.text != _evidence_lines(trace):
        out += ["## Evidence", "", _evidence_lines(trace), ""]
    if trace.evidence:
        out += ["The evidence as a picture: `evidence.png` (palette shares, OCR boxes, labels with confidence).", ""]
    if trace.affect:
        out += [f"Read from the evidence: valence {trace.affect.valence}, energy {trace.affect.energy} "
                f"({'; '.join(trace.affect.notes)}).", ""]
    out += _catalog_md(trace)
    if trace.decisions:
        out += ["## Decisions", "", decisions_table(trace.decisions), ""]
    return out


def _catalog_md(trace: Trace) -> list[str]:
    """The catalogue's nearest covers: which evidence id each is, its file, similarity and known music."""
    c = trace.catalog
    if not c:
        return []
    out = [f"## Similar covers in catalogue {c.name}", "",
           f"{len(c.neighbours)} nearest of {c.covers} covers ({c.embedder} embeddings, cosine similarity); "
           "thumbnails in `catalog.png`.", "", "![similar covers](catalog.png)", "",
           "| evidence | cover | similarity | genre | tempo | key | mode | energy | valence |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for ident, n in zip(c.evidence, c.neighbours):
        a = n.attributes
        key = "C C# D D# E F F# G G# A A# B".split()[a.key] if a.key is not None else "?"
        mode = {1: "major", 0: "minor"}.get(a.mode, "?")
        out.append(f"| {ident} | `{n.name}` | {n.similarity:.3f} | {a.genre} | {a.tempo:.0f} | {key} | "
                   f"{mode} | {_cell(a.energy)} | {_cell(a.valence)} |")
    if c.predictor:
        scores = "; ".join(f"{f} " + ", ".join(f"{m} {v}" for m, v in s.items()) for f, s in c.predictor.items())
        out += ["", f"Trained predictor (cross-validated): {scores}. Its predictions are the `predicted` evidence items."]
    return out + [""]


def _plan_md(trace: Trace) -> list[str]:
    out = ["## How the agent decided", ""] + [_step_md(s) for s in trace.steps] + [""] if trace.steps else []
    if trace.spec:
        out += ["## Music spec", ""]
        for key, value in trace.spec.model_dump(mode="json").items():
            if key == "sections":
                value = ", ".join(f"{x['name']} {x['bars']}" for x in value) + " (bars; the table under Form)"
            why = trace.rationales.get(rationale_key(key))
            out.append(f"- **{key}**: {value}" + (f" — _{why}_" if why and key not in ("energy", "valence") else ""))
        out.append("")
    if trace.prompt:
        out += ["## Prompt", "", f"> {trace.prompt}", ""]
    return out


def _audio_md(trace: Trace) -> list[str]:
    out, a = [], trace.audio
    if a:
        out += ["## Audio", "", f"`{a.path}` — {a.duration_s} s at {a.sample_rate} Hz, rendered by {a.renderer}", ""]
        if a.files:
            stems = [f for f in a.files if "stems/" in f]
            midi = [f for f in a.files if f.endswith(".mid")]
            out += [f"To take away: {', '.join(f'`{f}`' for f in midi)}" + (f"; stems {', '.join(f'`{f}`' for f in stems)}"
                    if stems else "") + f" (each as long as the mix, before the mix bus; space: {a.space or '-'}).", ""]
        if len(a.windows) > 1:
            out += [f"- window {i}: from {w.start_s} s, {w.new_s} s new, continuing {w.context_s} s, "
                    f"{w.frames} frames" for i, w in enumerate(a.windows, 1)] + [""]
        out += _diffusion_lines(a)
        out += [f"- take {t.take}: `{t.path}`" + (f" (score {t.score})" if t.score is not None else "")
                + (" ✔" if t.path == a.path else "") for t in trace.takes] + ([""] if trace.takes else [])
    if trace.stream:
        st = trace.stream
        out += [f"Streamed to {', '.join(f'`{p}`' for p in st.paths)}: first audio {st.first_audio_s} s after "
                f"the music started, {st.chunks} chunks.", ""]
    return out


def _diffusion_lines(a: AudioRecord) -> list[str]:
    """A diffusion engine's settings: steps, guidance, time, device; ACE-Step's structure tags; no stream."""
    if not a.steps:
        return []
    guidance = a.guidance_scale
    out = [f"{a.model}: {a.steps} steps, guidance "
           f"{guidance if guidance is not None else 'ignored (a guidance-distilled model)'}, {a.seconds} s "
           f"on {a.device} ({a.dtype}).", ""]
    if a.structure:
        tags = [line for line in a.structure.splitlines() if line and line != "[instrumental]"]
        out += [f"Structure tags: {' '.join(tags)} (each [instrumental]).", ""]
    if a.stream:
        out += [f"Stream: {a.stream}.", ""]
    return out


def _second_key(measured: AudioAnalysis) -> str:
    return f" / {measured.key_b} {measured.mode_b}" if measured.key_b else ""


def _attempt_row(a: Attempt) -> str:
    m, w = a.measured, a.wanted
    which = f"{a.attempt}" + (f" · take {a.take}" if a.take else "")
    decided = f"{a.decision}: {a.why or ''}" if a.decision else ""
    return (f"| {which}{' ✔' if a.chosen else ''} | {a.seed} | {w.tempo_bpm} → {m.tempo_bpm} ({a.tempo}) | "
            f"{w.key} {w.mode} → {m.key} {m.mode}{_second_key(m)} ({a.key}) | {a.score} | {decided} |")


def _verification_md(trace: Trace) -> list[str]:
    if not trace.attempts:
        return []
    return (["## Verification", "", "| attempt | seed | tempo wanted → measured | key wanted → measured (librosa / essentia) | score | decision |",
             "| --- | --- | --- | --- | --- | --- |"] + [_attempt_row(a) for a in trace.attempts] + [""])


def form_table_md(sections: list[SectionSpan]) -> list[str]:
    """The form as a table: when each section plays, its bars, level, chords and instruments."""
    if not sections:
        return []
    rows = [f"| {k} | {s.name} | {s.start_s:.1f}–{s.end_s:.1f} s | {s.bars} | {s.energy:.2f} | "
            f"{_cell(s.chords)} | {_cell(s.instruments)} |" + (f" {s.level_db:.1f} |" if s.level_db is not None else " |")
            for k, s in enumerate(sections, 1)]
    return ["## Form", "", "| # | section | time | bars | level | chords | instruments | measured dBFS |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"] + rows + [""]


def _levels_md(trace: Trace) -> list[str]:
    if not trace.level_checks:
        return []
    rows = [f"| {c.louder} > {c.quieter} | +{c.planned:.2f} | {c.measured_db:+.1f} dB | {'yes' if c.holds else '**no**'} |"
            for c in trace.level_checks]
    return ["Planned level ordering of neighbouring sections:", "",
            "| planned louder > quieter | planned difference | measured | holds |", "| --- | --- | --- | --- |"] + rows + [""]


def to_markdown(trace: Trace) -> str:
    """The same story as trace.json, for a person to read."""
    out = _head_md(trace) + _grounding_md(trace) + _plan_md(trace) + _audio_md(trace) + form_table_md(trace.sections)
    out += _verification_md(trace) + _levels_md(trace)
    if trace.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in trace.warnings] + [""]
    if trace.timings_ms:
        out += ["## Timings", "", " · ".join(f"{k} {v} ms" for k, v in trace.timings_ms.items()), ""]
    return redact("\n".join(out))
