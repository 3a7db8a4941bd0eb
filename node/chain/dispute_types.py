"""Typed on-chain data of the dispute game and its jury (``IDisputeGame``, ``IJury``): enums value
for value, frozen dataclasses for the structs, decoded by field name so the contracts may reorder
their structs for packing without breaking the client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

from eth_typing import ChecksumAddress

from node.chain.types import Wei


class DisputeKind(IntEnum):
    SEGMENT = 0
    INITIAL_STATE = 1
    AVAILABILITY = 2


class DisputePhase(IntEnum):
    NONE = 0
    OPENING = 1
    PROPOSE = 2
    CHOOSE = 3
    CONFIRM = 4
    JURY = 5
    RESOLVED = 6


class DisputeOutcome(IntEnum):
    NONE = 0
    SOLVER_WRONG = 1
    CHALLENGER_WRONG = 2
    VOID = 3


class Target(IntEnum):
    NONE = 0
    CHECKPOINT = 1
    MANIFEST = 2
    FINAL_MODEL = 3
    DATASET = 4


class JuryPhase(IntEnum):
    NONE = 0
    SEED = 1
    SALT = 2
    VOTING = 3
    DONE = 4


@dataclass(frozen=True)
class Dispute:
    """``IDisputeGame.Dispute``; ``solver`` is the respondent, ``challenger`` the claimant."""

    dispute_id: int
    job_id: int
    attempt: int
    segment: int
    kind: DisputeKind
    target: Target
    phase: DisputePhase
    outcome: DisputeOutcome
    solver_clock: int
    challenger_clock: int
    challenger: ChecksumAddress
    bond: Wei
    solver: ChecksumAddress
    commit_seq: int
    lo: int
    hi: int
    checkpoint_every: int
    num_segments: int
    opened_at: int
    last_move_at: int
    hash_lo: bytes
    hash_hi: bytes
    seg_root: bytes
    split_hash: bytes
    commitment: bytes

    @property
    def to_move(self) -> str | None:
        """Who must move in a clocked phase: "solver", "challenger" or None."""
        if self.phase in (DisputePhase.OPENING, DisputePhase.PROPOSE, DisputePhase.CONFIRM):
            return "solver"
        if self.phase is DisputePhase.CHOOSE:
            return "challenger"
        return None

    def clock_deadline(self) -> int | None:
        """Last second the party to move may still move (inclusive); None outside clocked phases."""
        who = self.to_move
        if who is None:
            return None
        left = self.solver_clock if who == "solver" else self.challenger_clock
        return self.last_move_at + left

    @property
    def pinned_step(self) -> int:
        """Global step ``j`` of the pinned pair (state j agreed, j + 1 disputed)."""
        return (self.segment - 1) * self.checkpoint_every + self.lo


@dataclass(frozen=True)
class Panel:
    """``IJury.Panel``: the jury of one dispute."""

    phase: JuryPhase
    round: int
    size: int
    solver: ChecksumAddress
    draw_deadline: int
    challenger: ChecksumAddress
    seed_block: int
    snapshot_block: int
    submitter: ChecksumAddress
    commit_deadline: int
    reveal_deadline: int
    salt: bytes


@dataclass(frozen=True)
class Vote:
    """``IJury.Vote``: one voter's commitment and reveal."""

    commitment: bytes
    digest: bytes
    revealed: bool
    juror: bool
    locked: Wei


def _decode(cls: type[Any], head: Mapping[str, Any], raw: Mapping[str, Any]) -> Any:
    enums = {"kind": DisputeKind, "target": Target, "outcome": DisputeOutcome}
    values: dict[str, Any] = dict(head)
    for f in fields(cls)[len(head) :]:
        v = raw[f.name]
        if f.name == "phase":
            values[f.name] = (DisputePhase if cls is Dispute else JuryPhase)(int(v))
        elif f.name in enums:
            values[f.name] = enums[f.name](int(v))
        elif isinstance(v, bytes | str | bool):
            values[f.name] = bytes(v) if isinstance(v, bytes) else v
        else:
            values[f.name] = int(v)
    return cls(**values)


def dispute_from_fields(dispute_id: int, raw: Mapping[str, Any]) -> Dispute:
    """``IDisputeGame.Dispute`` from its fields by (snake_case) name."""
    decoded: Dispute = _decode(Dispute, {"dispute_id": dispute_id}, raw)
    return decoded


def panel_from_fields(raw: Mapping[str, Any]) -> Panel:
    """``IJury.Panel`` from its fields by (snake_case) name."""
    decoded: Panel = _decode(Panel, {}, raw)
    return decoded
