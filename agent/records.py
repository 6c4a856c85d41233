"""Typed records that travel between the stages of a run and make up the trace: the description, what
each verification attempt measured, the takes written and what made the kept take."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_serializer

from tools.analysis import AudioAnalysis
from tools.catalog.rows import Attributes


class Wanted(BaseModel):
    """What verification checked a take against: the plan's tempo, key and mode."""

    tempo_bpm: int | None
    key: str | None
    mode: str | None


class Attempt(BaseModel):
    """One measured take of one verification attempt: what was wanted, what was heard, the verdict."""

    attempt: int
    take: int | None = None  # its place in the attempt's batch with --takes N > 1
    seed: int
    prompt: str
    guidance_scale: float
    steps: int | None = None  # a diffusion engine's denoising steps when a repair changed them
    wanted: Wanted
    measured: AudioAnalysis
    tempo: str
    tempo_error: float | None
    key: str
    score: float
    met: bool
    decision: str | None = None
    why: str | None = None
    chosen: bool = False


class Verification(BaseModel):
    """How verification ended: the attempt kept (and its take), whether it met the spec, its score."""

    attempts: int
    chosen: int
    met: bool
    score: float
    tolerance: float
    take: int | None = None


class TakeFile(BaseModel):
    """A take written to the run folder, with its measurement and score when it was verified."""

    take: int
    path: str
    measured: AudioAnalysis | None = None
    score: float | None = None


class MadeWith(BaseModel):
    """What made the kept take, so that it can be made again: a repair may have changed seed, prompt and
    guidance; with --takes N the kept take is take `take` of a batch of `takes`."""

    seed: int
    prompt: str
    guidance_scale: float | None = None
    steps: int | None = None
    takes: int = 1
    take: int = 1


class SectionSpan(BaseModel):
    """One section of the kept take as written: seconds of the audio, bars, planned level, chords, players;
    `level_db` is what verification measured there."""

    name: str
    start_s: float
    end_s: float
    bars: int
    energy: float
    chords: list[str]
    instruments: list[str]
    level_db: float | None = None


class LevelCheck(BaseModel):
    """Whether two neighbouring sections planned at different levels came out in that order."""

    louder: str  # "chorus 2" (the section planned louder, numbered by its order in the take)
    quieter: str
    planned: float  # planned level difference (0..1)
    measured_db: float
    holds: bool


class CoverRecord(BaseModel):
    """The cover a run read: where it was, its content hash and its size before any downscaling."""

    path: str
    sha256: str
    width: int
    height: int
    format: str | None = None


class BackendRecord(BaseModel):
    """One backend of a run: its registry name and model id (a hosted endpoint's base URL; never a key)."""

    backend: str
    model: str
    base_url: str | None = None


class StreamRecord(BaseModel):
    """--stream: the partial files written while the takes were made and when the first audio appeared."""

    paths: list[str]
    first_audio_s: float | None = None
    chunks: int = 0
    seconds: list[float] = []


class AffectRecord(BaseModel):
    """Valence and energy read from the cover's evidence (tools.grounding.prior.Affect), with the indices they
    came from, the evidence ids used and how the words moved them."""

    valence: float
    energy: float
    pleasure_index: float
    arousal_index: float
    evidence: list[str] = []
    notes: list[str] = []


class Label(BaseModel):
    label: str
    confidence: float


class CoverText(BaseModel):
    text: str
    confidence: float


class DescriptionRecord(BaseModel):
    """What the vision backend said: its prose, and what it read besides (the offline describer's ImageNet
    labels and OCR text, a vision-language model's token count; `reused` in a chat turn)."""

    text: str
    labels: list[Label] | None = None
    cover_text: list[CoverText] | None = None
    generated_tokens: int | None = None
    reused: bool = False

    @classmethod
    def of(cls, description) -> DescriptionRecord:
        return cls(text=description.text, **description.details)


class NeighbourRecord(BaseModel):
    """A catalogue cover near this one: its file, similarity and known music."""

    cover: str
    name: str
    similarity: float
    attributes: Attributes


class CatalogRecord(BaseModel):
    """--catalog: the catalogue, its k nearest covers, their evidence ids and the trained predictor's scores."""

    name: str
    covers: int
    embedder: str
    k: int
    predictor: dict[str, dict[str, float]] | None = None
    neighbours: list[NeighbourRecord] = []
    evidence: list[str] = []


class Window(BaseModel):
    """One MusicGen window: where it starts, the seconds it adds, the seconds it continues, its frames."""

    start_s: float
    new_s: float
    segment: int
    context_s: float
    frames: int


class AudioRecord(BaseModel):
    """The kept take as written, and what made it: the engine's own facts (the sketch's soundfont and notes,
    MusicGen's windows and sampling, a diffusion engine's steps and device), its files and measurement."""

    model_config = ConfigDict(extra="forbid")  # a backend reporting a new fact must name it here

    path: str
    sample_rate: int
    duration_s: float
    channels: int
    renderer: str | None = None
    model: str | None = None
    loudness_lufs: float | None = None
    take: int | None = None
    batch: int | None = None
    seed: int | None = None
    warning: str | None = None
    files: list[str] = []
    measured: AudioAnalysis | None = None
    # the sketch
    soundfont: str | None = None
    instruments: list[str] | None = None
    notes: int | None = None
    space: str | None = None
    # MusicGen and audiocraft
    frames: int | None = None
    windows: list[Window] = []
    model_class: str | None = None
    guidance_scale: float | None = None
    temperature: float | None = None
    top_k: int | None = None
    melody: str | None = None
    quantized: str | None = None
    decoder_step: str | None = None  # "lean" (tools/music/musicgen_step.py) or "transformers"
    # the diffusion engines
    steps: int | None = None
    seconds: float | None = None
    device: str | None = None
    dtype: str | None = None
    stream: str | None = None
    structure: str | None = None
    shift: float | None = None
    negative_prompt: str | None = None

    @model_serializer(mode="wrap")
    def _reported(self, handler):
        """Only the facts this engine reported (a diffusion engine's null guidance says: ignored)."""
        keep = {"guidance_scale"} if self.steps else set()
        return {k: v for k, v in handler(self).items() if v not in (None, []) or k in keep}
