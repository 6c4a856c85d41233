"""The AlbumGen web app (Gradio Blocks): upload a cover, hear it, refine it in chat, see the reasoning.

A thin shell over agent.api / agent.chat.session: each browser session has its own ChatSession (gr.State);
the pipelines (and so the loaded models) are shared per profile; Gradio's queue bounds concurrency.
"""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from agent.api import AlbumGen
from agent.chat.session import ChatSession, Reply
from agent.config import AppConfig, resolve
from agent.store import RunStore, TakeRow
from agent.trace import decisions_table, read_trace
from tools.cover import load_cover
from tools.edit_requests import Edit
from tools.errors import AlbumGenError, redact

STAGES = {"describing": 0.1, "thinking": 0.3, "composing": 0.55, "verifying": 0.75, "writing": 0.9}
SPEC_FIELDS = ("genre", "subgenre", "moods", "energy", "valence", "tempo_bpm", "key", "mode", "time_signature",
               "instruments", "era", "duration_s", "seed", "space", "form", "sections")


class WebApp:
    """Shared state of the server: the config, one AlbumGen per (profile, model), the run store path."""

    def __init__(self, config: AppConfig, profile: str | None, out_dir: str | None, catalog: str | None = None):
        self.config, self.out_dir, self.catalog = config, out_dir or config.defaults.output_dir, catalog
        self.default_profile = resolve(config, profile, catalog=catalog).profile  # a bad -p fails at start
        self._apps: dict[tuple[str, str], AlbumGen] = {}
        self._lock = threading.Lock()
        self.store = RunStore()  # opened (and migrated) once; every browser session writes through it

    def pipeline(self, profile: str, model: str) -> AlbumGen:
        key = (profile, model)
        with self._lock:
            if key not in self._apps:
                self._apps[key] = AlbumGen(self.config, profile=profile, model=None if model == "(profile)" else model,
                                           catalog=self.catalog)
            return self._apps[key]

    # -- event handlers ------------------------------------------------------------------------
    def check_upload(self, path: str | None):
        """Validate an upload at once: a preview of what the models will see, or the reason it is refused."""
        if not path:
            return None, ""
        try:
            cover = load_cover(path)
        except AlbumGenError as exc:
            return None, f"**Error:** {error_text(exc)}"
        return cover.image, f"Cover OK: {cover.original_size[0]}×{cover.original_size[1]} {cover.format}"

    def generate(self, path, profile, model, duration, seed, progress=gr.Progress()):
        if not path:
            return self._fail(None, "Upload a cover first.")
        try:
            load_cover(path)
            app = self.pipeline(profile, model)
            session, reply = ChatSession.start(app, self.store, path, self.out_dir, float(duration),
                                               None if seed in (None, "") or seed < 0 else int(seed),
                                               notify=lambda stage: progress(STAGES.get(stage, 0.5), desc=stage))
        except AlbumGenError as exc:
            return self._fail(None, error_text(exc))
        chat = [{"role": "assistant", "content": "\n".join(reply.lines)}]
        return self._render(session, reply, chat, f"Session {session.id}: take 1 ready.")

    def send(self, session: ChatSession | None, message: str, chat: list, progress=gr.Progress()):
        if session is None:
            return self._fail(None, "Generate a take first, then refine it here.", chat)
        if not message.strip():
            return self._render(session, None, chat, "")
        chat = chat + [{"role": "user", "content": message}]
        try:
            session.notify = lambda stage: progress(STAGES.get(stage, 0.5), desc=stage)
            reply = session.handle(message)
        except AlbumGenError as exc:
            return self._fail(session, error_text(exc), chat)
        chat = chat + [{"role": "assistant", "content": "\n".join(reply.lines) or "ok"}]
        return self._render(session, reply, chat, "")

    def edit_table(self, session: ChatSession | None, table, chat: list, progress=gr.Progress()):
        if session is None:
            return self._fail(None, "Generate a take first.", chat)
        try:
            edits, seed = table_edits(rows(table), session.spec)
            if not edits and seed == session.spec.seed:
                return self._render(session, None, chat, "")
            session.notify = lambda stage: progress(STAGES.get(stage, 0.5), desc=stage)
            reply = session.apply_edits(edits, "edited the spec table", seed=seed)
        except (AlbumGenError, ValueError) as exc:
            return self._fail(session, error_text(exc), chat)
        chat = chat + [{"role": "assistant", "content": "\n".join(reply.lines)}]
        return self._render(session, reply, chat, "")

    def open_run(self, run_id: str, profile: str, model: str, chat: list):
        if not run_id:
            return self._fail(None, "Pick a session from the history.", chat)
        try:
            row = self.store.session(run_id.split(" ")[0])
            session, reply = ChatSession.resume(self.pipeline(row.profile, "(profile)"), self.store, row.id)
        except AlbumGenError as exc:
            return self._fail(None, error_text(exc), chat)
        chat = [{"role": "assistant", "content": "\n".join(reply.lines)}]
        return self._render(session, reply, chat, f"Resumed session {session.id}.")

    def history(self):
        choices = [f"{r.id} · {r.kind} · {r.takes} takes · {Path(r.cover_path).name}"
                   for r in self.store.sessions(50) if r.kind == "chat"]
        return gr.update(choices=choices, value=None)

    # -- views ---------------------------------------------------------------------------------
    def _render(self, session: ChatSession, reply: Reply | None, chat: list, status: str):
        takes = session.store.takes(session.id)
        last_trace = next((t.trace_path for t in reversed(session.store.turns(session.id)) if t.trace_path), None)
        trace_md = Path(last_trace).with_suffix(".md").read_text(encoding="utf-8") if last_trace else ""
        prompt = takes[-1].prompt if takes else ""
        evidence, decisions = grounding_views(session)
        return (session, chat, spec_table(session.spec), prompt, trace_md, take_cards(takes), status, "", evidence,
                decisions)

    def _fail(self, session, message: str, chat: list | None = None):
        return (session, chat or [], gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"**Error:** {message}", gr.skip(),
                gr.skip(), gr.skip())


