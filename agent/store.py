"""The run store: every session, turn, spec, tool call and take in SQLite (WAL, ordered migrations).

Lives in the user data dir (ALBUMGEN_HOME overrides). Each write is one short transaction, so a process
killed at any point leaves only whole rows, and several processes can log to the same file at once.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, JsonValue

from agent.records import MadeWith
from tools.analysis import AudioAnalysis
from tools.errors import InputError, redact
from tools.files import default_home, utc_now
from tools.spec import MusicSpec


class SessionRow(BaseModel):
    """A chat session or a single generate run; `takes` and `turns` are counted by `sessions()`."""

    id: str
    kind: str
    created_at: str
    updated_at: str
    cover_path: str
    cover_sha256: str
    profile: str
    llm: str | None = None
    out_dir: str
    description: str | None = None
    status: str
    takes: int | None = None
    turns: int | None = None


class TurnRow(BaseModel):
    """One request of a session (None: the take planned from the cover) and what it became."""

    id: int
    session_id: str
    idx: int
    request: str | None = None
    created_at: str
    status: str
    spec: MusicSpec | None = None
    prompt: str | None = None
    changes: list[str] | None = None
    trace_path: str | None = None
    error: str | None = None


class TakeRow(BaseModel):
    """A finished take: its file, plan, measurement and what made it (for exact replay; None before v3)."""

    id: int
    session_id: str
    turn_id: int
    audio_path: str
    seed: int
    duration_s: float
    spec: MusicSpec
    prompt: str
    measured: AudioAnalysis | None = None
    created_at: str
    params: MadeWith | None = None


class ToolCallRow(BaseModel):
    id: int
    turn_id: int
    idx: int
    kind: str
    name: str
    arguments: dict[str, JsonValue] | None = None
    result: str | None = None
    error: str | None = None
    duration_ms: int | None = None


class MessageRow(BaseModel):
    role: str
    content: str


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection: taken at once (BEGIN IMMEDIATE), rolled back on
    any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one (executescript would commit the migration's transaction early)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _create_core(db: sqlite3.Connection) -> None:
    _script(db, """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            cover_path TEXT NOT NULL, cover_sha256 TEXT NOT NULL, profile TEXT NOT NULL, llm TEXT,
            out_dir TEXT NOT NULL, description TEXT, status TEXT NOT NULL DEFAULT 'open');
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
            idx INTEGER NOT NULL, request TEXT, created_at TEXT NOT NULL, status TEXT NOT NULL,
            spec TEXT, prompt TEXT, changes TEXT, trace_path TEXT, error TEXT, UNIQUE(session_id, idx));
        CREATE TABLE tool_calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT, turn_id INTEGER NOT NULL REFERENCES turns(id),
            idx INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, arguments TEXT, result TEXT,
            error TEXT, duration_ms INTEGER);
        CREATE TABLE takes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
            turn_id INTEGER NOT NULL REFERENCES turns(id), audio_path TEXT NOT NULL, seed INTEGER NOT NULL,
            duration_s REAL NOT NULL, spec TEXT NOT NULL, prompt TEXT NOT NULL, measured TEXT, created_at TEXT NOT NULL);
        CREATE INDEX turns_session ON turns(session_id, idx);
        CREATE INDEX takes_session ON takes(session_id, id);
    """)


def _create_memory(db: sqlite3.Connection) -> None:
    _script(db, """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
            role TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE INDEX messages_session ON messages(session_id, id);
    """)


def _take_params(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE takes ADD COLUMN params TEXT")


# Ordered migrations: append only; each runs once and is recorded in schema_migrations.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("create sessions, turns, tool calls and takes", _create_core),
    ("conversation memory", _create_memory),
    ("generation parameters of each take (for exact replay)", _take_params),
]


_now = utc_now  # the run log's time stamps (shared with the catalogues: tools.files)


class RunStore:
    """One SQLite file; open per process, short transactions, safe under concurrent writers."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_home() / "runs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self.db):  # one connection may serve several threads (the web app)
            yield self.db

    def migrate(self) -> int:
        with self.tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "applied_at TEXT NOT NULL)")
            done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            for version, (name, apply) in enumerate(MIGRATIONS, start=1):
                if version not in done:
                    apply(db)
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, _now()))
        return len(MIGRATIONS)

    def close(self) -> None:
        self.db.close()

    # -- writes ------------------------------------------------------------------------------
    def new_session(self, kind: str, cover_path: str, cover_sha256: str, profile: str, llm: str, out_dir: str,
                    description: str | None = None) -> str:
        session_id = uuid.uuid4().hex[:12]
        with self.tx() as db:
            db.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?, 'open')",
                       (session_id, kind, _now(), _now(), cover_path, cover_sha256, profile, llm, out_dir, description))
        return session_id

    def set_description(self, session_id: str, description: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE sessions SET description=?, updated_at=? WHERE id=?", (description, _now(), session_id))

    def begin_turn(self, session_id: str, request: str | None) -> tuple[int, int]:
        with self.tx() as db:
            idx = db.execute("SELECT COALESCE(MAX(idx), 0) + 1 FROM turns WHERE session_id=?", (session_id,)).fetchone()[0]
            cur = db.execute("INSERT INTO turns (session_id, idx, request, created_at, status) VALUES (?,?,?,?, 'running')",
                             (session_id, idx, request, _now()))
            db.execute("UPDATE sessions SET updated_at=? WHERE id=?", (_now(), session_id))
        return cur.lastrowid, idx

    def finish_turn(self, turn_id: int, status: str, spec: dict | None = None, prompt: str | None = None,
                    changes: list[str] | None = None, trace_path: str | None = None, error: str | None = None,
                    steps: list[dict] | None = None) -> None:
        with self.tx() as db:
            db.execute("UPDATE turns SET status=?, spec=?, prompt=?, changes=?, trace_path=?, error=? WHERE id=?",
                       (status, _json(spec), prompt, _json(changes), trace_path, error and redact(error), turn_id))
            for i, step in enumerate(steps or [], start=1):
                db.execute("INSERT INTO tool_calls (turn_id, idx, kind, name, arguments, result, error, duration_ms) "
                           "VALUES (?,?,?,?,?,?,?,?)", (turn_id, i, step["kind"], step["name"], _json(step.get("arguments")),
                                                        step.get("result") and redact(step["result"]),
                                                        step.get("error") and redact(step["error"]), step.get("duration_ms")))

    def add_take(self, session_id: str, turn_id: int, audio_path: str, seed: int, duration_s: float, spec: dict,
                 prompt: str, measured: AudioAnalysis | None, params: MadeWith | None = None) -> int:
        with self.tx() as db:
            cur = db.execute("INSERT INTO takes (session_id, turn_id, audio_path, seed, duration_s, spec, prompt, measured, "
                             "created_at, params) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (session_id, turn_id, audio_path, seed, duration_s, _json(spec), prompt,
                              _json(measured and measured.to_dict()), _now(), _json(params and params.model_dump())))
        return cur.lastrowid

    def add_message(self, session_id: str, role: str, content: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO messages (session_id, role, content, created_at) VALUES (?,?,?,?)",
                       (session_id, role, content, _now()))

    def close_session(self, session_id: str, status: str = "closed") -> None:
        with self.tx() as db:
            db.execute("UPDATE sessions SET status=?, updated_at=? WHERE id=?", (status, _now(), session_id))

    # -- reads -------------------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """A read, whole: the connection is shared by every thread of the process (web sessions), so a read
        takes the same lock as the writes and fetches its rows before letting go."""
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def session(self, session_id: str) -> SessionRow:
        row = self._rows("SELECT * FROM sessions WHERE id=? OR id LIKE ? ORDER BY created_at LIMIT 2",
                         (session_id, f"{session_id}%"))
        if len(row) != 1:
            what = "is ambiguous" if row else "not found"
            raise InputError(f"run {session_id!r} {what}: see `albumgen runs list` for ids")
        return SessionRow(**dict(row[0]))

    def sessions(self, limit: int = 20) -> list[SessionRow]:
        rows = self._rows("SELECT s.*, (SELECT COUNT(*) FROM takes t WHERE t.session_id=s.id) AS takes, "
                          "(SELECT COUNT(*) FROM turns u WHERE u.session_id=s.id) AS turns "
                          "FROM sessions s ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?", (limit,))
        return [SessionRow(**dict(r)) for r in rows]

    def turns(self, session_id: str) -> list[TurnRow]:
        return [TurnRow(**_decode(r)) for r in self._rows("SELECT * FROM turns WHERE session_id=? ORDER BY idx",
                                                          (session_id,))]

    def takes(self, session_id: str) -> list[TakeRow]:
        return [TakeRow(**_decode(r)) for r in self._rows("SELECT * FROM takes WHERE session_id=? ORDER BY id",
                                                          (session_id,))]

    def tool_calls(self, turn_id: int) -> list[ToolCallRow]:
        return [ToolCallRow(**_decode(r)) for r in self._rows("SELECT * FROM tool_calls WHERE turn_id=? ORDER BY idx",
                                                              (turn_id,))]

    def messages(self, session_id: str, last: int) -> list[MessageRow]:
        rows = self._rows("SELECT role, content FROM messages WHERE session_id=? ORDER BY id DESC LIMIT ?",
                          (session_id, last))
        return [MessageRow(**dict(r)) for r in reversed(rows)]

    def integrity(self) -> str:
        return self._rows("PRAGMA integrity_check")[0][0]


def _json(value) -> str | None:
    return None if value is None else redact(json.dumps(value, ensure_ascii=False))


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    """A row with its JSON columns parsed (the typed row validates them)."""
    row = dict(row)
    for key in ("spec", "changes", "arguments", "measured", "params"):
        if row.get(key):
            row[key] = json.loads(row[key])
    return row


def log_take(store: RunStore, session_id: str, turn_id: int, result, changes: list[str]) -> int:
    """Record a finished take: the turn's spec, prompt, changes, steps, and the take row with what made it
    (a repair may have changed seed, prompt and guidance; a take of a batch is replayed by remaking it)."""
    spec = result.spec.model_dump(mode="json")
    store.finish_turn(turn_id, "ok", spec=spec, prompt=result.prompt, changes=changes,
                      trace_path=str(result.trace_path), steps=[s.model_dump(mode="json") for s in result.trace.steps])
    return store.add_take(session_id, turn_id, str(result.audio_path), result.made.seed, result.spec.duration_s, spec,
                          result.made.prompt, result.measured, result.made)
