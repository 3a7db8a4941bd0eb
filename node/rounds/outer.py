"""The bonded outer-step aggregator, node side (docs/ROUNDS.md, "Aggregator").

After round ``r`` closes, one staked node publishes ``Δ_r`` (the included units' averaged delta,
``outer_delta``) as a blob, with the stateHash of every unit ``(r+1, w)``'s state 0 built from it.
A solver of round ``r+1`` that holds ``G_r``, ``m_r`` (state 0 of its own round-``r`` unit) and its
slot's inner optimizer state then downloads that one blob instead of the round's W final states,
rebuilds state 0 with ``start_from_delta`` and trains from it only when its stateHash is the one
published for its slot; on any mismatch, missing blob or missing publication it computes state 0
itself (``expected_initial_state``), so a withholding or lying aggregator costs bytes, never
liveness. Verifiers and jurors never use a publication: they recompute, as before.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from torch import Tensor

from node.chain.events import OuterPublished
from node.chain.protocol import Protocol
from node.errors import CrowdtrainError
from node.rounds.inputs import (
    RoundsInputError,
    UnitRef,
    committed_start,
    committed_unit_states,
    expected_initial_state,
    resolve_round_inputs,
    slot_last_final,
    unit_job_id,
)
from node.storage import BlobStore
from node.trace import tensorfile
from node.trace.state import TrainState, state_hash
from node.training.rounds import outer_delta, round_start_state, start_from_delta
from node.training.session import TrainingSession
from node.training.spec import JobSpec
from node.training.unit import UnitId

log = logging.getLogger("crowdtrain.rounds")

OUTER_METADATA = {"format": "crowdtrain-outer-v1"}
_DELTA = "delta."


def encode_outer(delta: dict[str, Tensor]) -> bytes:
    """The outer blob: ``delta.<name>`` float32 tensors in safetensors (its address is sha256)."""
    return tensorfile.encode({_DELTA + n: t.contiguous() for n, t in delta.items()}, OUTER_METADATA)


def decode_outer(blob: bytes, params: dict[str, Tensor], what: str) -> dict[str, Tensor]:
    """Δ from an outer blob, checked tensor by tensor against the job's parameters (names, shapes,
    float32); RoundsInputError naming what is wrong. safetensors only: never unpickled."""
    try:
        tensors, metadata = tensorfile.decode(blob, what)
    except CrowdtrainError as err:
        raise RoundsInputError(f"{what}: {err}") from err
    if metadata != OUTER_METADATA:
        raise RoundsInputError(f"{what}: metadata {metadata} is not {OUTER_METADATA}")
    expected = {_DELTA + n for n in params}
    if set(tensors) != expected:
        raise RoundsInputError(
            f"{what}: tensors do not match the job (missing {sorted(expected - set(tensors))}, "
            f"unexpected {sorted(set(tensors) - expected)})"
        )
    delta: dict[str, Tensor] = {}
    for name, p in params.items():
        t = tensors[_DELTA + name]
        if t.dtype != p.dtype or t.shape != p.shape:
            raise RoundsInputError(
                f"{what}: {name!r} is {t.dtype} {list(t.shape)}, expected {p.dtype} {list(p.shape)}"
            )
        delta[name] = t
    return delta


@dataclass(frozen=True)
class OuterClaim:
    """What an honest aggregator publishes for round ``round_``: the blob and its sha256, and the
    stateHash of each unit ``(round_ + 1, w)``'s state 0, by slot."""

    rounds_id: int
    round_: int
    blob: bytes
    outer_hash: bytes
    state0_hashes: tuple[bytes, ...]


def honest_claim(
    protocol: Protocol, store: BlobStore, spec: JobSpec, rounds_id: int, round_: int
) -> OuterClaim:
    """Recompute round ``round_``'s outer step from committed data (the full path: every included
    final state) and every next-round unit's state 0; RoundsInputError when it cannot be yet."""
    assert spec.rounds is not None
    first = UnitRef(rounds_id, UnitId(round_ + 1, 0))
    inputs = resolve_round_inputs(protocol, store, spec, first)
    assert inputs is not None
    hashes = []
    for w in range(spec.rounds.workers):
        ref = UnitRef(rounds_id, UnitId(round_ + 1, w))
        slot_inputs = replace(
            inputs, slot_last_final=slot_last_final(protocol, store, spec, ref, dict(inputs.finals))
        )
        session = TrainingSession(spec, None, store=store, unit=ref.unit)
        hashes.append(state_hash(round_start_state(session, slot_inputs)))
    delta = outer_delta(
        spec, inputs.start.params, [inputs.finals[w].params for w in inputs.included]
    )
    blob = encode_outer(delta)
    return OuterClaim(rounds_id, round_, blob, hashlib.sha256(blob).digest(), tuple(hashes))


def published_initial_state(
    protocol: Protocol,
    store: BlobStore,
    session: TrainingSession,
    ref: UnitRef,
    published: OuterPublished,
) -> TrainState:
    """State 0 of unit ``ref`` from the publication: one blob (Δ) plus the worker's own round-start
    state and slot state; RoundsInputError unless its stateHash is the one published for the slot."""
    spec = session.spec
    r, slot = ref.unit.round_ - 1, ref.unit.slot
    what = f"outer blob of rounds job {ref.rounds_id} round {r}"
    included = protocol.rounds_market.included_slots(ref.rounds_id, r)
    if not included:
        raise RoundsInputError(f"round {r} of rounds job {ref.rounds_id} is not closed")
    # G_r, m_r: state 0 of our slot's own unit of round r when it was included (a returning worker
    # holds it), else of the lowest included unit
    own = slot in included
    source = UnitId(r, slot if own else included[0])
    source_job = unit_job_id(protocol, ref.rounds_id, source)
    last: TrainState | None
    if own:
        start, final = committed_unit_states(
            protocol, store, spec, source_job, source, with_start=True
        )
        assert start is not None
        last = final if spec.rounds is not None and spec.rounds.inner_state == "carry" else None
    else:
        start = committed_start(protocol, store, spec, source_job, source)
        last = slot_last_final(protocol, store, spec, ref, {})
    try:
        blob = store.get("sha256:" + published.outer_hash.hex())
    except CrowdtrainError as err:
        raise RoundsInputError(f"{what}: {err}") from err
    delta = decode_outer(blob, start.params, what)
    try:
        state = start_from_delta(session, start, delta, last)
    except CrowdtrainError as err:
        raise RoundsInputError(f"{what}: {err}") from err
    got, want = state_hash(state), published.state0_hashes[slot]
    if got != want:
        raise RoundsInputError(
            f"{what}: state 0 of slot {slot} hashes to 0x{got.hex()}, published 0x{want.hex()}"
        )
    return state


def solver_initial_state(
    protocol: Protocol,
    store: BlobStore,
    session: TrainingSession,
    ref: UnitRef | None,
    *,
    attempt: int,
) -> tuple[TrainState, bool]:
    """State 0 a solver trains from, and whether it came from a publication: from a standing
    publication when there is one and it checks out (first attempt only: a reopened unit may have
    been convicted for trusting it), else computed from the round's included final states
    (``expected_initial_state``)."""
    if ref is not None and ref.unit.round_ > 0 and attempt == 0:
        published = protocol.rounds_market.outer_publication(ref.rounds_id, ref.unit.round_ - 1)
        if published is not None:
            try:
                return published_initial_state(protocol, store, session, ref, published), True
            except RoundsInputError as err:
                log.warning("unit %s: not using the published outer step: %s", ref.unit, err)
    return expected_initial_state(protocol, store, session, ref), False