def grounding_views(session: ChatSession) -> tuple[str | None, str]:
    """evidence.png and the decisions table of the take planned from the cover (the session's first turn)."""

    first = next((t.trace_path for t in session.store.turns(session.id) if t.trace_path), None)
    if not first:
        return None, ""
    picture = Path(first).with_name("evidence.png")
    try:
        trace = read_trace(first)
    except (OSError, ValueError):  # a trace from an older version of AlbumGen: the picture alone
        return (str(picture) if picture.exists() else None), ""
    affect = trace.affect
    lines = [f"Valence {affect.valence}, energy {affect.energy} read from the evidence."] if affect else []
    table = decisions_table(trace.decisions) if trace.decisions else ""
    return (str(picture) if picture.exists() else None), "\n\n".join(lines + [table])


def error_text(exc: Exception) -> str:
    return redact(str(exc))


def rows(table) -> list[list[Any]]:
    if hasattr(table, "values"):  # a pandas DataFrame
        return table.values.tolist()
    return table or []


def spec_table(spec) -> list[list[str]]:
    from tools.spec import form_line

    data = spec.model_dump(mode="json")
    data["sections"] = form_line(spec.sections)
    return [[f, ", ".join(data[f]) if isinstance(data[f], list) else ("" if data[f] is None else str(data[f]))]
            for f in SPEC_FIELDS]


