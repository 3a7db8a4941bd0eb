"""The verifier's durable memory (docs/PROTOCOL.md §3): findings, salts and every move, in SQLite.

A move is recorded as *planned* (with its salt) before its transaction is sent and marked *sent*
after it is mined, so a restart never forgets a salt it committed to, never re-sends a move it
made, and re-sends a planned move only after checking the chain (the decision logic reads the
chain's view first; the journal only breaks ties the chain cannot see, like salts and replays).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class MoveState(StrEnum):
    PLANNED = "planned"
    SENT = "sent"


@dataclass(frozen=True)
class StoredFinding:
    """A replay result: ``seg_root`` when it matched the manifest, else the reason."""

    job_id: int
    attempt: int
    segment: int
    outcome: str
    seg_root: bytes | None
    state_hashes: tuple[bytes, ...]


class VerifierJournal:
    """SQLite file in the verifier's data folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS findings (job_id INTEGER, attempt INTEGER, segment INTEGER,"
            " outcome TEXT NOT NULL, seg_root TEXT, state_hashes TEXT NOT NULL,"
            " PRIMARY KEY (job_id, attempt, segment));"
            "CREATE TABLE IF NOT EXISTS moves (key TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " salt TEXT NOT NULL, data TEXT NOT NULL);"
        )

    # --- findings ---

    def record_finding(self, f: StoredFinding) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO findings VALUES (?, ?, ?, ?, ?, ?)",
            (
                f.job_id,
                f.attempt,
                f.segment,
                f.outcome,
                None if f.seg_root is None else f.seg_root.hex(),
                json.dumps([h.hex() for h in f.state_hashes]),
            ),
        )

    def findings(self, job_id: int, attempt: int) -> dict[int, StoredFinding]:
        rows = self._db.execute(
            "SELECT segment, outcome, seg_root, state_hashes FROM findings"
            " WHERE job_id = ? AND attempt = ?",
            (job_id, attempt),
        ).fetchall()
        return {
            r[0]: StoredFinding(
                job_id,
                attempt,
                r[0],
                r[1],
                None if r[2] is None else bytes.fromhex(r[2]),
                tuple(bytes.fromhex(h) for h in json.loads(r[3])),
            )
            for r in rows
        }

    # --- moves ---

    def plan(self, key: str, data: dict[str, Any] | None = None) -> bytes:
        """The salt of move ``key``, creating (and persisting) it on first use."""
        row = self._db.execute("SELECT salt FROM moves WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return bytes.fromhex(row[0])
        salt = secrets.token_bytes(32)
        self._db.execute(
            "INSERT INTO moves VALUES (?, ?, ?, ?)",
            (key, MoveState.PLANNED.value, salt.hex(), json.dumps(data or {}, sort_keys=True)),
        )
        return salt

    def mark_sent(self, key: str) -> None:
        self._db.execute("UPDATE moves SET state = ? WHERE key = ?", (MoveState.SENT.value, key))

    def move(self, key: str) -> tuple[MoveState, bytes, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT state, salt, data FROM moves WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return MoveState(row[0]), bytes.fromhex(row[1]), json.loads(row[2])

    def sent(self, key: str) -> bool:
        found = self.move(key)
        return found is not None and found[0] is MoveState.SENT

    def close(self) -> None:
        self._db.close()
