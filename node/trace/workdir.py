"""A solver's local record of one training attempt, so a crash resumes instead of restarting.

Layout of ``work_dir``::

    progress.json          job, attempt, specHash and every checkpoint stored so far
    segments/000001.json   the K+1 stateHashes and K losses of each finished segment
    result.json            written once the trace is complete

Per-step hashes stay here (never in the manifest): the solver serves them only when a dispute asks.
Every file is replaced atomically (temp file + fsync + rename), and a segment is recorded only after
its checkpoint blob is stored, so after a SIGKILL at any instant the files describe a consistent
prefix of the run.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.errors import TraceError


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TraceError(f"cannot read {path}: {err}") from err


@dataclass(frozen=True)
class CheckpointRecord:
    """A stored checkpoint: index i (step i·K), its blob address and stateHash."""

    index: int
    step: int
    address: str
    state_hash: bytes
    validation_loss: float | None = None
    """Loss on the dataset's held-out split (reported, not part of the trace)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "step": self.step,
            "address": self.address,
            "state_hash": "0x" + self.state_hash.hex(),
        }
        if self.validation_loss is not None:
            data["validation_loss"] = self.validation_loss
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckpointRecord:
        return cls(
            int(data["index"]),
            int(data["step"]),
            str(data["address"]),
            bytes.fromhex(data["state_hash"][2:]),
            None if data.get("validation_loss") is None else float(data["validation_loss"]),
        )


class WorkDir:
    """Progress files of one ``(spec, jobId, attempt)``; refuses to mix different jobs."""

    def __init__(self, root: Path | str, *, spec_hash: bytes, job_id: int, attempt: int) -> None:
        self.root = Path(root)
        self.identity = {"spec_hash": "0x" + spec_hash.hex(), "job_id": job_id, "attempt": attempt}

    @property
    def progress_path(self) -> Path:
        return self.root / "progress.json"

    def segment_path(self, segment: int) -> Path:
        return self.root / "segments" / f"{segment:06d}.json"

    def checkpoints(self) -> list[CheckpointRecord]:
        """Checkpoints recorded so far (empty for a fresh work dir)."""
        if not self.progress_path.exists():
            return []
        data = read_json(self.progress_path)
        found = {k: data.get(k) for k in self.identity}
        if found != self.identity:
            raise TraceError(
                f"work dir {self.root} holds another run {found}, not {self.identity}: use a fresh --out"
            )
        try:
            records = [CheckpointRecord.from_json(c) for c in data["checkpoints"]]
        except (KeyError, TypeError, ValueError) as err:
            raise TraceError(f"{self.progress_path} is malformed: {err}") from err
        if [r.index for r in records] != list(range(len(records))):
            raise TraceError(f"{self.progress_path}: checkpoints are not 0..{len(records) - 1}")
        return records

    def record_checkpoint(self, records: list[CheckpointRecord]) -> None:
        write_json_atomic(
            self.progress_path,
            {"version": 1, **self.identity, "checkpoints": [r.to_json() for r in records]},
        )

    def write_segment(self, segment: int, state_hashes: list[bytes], losses: list[float]) -> None:
        write_json_atomic(
            self.segment_path(segment),
            {
                "segment": segment,
                "state_hashes": ["0x" + h.hex() for h in state_hashes],
                "losses": losses,
            },
        )

    def segment(self, segment: int) -> tuple[list[bytes], list[float]]:
        """The K+1 stateHashes and K losses of a finished segment (served in disputes)."""
        data = read_json(self.segment_path(segment))
        return [bytes.fromhex(h[2:]) for h in data["state_hashes"]], [
            float(v) for v in data["losses"]
        ]

    def write_result(self, result: dict[str, Any]) -> None:
        write_json_atomic(self.root / "result.json", result)