def table_edits(table: list[list[Any]], spec) -> tuple[list[Edit], int]:
    """The setter calls that turn the current spec into the edited table (validated by the tools)."""
    want = {str(r[0]): str(r[1]).strip() for r in table if len(r) >= 2}
    have = dict(spec_table(spec))
    why = "edited in the spec table"
    split = lambda v: [x.strip() for x in v.split(",") if x.strip()]  # noqa: E731
    edits: list[Edit] = []
    changed = {k for k in SPEC_FIELDS if want.get(k, have[k]) != have[k]}
    if changed & {"genre", "subgenre"}:
        edits.append(Edit("set_genre", {"genre": want["genre"], "subgenre": want.get("subgenre") or None, "rationale": why}))
    if changed & {"moods", "energy", "valence"}:
        edits.append(Edit("set_mood", {"moods": split(want["moods"]), "energy": float(want["energy"]),
                                       "valence": float(want["valence"]), "rationale": why}))
    if "tempo_bpm" in changed:
        edits.append(Edit("set_tempo", {"bpm": int(float(want["tempo_bpm"])), "rationale": why}))
    if changed & {"key", "mode"}:
        edits.append(Edit("set_key", {"key": want["key"], "mode": want["mode"], "rationale": why}))
    if "time_signature" in changed:
        edits.append(Edit("set_time_signature", {"time_signature": want["time_signature"], "rationale": why}))
    if "instruments" in changed:
        edits.append(Edit("set_instruments", {"instruments": split(want["instruments"]), "rationale": why}))
    if "era" in changed:
        edits.append(Edit("set_era", {"era": want["era"], "rationale": why}))
    if "duration_s" in changed:
        edits.append(Edit("set_duration", {"seconds": float(want["duration_s"]), "rationale": why}))
    if "space" in changed:
        edits.append(Edit("set_space", {"space": want["space"], "rationale": why}))
    if "form" in changed:
        edits.append(Edit("set_form", {"form": want["form"], "rationale": why}))
    elif "sections" in changed:
        edits.append(Edit("set_layout", {"layout": split(want["sections"]), "rationale": why}))
    seed = int(float(want.get("seed", have["seed"])))
    return edits, seed


def spectrogram(audio_path: Path) -> Path:
    """A log-frequency spectrogram PNG beside the audio (made once per take)."""
    out = audio_path.with_name("spectrogram.png")
    if out.exists():
        return out
    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt
    import numpy as np

    y, sr = librosa.load(str(audio_path), sr=22050, mono=True)
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=2048, hop_length=512)), ref=np.max)
    fig, ax = plt.subplots(figsize=(6, 2.2), dpi=100)
    librosa.display.specshow(db, sr=sr, hop_length=512, x_axis="time", y_axis="log", ax=ax, cmap="magma")
    ax.set_xlabel("")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _warnings(trace: Path) -> list[str]:
    """The take's warnings, as its trace recorded them (shown beside the take)."""
    try:
        return read_trace(trace).warnings
    except (OSError, ValueError):  # a trace being rewritten, or from an older version: no warnings to show
        return []


def take_cards(takes: list[TakeRow]) -> list[dict]:
    """What each take card shows: the audio, its files, warnings, spectrogram and title."""
    cards = []
    for n, take in enumerate(takes, start=1):
        audio, spec = Path(take.audio_path), take.spec
        extras = sorted(str(p) for p in [audio.with_name("sketch.mid"), *audio.parent.glob("stems/*.wav")] if p.exists())
        trace = audio.with_name("trace.json")
        cards.append({"n": n, "audio": str(audio), "trace": str(trace), "extras": extras, "warnings": _warnings(trace),
                      "spectrogram": str(spectrogram(audio)) if audio.exists() else None,
                      "title": f"Take {n} · {spec.genre} · {spec.tempo_bpm} BPM · {spec.key} {spec.mode} "
                               f"· seed {take.seed}"})
    return cards


def build(config: AppConfig, profile: str | None = None, out_dir: str | None = None,
          catalog: str | None = None) -> gr.Blocks:
    web = WebApp(config, profile, out_dir, catalog)
    with gr.Blocks(title="AlbumGen") as demo:
        ui = SimpleNamespace(session=gr.State(None), cards=gr.State([]))
        gr.Markdown("# AlbumGen\nTurn an album cover into music — and see why it sounds the way it does.")
        _controls(ui, config, web.default_profile)
        _views(ui)
        _takes(ui.cards)
        _wire(ui, web)
        demo.load(web.history, None, ui.runs)
    return demo


