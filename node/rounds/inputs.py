"""A unit's state 0 from committed data (docs/ROUNDS.md "Outer step", "How nodes resolve state 0").

Unit (r, w) of a rounds job starts from ``round_start_state(session, inputs)``: for r = 0 a pure
function of the spec; for r > 0 of the committed, finalized units of round r-1 that
``RoundsMarket.closeRound`` recorded as included. This module reads exactly those from the chain
(included mask, unit job ids, commitments) and the blob store (manifests, checkpoint 0 of the
lowest included unit, the final checkpoint of each included unit, the slot's last included final
state for ``carry``) and checks every byte it loads against the commitments before it is used: a
manifest must be the committed one and rebuild the committed ``stateRoot``, each checkpoint must
hash to its listed stateHash and decode to the job's layout. Solvers, verifiers and jurors call the
same ``expected_initial_state``, so they agree on state 0 bit for bit, or fail loudly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from node.chain.protocol import Protocol
from node.chain.types import JobStatus
from node.errors import CrowdtrainError
from node.storage import BlobStore
from node.trace.manifest import Manifest, parse_manifest
from node.trace.merkle import MerkleTree, checkpoint_leaf
from node.trace.state import TrainState
from node.training.checkpoint import load_checkpoint
from node.training.data import Dataset
from node.training.rounds import RoundInputs, round_start_state
from node.training.session import TrainingSession
from node.training.spec import JobSpec
from node.training.unit import UnitId, unit_key


class RoundsInputError(CrowdtrainError):
    """Raised when a unit's state 0 cannot be resolved yet or from what was published (the
    previous round is not closed, an included unit is not final, a blob is missing or corrupt)."""


@dataclass(frozen=True)
class UnitRef:
    """Where a unit sits: rounds job ``rounds_id``, round and slot ``unit``."""

    rounds_id: int
    unit: UnitId


def unit_of_job(protocol: Protocol, job_id: int) -> UnitRef | None:
    """The unit a JobMarket job is (``RoundsMarket.unitOf``), or None for a single job."""
    found = protocol.rounds_market.unit_of(job_id)
    if found is None:
        return None
    return UnitRef(found.rounds_id, UnitId(found.round, found.slot))


def job_session(
    protocol: Protocol,
    store: BlobStore,
    spec: JobSpec,
    job_id: int,
    dataset: Dataset | None,
    *,
    device: torch.device | str = "cpu",
) -> tuple[TrainingSession, UnitRef | None]:
    """The training session of job ``job_id``: a unit's session (its key, its schedule offset) when
    the job is a unit of a rounds job, the job's own otherwise."""
    ref = unit_of_job(protocol, job_id)
    if ref is not None and spec.rounds is None:
        raise RoundsInputError(f"job {job_id} is a unit but its spec has no rounds section")
    unit = None if ref is None else ref.unit
    return TrainingSession(spec, dataset, device=device, store=store, unit=unit), ref


def expected_initial_state(
    protocol: Protocol, store: BlobStore, session: TrainingSession, ref: UnitRef | None
) -> TrainState:
    """State 0 of the job ``session`` trains: the spec's initial state for a single job, the unit's
    round-start state for a unit (the outer step over the previous round's included units)."""
    if ref is None:
        return session.initial_state()
    return round_start_state(session, resolve_round_inputs(protocol, store, session.spec, ref))


def resolve_round_inputs(
    protocol: Protocol, store: BlobStore, spec: JobSpec, ref: UnitRef
) -> RoundInputs | None:
    """What ``round_start_state`` needs for unit ``ref`` (None in round 0), from the chain."""
    r = ref.unit.round_
    if r == 0:
        return None
    rounds_market = protocol.rounds_market
    previous = r - 1
    included = tuple(sorted(rounds_market.included_slots(ref.rounds_id, previous)))
    if not included:
        raise RoundsInputError(
            f"round {previous} of rounds job {ref.rounds_id} is not closed: no included units"
        )
    finals: dict[int, TrainState] = {}
    start: TrainState | None = None
    for w in included:
        job_id = unit_job_id(protocol, ref.rounds_id, UnitId(previous, w))
        first, final = committed_unit_states(
            protocol, store, spec, job_id, UnitId(previous, w), with_start=w == included[0]
        )
        finals[w] = final
        start = first if first is not None else start
    assert start is not None
    return RoundInputs(
        round_=previous,
        included=included,
        start=start,
        finals=finals,
        slot_last_final=slot_last_final(protocol, store, spec, ref, finals),
    )


def slot_last_final(
    protocol: Protocol,
    store: BlobStore,
    spec: JobSpec,
    ref: UnitRef,
    finals: dict[int, TrainState],
) -> TrainState | None:
    """The final state of the slot's last included unit before round r (``carry``), or None (
    ``fresh``, or a slot never included: its inner optimizer state starts fresh)."""
    assert spec.rounds is not None
    if spec.rounds.inner_state != "carry":
        return None
    slot = ref.unit.slot
    if slot in finals:
        return finals[slot]
    for earlier in range(ref.unit.round_ - 2, -1, -1):
        if slot in protocol.rounds_market.included_slots(ref.rounds_id, earlier):
            job_id = unit_job_id(protocol, ref.rounds_id, UnitId(earlier, slot))
            _, final = committed_unit_states(
                protocol, store, spec, job_id, UnitId(earlier, slot), with_start=False
            )
            return final
    return None


