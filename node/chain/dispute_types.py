"""Typed on-chain data of the attestations and the dispute game (``IAttestations``,
``IDisputeGame``): enums value for value, frozen dataclasses for the structs."""

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
    JURY_SEED = 4
    JURY_SALT = 5
    VOTING = 6
    RESOLVED = 7


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
    round: int
    jury_size: int
    challenger: ChecksumAddress
    solver: ChecksumAddress
    bond: Wei
    commit_seq: int
    opened_at: int
    last_move_at: int
    solver_clock: int
    challenger_clock: int
    lo: int
    hi: int
    seed_block: int
    snapshot_block: int
    commit_deadline: int
    reveal_deadline: int
    hash_lo: bytes
    hash_hi: bytes
    seg_root: bytes
    split_hash: bytes
    salt: bytes

    @property
    def to_move(self) -> str | None:
        """Who must move in a clocked phase: "solver", "challenger" or None."""
        if self.phase in (DisputePhase.OPENING, DisputePhase.PROPOSE):
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


def dispute_from_fields(dispute_id: int, raw: Mapping[str, Any]) -> Dispute:
    """``IDisputeGame.Dispute`` from its fields by (snake_case) name, so the contract may reorder
    its struct for packing without breaking the client."""
    enums = {
        "kind": DisputeKind,
        "target": Target,
        "phase": DisputePhase,
        "outcome": DisputeOutcome,
    }
    values: dict[str, Any] = {"dispute_id": dispute_id}
    for f in fields(Dispute)[1:]:
        v = raw[f.name]
        if f.name in enums:
            values[f.name] = enums[f.name](int(v))
        elif isinstance(v, bytes | str):
            values[f.name] = bytes(v) if isinstance(v, bytes) else v
        else:
            values[f.name] = int(v)
    return Dispute(**values)


@dataclass(frozen=True)
class Vote:
    commitment: bytes
    digest: bytes
    revealed: bool
    locked: Wei
