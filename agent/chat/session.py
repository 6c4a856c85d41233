"""A chat session: the first turn plans a take from the cover; each later message edits that plan and
makes a new take (same seed unless asked otherwise). Everything is logged to the run store as it happens,
so a session survives a crash and can be resumed."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.api import AlbumGen
from agent.chat.refine import (
    Refinement,
    changes_anything,
    closest_choices,
    edit_problems,
    read_message,
    request_preference,
    suggestions,
)
from agent.records import DescriptionRecord
from agent.run.folder import guarded, prepare_run_dir
from agent.run.pipeline import RunOptions, RunResult
from agent.run.present import plan_lines, run_summary
from agent.store import RunStore, log_take
from tools.cover import load_cover
from tools.errors import InputError
from tools.grounding.request import is_feedback, is_question
from tools.spec import EDIT_TOOLS, MusicSpec, SpecEditor

MEMORY_MESSAGES = 8  # the conversation the model sees is bounded, however long the session runs
SLASH_HELP = "/spec, /trace, /takes, /undo, /seed N, /quit"


@dataclass
class Reply:
    """What one turn says back: lines for people, a dict for --json, and whether to stop."""

    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    quit: bool = False


class ChatSession:
    """Holds the loaded models (through `app`), the cover description and the stack of takes."""

    def __init__(self, app: AlbumGen, store: RunStore, session_id: str, cover, description: str, out_dir: Path,
                 options: RunOptions, notify: Callable[[str], None] | None = None):
        self.app, self.store, self.id, self.cover = app, store, session_id, cover
        self.description, self.out_dir = description, out_dir
        self.options = options  # this session's own: verify and format from config, one take per turn
        self.notify = notify or (lambda _name: None)
        self.history: list[MusicSpec] = []  # the spec of every take still on the undo stack
        self.pending: list[str] = []  # the readings offered when the last message could not be read
        self.prior = None  # the cover's grounding, kept from the first take (None in a resumed session)

    # -- starting and resuming ---------------------------------------------------------------
    @classmethod
    def start(cls, app: AlbumGen, store: RunStore, cover_path: str | Path, out_dir: str | Path | None = None,
              duration: float | None = None, seed: int | None = None, notify=None) -> tuple[ChatSession, Reply]:
        options = app.options(duration=duration, seed=seed)
        cover = load_cover(cover_path)
        app.music.check_duration(options.duration_s)
        root = Path(out_dir or app.config.defaults.output_dir)
        session_id = store.new_session("chat", str(cover.path), cover.sha256, app.profile_name, app.llm.model_id,
                                       str(root))
        session = cls(app, store, session_id, cover, "", prepare_run_dir(root, f"{cover.stem}-chat-{session_id}", False),
                      options, notify)
        reply = session._turn(None, SpecEditor(MusicSpec(duration_s=options.duration_s, seed=options.seed)))
        return session, reply

    @classmethod
    def resume(cls, app: AlbumGen, store: RunStore, session_id: str, notify=None) -> tuple[ChatSession, Reply]:
        row = store.session(session_id)
        if row.kind != "chat":
            raise InputError(f"run {row.id} is a single generate run, not a chat: use `albumgen runs replay {row.id}`")
        cover = load_cover(row.cover_path)
        takes = store.takes(row.id)
        session = cls(app, store, row.id, cover, row.description or "", Path(row.out_dir) / f"{cover.stem}-chat-{row.id}",
                      app.options(seed=takes[0].seed if takes else 0), notify)
        session.history = [t.spec for t in takes]
        if not session.history:  # crashed before the first take finished: start the plan again
            return session, session._turn(None, SpecEditor(MusicSpec()))
        return session, Reply([f"resumed session {row.id}: {len(takes)} takes; current take {len(takes)}",
                               f"audio       {takes[-1].audio_path}"], {"session": row.id, "takes": len(takes)})

    @property
    def spec(self) -> MusicSpec:
        return self.history[-1]

    def _editor(self) -> SpecEditor:
        """A listener's edits are made as asked; a coherence rule they break (a tempo outside the genre's
        range) becomes a warning of that turn, not a refusal."""
        return SpecEditor(self.spec, prior=self.prior, strict=False)

    # -- one message -------------------------------------------------------------------------
    def handle(self, line: str) -> Reply:
        text = line.strip()
        if not text:
            return Reply()
        if text.startswith("/"):
            return self._command(text)
        self.store.add_message(self.id, "user", text)
        if self.pending and text.isdigit():  # a number answers the readings offered last
            number, offered = int(text), self.pending
            if not 1 <= number <= len(offered):
                return Reply([f"choose 1-{len(offered)}, or say what to change"], {"choices": offered, "take": None})
            text = offered[number - 1]
        self.pending = []
        if is_feedback(text):  # praise alone ('honestly, I love it') asks for no change, from the reader or a model
            line = "keeping this take: say what to change ('slower', 'add saxophone') or ask for another take"
            self.store.add_message(self.id, "assistant", line)
            return Reply([line], {"session": self.id, "take": None, "choices": []})
        refinement = self._read(text)
        guided = self.app.mode == "guided"
        read = refinement.edits and (guided or refinement.explicit) and changes_anything(refinement, self.spec)
        if read or not guided:  # unread, a strong model reads it, with the reader's suggestions
            return self._turn(text, self._editor(), refinement=refinement)
        if is_question(text) and not refinement.edits:  # 'how did you pick the genre?': an answer, no take
            return self._answer()
        return self._offer(text, edit_problems(refinement, self.spec) if refinement.explicit else [])

    def _read(self, text: str) -> Refinement:
        """What the message asks; a guided model ranks the alternatives by calibrated log-probability."""
        prefer = request_preference(self.app.chat_model, text) if self.app.mode == "guided" else None
        return read_message(text, self.spec, prefer, self.app.config.agent.model_weight)

    def _answer(self) -> Reply:
        """A question about the plan: the current take's settings, and where each choice's reasons are."""
        spec = self.spec
        lines = [f"no take made: the current take is {spec.genre}, {spec.tempo_bpm} BPM, {spec.key} {spec.mode}, "
                 f"{', '.join(spec.moods)}; {', '.join(spec.instruments)}.",
                 "each choice, its evidence and its reasons: /trace (the settings as JSON: /spec)"]
        self.store.add_message(self.id, "assistant", lines[0])
        return Reply(lines, {"session": self.id, "take": None, "choices": []})

    def _offer(self, text: str, problems: list[str] | None = None) -> Reply:
        """Nothing to act on: no take; why (an edit that cannot be made), or the closest readings by number."""
        self.pending = closest_choices(text, self.spec)
        why = f"{problems[0]}." if problems else f"nothing to change could be read from {text!r}."
        lines = [f"no take made: {why} Did you mean:"]
        lines += [f"  {k}. {choice}" for k, choice in enumerate(self.pending, start=1)]
        lines.append("answer with a number, or say it another way")
        self.store.add_message(self.id, "assistant", lines[0])
        return Reply(lines, {"session": self.id, "take": None, "choices": self.pending})

    def apply_edits(self, edits, label: str, seed: int | None = None) -> Reply:
        """A take from explicit edits (the web app's spec table); a changed seed counts as an edit."""
        editor = self._editor()
        if seed is not None and seed != self.spec.seed:
            editor.spec = self.spec.model_copy(update={"seed": seed})
        self.store.add_message(self.id, "user", label)
        return self._turn(label, editor, edits=list(edits))

    def _command(self, text: str) -> Reply:
        name, _, arg = text.partition(" ")
        if name == "/quit":
            return Reply(["bye"], {"command": "quit"}, quit=True)
        if name == "/spec":
            return Reply([json.dumps(self.spec.model_dump(mode="json"), indent=2)], {"spec": self.spec.model_dump(mode="json")})
        if name == "/takes":
            takes = self.store.takes(self.id)
            lines = [f"{i}. seed {t.seed} · {t.spec.tempo_bpm} BPM · {t.spec.genre} · {t.audio_path}"
                     for i, t in enumerate(takes, start=1)]
            return Reply(lines or ["no takes yet"], {"takes": [t.audio_path for t in takes]})
        if name == "/trace":
            turns = [t for t in self.store.turns(self.id) if t.trace_path]
            if not turns:
                return Reply(["no trace yet"])
            return Reply([Path(turns[-1].trace_path).with_suffix(".md").read_text(encoding="utf-8")],
                         {"trace": turns[-1].trace_path})
        if name == "/undo":
            if len(self.history) < 2:
                return Reply(["nothing to undo: this is the first take"], {"undo": False})
            dropped = self.history.pop()
            changes = self.spec.changes_from(dropped)
            self.store.add_message(self.id, "assistant", f"undo: back to take {len(self.history)}")
            return Reply([f"undo: back to take {len(self.history)}"] + [f"  {c}" for c in changes],
                         {"undo": True, "changes": changes, "spec": self.spec.model_dump(mode="json")})
        if name == "/seed":
            if not arg.strip().isdigit():
                return Reply(["usage: /seed N (a whole number)"], {"error": "usage: /seed N"})
            editor = self._editor()
            editor.spec = self.spec.model_copy(update={"seed": int(arg)})
            return self._turn(f"/seed {arg.strip()}", editor, edits=[])
        return Reply([f"unknown command {name}: use {SLASH_HELP}"], {"error": f"unknown command {name}"})

    def _turn(self, request: str | None, editor: SpecEditor, edits=None, refinement: Refinement | None = None) -> Reply:
        """Run one take: plan or edit the spec, generate, write the take folder, log everything."""
        before = editor.spec
        turn_id, idx = self.store.begin_turn(self.id, request)
        run_dir = self.out_dir / f"take-{idx:02d}"
        run_dir.mkdir(parents=True, exist_ok=False)
        run = self.app.open_run(self.cover, run_dir, self.options.for_spec(before), self.notify,
                                run_id=f"{self.id}-{idx:02d}")
        try:
            with guarded(run.trace, run.writer):
                result = self._plan(run, editor, request, edits, refinement)
        except BaseException as exc:
            self.store.finish_turn(turn_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                                   trace_path=str(run_dir / "trace.json"), error=str(exc)[:500])
            raise
        changes = result.spec.changes_from(before) if request is not None else []
        log_take(self.store, self.id, turn_id, result, changes)
        self.history.append(result.spec)
        summary = f"take {idx}: " + ("; ".join(changes) if changes else "planned from the cover"
                                     if request is None else "no change")
        self.store.add_message(self.id, "assistant", summary)
        # a turn's warnings are its own (every take is a fresh run): the reply shows each of them once
        lines = self._describe(result, changes, idx, request is None, refinement)
        lines += [f"warning: {w}" for w in result.trace.warnings]
        return Reply(lines, {"session": self.id, "take": idx, "changes": changes, **run_summary(result)})

    def _plan(self, run, editor: SpecEditor, request: str | None, edits, refinement=None) -> RunResult:
        """The first turn plans from the cover; later turns edit the plan with the edit tools."""
        app = self.app
        if request is None:
            description, editor.prior = app.ground(self.cover, app.describe(self.cover, run), run)
            self.prior = editor.prior
            self.description = description.for_agent()
            self.store.set_description(self.id, self.description)
            return app.compose(editor, run, plan=lambda agent: agent.run(app.mode, self.description))
        run.trace.description = DescriptionRecord(text=self.description, reused=True)
        return app.compose(editor, run, plan=lambda agent: self._edit(agent, request, edits, refinement),
                           tools=EDIT_TOOLS)

    def _edit(self, agent, request: str, edits, refinement: Refinement | None) -> None:
        if edits is not None:  # from the web table or /seed: never re-interpreted
            agent.apply(edits, "the spec table")
            agent.finish()
            return
        if refinement is not None and refinement.reading is not None:
            agent.trace.evidence = refinement.reading.evidence.records()
            agent.trace.decisions += refinement.decisions
        if refinement is not None and refinement.edits and (self.app.mode == "guided" or refinement.explicit):
            agent.apply(refinement.edits, "the request reader")
            agent.finish()
            return
        history = "\n".join(f"{m.role}: {m.content}" for m in self.store.messages(self.id, MEMORY_MESSAGES))
        agent.refine(self.description, request, history, suggestions(refinement) if refinement else "")

    def _describe(self, result: RunResult, changes: list[str], number: int, first: bool,
                  refinement: Refinement | None = None) -> list[str]:
        if first:
            lines = plan_lines(result)
        else:
            lines = [f"  {c}" for c in changes] or ["  (the plan is unchanged)"]
            lines += [f"  because {line}" for line in (refinement.evidence_lines() if refinement else [])]
            if refinement is not None and refinement.respelled:
                lines.append("  read " + ", ".join(f"'{a}' as '{b}'" for a, b in refinement.respelled))
            if refinement is not None and refinement.held:
                lines.append(f"  kept {', '.join(refinement.held)} as asked")
        return [f"take {number} · session {self.id}"] + lines + [f"audio       {result.audio_path}"]


def show_session(store: RunStore, session_id: str) -> str:
    """`runs show`: each turn's trace as markdown."""
    row = store.session(session_id)
    parts = [f"# Session {row.id} ({row.kind}, {row.profile}, {row.created_at})", "", f"Cover: `{row.cover_path}`", ""]
    for turn in store.turns(row.id):
        parts.append(f"## Turn {turn.idx}: {turn.request or '(from the cover)'} — {turn.status}")
        path = Path(turn.trace_path) if turn.trace_path else None
        if path and path.with_suffix(".md").exists():
            parts.append(path.with_suffix(".md").read_text(encoding="utf-8"))
        elif turn.error:
            parts.append(f"error: {turn.error}")
    return "\n".join(parts)