def unit_job_id(protocol: Protocol, rounds_id: int, unit: UnitId) -> int:
    job_id = protocol.rounds_market.unit_job(rounds_id, unit.round_, unit.slot)
    if job_id is None:
        raise RoundsInputError(f"rounds job {rounds_id} has no unit {unit} on-chain")
    return int(job_id)


def committed_unit_states(
    protocol: Protocol,
    store: BlobStore,
    spec: JobSpec,
    job_id: int,
    unit: UnitId,
    *,
    with_start: bool,
) -> tuple[TrainState | None, TrainState]:
    """(state 0 if ``with_start``, final state) of a finalized unit, as committed on-chain."""
    manifest = committed_manifest(protocol, store, spec, job_id, unit)
    start = _checkpoint(spec, store, manifest, 0, unit, job_id) if with_start else None
    final = _checkpoint(spec, store, manifest, len(manifest.checkpoints) - 1, unit, job_id)
    return start, final


def committed_start(
    protocol: Protocol, store: BlobStore, spec: JobSpec, job_id: int, unit: UnitId
) -> TrainState:
    """State 0 of a finalized unit, as committed on-chain (its final state is not fetched)."""
    return _checkpoint(
        spec, store, committed_manifest(protocol, store, spec, job_id, unit), 0, unit, job_id
    )


def committed_manifest(
    protocol: Protocol, store: BlobStore, spec: JobSpec, job_id: int, unit: UnitId
) -> Manifest:
    """The committed manifest of a finalized unit, checked against its commitment."""
    market = protocol.market
    job = market.get_job(job_id)
    if job.status is not JobStatus.FINALIZED:
        raise RoundsInputError(
            f"unit job {job_id} (round {unit.round_}, slot {unit.slot}) is {job.status.name}, "
            "not Finalized"
        )
    event = market.get_commitment(job_id)
    if event is None:
        raise RoundsInputError(f"unit job {job_id} has no commitment for attempt {job.attempt}")
    address = "sha256:" + event.manifest_hash.hex()
    try:
        manifest = parse_manifest(store.get(address))
    except CrowdtrainError as err:
        raise RoundsInputError(f"unit job {job_id}: manifest {address}: {err}") from err
    _check_manifest(manifest, spec, job_id, job.attempt, event.state_root, event.final_state_hash)
    return manifest


def _check_manifest(
    manifest: Manifest,
    spec: JobSpec,
    job_id: int,
    attempt: int,
    state_root: bytes,
    final_state_hash: bytes,
) -> None:
    """The manifest names this unit, this spec, and its checkpoint hashes rebuild the committed
    ``stateRoot`` (so checkpoint 0 and N are the committed ones)."""
    where = f"unit job {job_id}"
    if (manifest.job_id, manifest.attempt) != (job_id, attempt):
        raise RoundsInputError(
            f"{where}: manifest is for job {manifest.job_id} attempt {manifest.attempt}"
        )
    if bytes.fromhex(manifest.spec_hash[2:]) != spec.spec_hash():
        raise RoundsInputError(f"{where}: manifest names another spec")
    if len(manifest.checkpoints) != spec.segments + 1:
        raise RoundsInputError(
            f"{where}: manifest lists {len(manifest.checkpoints)} checkpoints, "
            f"not {spec.segments + 1}"
        )
    hashes = [bytes.fromhex(cp.state_hash[2:]) for cp in manifest.checkpoints]
    leaves = [checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)]
    if MerkleTree.build(leaves).root != state_root:
        raise RoundsInputError(f"{where}: manifest checkpoints do not rebuild the stateRoot")
    if hashes[-1] != final_state_hash:
        raise RoundsInputError(f"{where}: last checkpoint is not the committed finalStateHash")


def _checkpoint(
    spec: JobSpec, store: BlobStore, manifest: Manifest, index: int, unit: UnitId, job_id: int
) -> TrainState:
    cp = manifest.checkpoints[index]
    what = f"unit job {job_id} (round {unit.round_}, slot {unit.slot}) checkpoint {index}"
    try:
        state, _ = load_checkpoint(
            spec, store.get(cp.address), bytes.fromhex(cp.state_hash[2:]), what=what
        )
    except CrowdtrainError as err:
        raise RoundsInputError(f"{what}: {err}") from err
    if state.step != index * spec.checkpoint_every or cp.step != state.step:
        raise RoundsInputError(
            f"{what}: holds step {state.step}, not {index * spec.checkpoint_every}"
        )
    if state.rng_key != unit_key(spec, unit.round_, unit.slot):
        raise RoundsInputError(f"{what}: is not a state of that unit (RNG key mismatch)")
    return state
