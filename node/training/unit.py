"""Which unit of a rounds job a session trains, and the RNG key that unit draws with (docs/ROUNDS.md).

Kept apart from ``node.training.rounds`` (the outer step and round-start states, which need a
``TrainingSession``) so the session can name its unit without an import cycle.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from node.errors import SpecError
from node.runtime.rng import RngKey
from node.training.spec import JobSpec


@dataclass(frozen=True)
class UnitId:
    """Unit ``(round_, slot)`` of a rounds job: slot ``slot`` of round ``round_`` (both from 0)."""

    round_: int
    slot: int

    def check(self, spec: JobSpec) -> None:
        """SpecError unless ``spec`` is a rounds job that has this unit."""
        if spec.rounds is None:
            raise SpecError(f"unit {self} of a spec without a rounds section")
        if not 0 <= self.round_ < spec.rounds.rounds:
            raise SpecError(f"round {self.round_} is outside the job's {spec.rounds.rounds} rounds")
        if not 0 <= self.slot < spec.rounds.workers:
            raise SpecError(f"slot {self.slot} is outside the job's {spec.rounds.workers} workers")


def unit_key(spec: JobSpec, round_: int, slot: int) -> RngKey:
    """The RNG key of unit ``(round_, slot)``: a hash of the spec's key, the round and the slot.

    Every slot of every round draws its own batches (and dropout masks) from its own domain, so
    slots see different data; the key sits in the unit's every state, which binds a state to its
    unit (``TrainingSession.step`` refuses a state whose key is not its unit's).
    """
    UnitId(round_, slot).check(spec)
    base = RngKey.from_seed(spec.seed)
    digest = hashlib.sha256(
        b"crowdtrain/unit-key/v1" + struct.pack("<IIQQ", base.k0, base.k1, round_, slot)
    ).digest()
    k0, k1 = struct.unpack("<II", digest[:8])
    return RngKey(k0, k1)
