"""The solver's own durable record of what it has done (docs/PROTOCOL.md §3: restart-safe daemons).

A solver that crashes between claiming and committing must not claim twice, train from scratch,
or forget that a commit is pending. Every transition is written to a small SQLite file in the
solver's data folder *before* the next action, so a restart picks up exactly where it stopped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Phase(StrEnum):
    """Where the solver is with one (job, attempt)."""

    CLAIMED = "claimed"
    TRAINED = "trained"
    COMMITTED = "committed"
    FINALIZED = "finalized"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class JournalEntry:
    job_id: int
    attempt: int
    phase: Phase
    manifest: str | None


class SolverJournal:
    """SQLite-backed journal keyed by (job_id, attempt)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (job_id INTEGER, attempt INTEGER, phase TEXT NOT NULL,"
            " manifest TEXT, PRIMARY KEY (job_id, attempt))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS moves (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
        )

    def record(self, job_id: int, attempt: int, phase: Phase, manifest: str | None = None) -> None:
        self._db.execute(
            "INSERT INTO jobs (job_id, attempt, phase, manifest) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (job_id, attempt) DO UPDATE SET phase = excluded.phase,"
            " manifest = COALESCE(excluded.manifest, jobs.manifest)",
            (job_id, attempt, phase.value, manifest),
        )

    def get(self, job_id: int, attempt: int) -> JournalEntry | None:
        row = self._db.execute(
            "SELECT job_id, attempt, phase, manifest FROM jobs WHERE job_id = ? AND attempt = ?",
            (job_id, attempt),
        ).fetchone()
        return None if row is None else JournalEntry(row[0], row[1], Phase(row[2]), row[3])

    def active(self) -> list[JournalEntry]:
        """Entries still needing work (not finalized or abandoned), oldest first."""
        rows = self._db.execute(
            "SELECT job_id, attempt, phase, manifest FROM jobs WHERE phase NOT IN (?, ?)"
            " ORDER BY job_id, attempt",
            (Phase.FINALIZED.value, Phase.ABANDONED.value),
        ).fetchall()
        return [JournalEntry(r[0], r[1], Phase(r[2]), r[3]) for r in rows]

    def put_move(self, key: str, data: str) -> None:
        """Record a dispute move's local data (a vote salt and digest) before it is sent."""
        self._db.execute("INSERT OR REPLACE INTO moves VALUES (?, ?)", (key, data))

    def get_move(self, key: str) -> str | None:
        row = self._db.execute("SELECT data FROM moves WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()