def _controls(ui: SimpleNamespace, config: AppConfig, default_profile: str) -> None:
    """The cover upload and the run settings."""
    with gr.Row():
        with gr.Column(scale=1):
            ui.upload = gr.File(label="Album cover (drop an image)", type="filepath", elem_id="cover")
            ui.preview = gr.Image(label="What the models see", interactive=False, height=240, elem_id="preview")
        with gr.Column(scale=1):
            engines = [(f"{name} ({p.music.backend})", name) for name, p in config.profiles.items()]
            ui.profile = gr.Dropdown(engines, value=default_profile, label="Profile (music engine)", elem_id="profile")
            ui.model = gr.Dropdown(["(profile)", *config.aliases], value="(profile)", label="Agent LLM",
                                   elem_id="model")
            ui.duration = gr.Slider(2, 60, value=min(10, config.defaults.duration_s), step=1, label="Seconds",
                                    elem_id="duration")
            ui.seed = gr.Number(value=-1, precision=0, label="Seed (-1: random)", elem_id="seed")
            ui.go = gr.Button("Generate", variant="primary", elem_id="generate")
    ui.status = gr.Markdown("", elem_id="status")


def _views(ui: SimpleNamespace) -> None:
    """The plan, its reasoning, the chat and the history."""
    with gr.Row():
        with gr.Column(scale=1):
            ui.spec = gr.Dataframe(headers=["field", "value"], column_count=(2, "fixed"), interactive=True,
                                   label="Music spec (edit a value to regenerate with the same seed)", elem_id="spec")
            ui.prompt = gr.Textbox(label="MusicGen prompt", interactive=False, elem_id="prompt")
            with gr.Accordion("Evidence and decisions", open=True):
                ui.evidence = gr.Image(label="Evidence (check it against the cover)", interactive=False,
                                       elem_id="evidence")
                ui.decisions = gr.Markdown(elem_id="decisions")
            with gr.Accordion("Reasoning (trace)", open=False):
                ui.trace = gr.Markdown(elem_id="trace")
        with gr.Column(scale=1):
            ui.chat = gr.Chatbot(label="Refine", height=320, elem_id="chat")
            ui.message = gr.Textbox(placeholder="slower, more jazz, add a saxophone, another take…", label="Message",
                                    elem_id="message")
            ui.send = gr.Button("Send", elem_id="send")
    with gr.Accordion("History", open=False):
        ui.runs = gr.Dropdown([], label="Earlier sessions", elem_id="history")
        with gr.Row():
            ui.refresh = gr.Button("Refresh")
            ui.open = gr.Button("Open and continue", elem_id="open-run")


def _takes(cards) -> None:
    @gr.render(inputs=cards)
    def show_takes(items):
        for card in reversed(items):
            with gr.Group(elem_classes=["take"]):
                gr.Markdown(f"**{card['title']}**", elem_classes=["take-title"])
                if card["warnings"]:
                    gr.Markdown("\n".join(f"⚠ {w}" for w in card["warnings"]), elem_classes=["take-warnings"])
                gr.Audio(card["audio"], label=f"Take {card['n']}", elem_classes=["take-audio"])
                if card["spectrogram"]:
                    gr.Image(card["spectrogram"], show_label=False, height=160)
                gr.File([card["audio"], card["trace"], *card["extras"]], label="Downloads (audio, trace, MIDI, stems)",
                        elem_classes=["take-files"])


def _wire(ui: SimpleNamespace, web: WebApp) -> None:
    outputs = [ui.session, ui.chat, ui.spec, ui.prompt, ui.trace, ui.cards, ui.status, ui.message, ui.evidence,
               ui.decisions]
    ui.upload.change(web.check_upload, ui.upload, [ui.preview, ui.status])
    ui.go.click(web.generate, [ui.upload, ui.profile, ui.model, ui.duration, ui.seed], outputs)
    ui.send.click(web.send, [ui.session, ui.message, ui.chat], outputs)
    ui.message.submit(web.send, [ui.session, ui.message, ui.chat], outputs)
    ui.spec.input(web.edit_table, [ui.session, ui.spec, ui.chat], outputs)
    ui.refresh.click(web.history, None, ui.runs)
    ui.open.click(web.open_run, [ui.runs, ui.profile, ui.model, ui.chat], outputs)


def serve(config: AppConfig, host: str, port: int, profile: str | None, out_dir: str | None,
          max_concurrent: int, catalog: str | None = None) -> None:
    demo = build(config, profile, out_dir, catalog)
    out = Path(out_dir or config.defaults.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    demo.queue(default_concurrency_limit=max_concurrent).launch(server_name=host, server_port=port,
                                                                 allowed_paths=[str(out)], show_error=True)
