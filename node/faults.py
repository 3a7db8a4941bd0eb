"""Test-only fault injection: a solver that cheats in one of the ways of docs/SECURITY.md, by name.

``CROWDTRAIN_FAULT=<name>[:<segment>]`` selects one attack (and the segment it targets, default 1).
It is read only from the environment — no CLI flag, so it never shows in ``--help`` — and only by
the few clearly marked ``FAULT HOOK`` lines in the trainer and the solver. With the variable unset
every hook returns its input unchanged. The point is to prove, in end-to-end tests, that each
attack a solver can commit is caught and slashed; the hooks are written so the cheat is internally
consistent (the solver commits exactly the trace it produced) wherever the attack allows it, which
is what a competent cheater would do.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import torch

from node.errors import ConfigError
from node.storage import BlobStore
from node.trace.state import TrainState
from node.training.data import ClassificationData, ShardedTokenData, TokenData
from node.training.session import TrainingSession

ENV = "CROWDTRAIN_FAULT"


class Fault(StrEnum):
    """One attack of docs/SECURITY.md that a solver can commit."""

    SKIP_STEP = "skip_step"
    """one interior step of the target segment is not computed (state copied forward)."""
    ALTER_STEP = "alter_step"
    """one interior step's parameters are nudged after the honest update."""
    OTHER_DATA = "other_data"
    """the target segment trains on other data (labels/tokens rotated)."""
    LOW_PRECISION = "low_precision"
    """the target segment's parameters are rounded to bfloat16 after each step."""
    FAKE_FINAL = "fake_final"
    """the final checkpoint holds fake weights (hashed consistently: finalStateHash ≠ honest leaf N)."""
    WRONG_INITIAL_STATE = "wrong_initial_state"
    """training starts from another job's parameters instead of the spec's initial state."""
    TAMPERED_CHECKPOINT = "tampered_checkpoint"
    """the optimizer state at checkpoint `segment` is altered; every step around it is honest."""
    STEP_HASHES_VS_SEGROOT = "step_hashes_vs_segroot"
    """the committed segRoot of the target segment is not a tree over the solver's step hashes."""
    STEP_HASHES_VS_CHECKPOINT = "step_hashes_vs_checkpoint"
    """the target segment's step leaf K carries a hash other than checkpoint leaf `segment`."""
    DUPLICATED_LEAF = "duplicated_leaf"
    """the target segment reuses another position's segRoot."""
    SILENT = "silent"
    """commit, then answer no dispute move."""
    WITHHOLD_CHECKPOINT = "withhold_checkpoint"
    """checkpoint `segment` is removed from storage after the commit."""
    WITHHOLD_MANIFEST = "withhold_manifest"
    """the manifest is removed from storage after the commit."""
    WITHHOLD_STEP_STATE = "withhold_step_state"
    """in a dispute, the disputed step state is never made available."""
    WITHHOLD_FINAL_MODEL = "withhold_final_model"
    """the final checkpoint (the model) is removed from storage after the commit."""
    FALSE_DATASET_CLAIM = "false_dataset_claim"
    """claim a job, then claim its (available) dataset is unavailable (a lying availability
    claim); once the jury rejects the claim, train honestly."""


@dataclass(frozen=True)
class FaultPlan:
    fault: Fault
    segment: int


def active() -> FaultPlan | None:
    """The fault selected by ``CROWDTRAIN_FAULT``; None when unset (every production run)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    name, _, segment = raw.partition(":")
    try:
        return FaultPlan(Fault(name), int(segment) if segment else 1)
    except ValueError:
        known = ", ".join(f.value for f in Fault)
        raise ConfigError(
            f"{ENV}={raw!r}: unknown fault (known: {known}; form name[:segment])"
        ) from None


def is_active(plan: FaultPlan | None, fault: Fault) -> bool:
    return plan is not None and plan.fault is fault


# --- trainer hooks ---


def initial_state(
    plan: FaultPlan | None, session: TrainingSession, state: TrainState
) -> TrainState:
    if not is_active(plan, Fault.WRONG_INITIAL_STATE):
        return state
    unit = None if session.unit is None else dataclasses.replace(session.unit, round_=0)
    other = TrainingSession(
        session.spec.with_overrides(seed=session.spec.seed + 1),
        None,
        session.ops,
        store=session.store,
        unit=unit,  # a rounds job: round 0's state 0 of another seed (other parameters)
    ).initial_state()
    return dataclasses.replace(state, params=other.params)


def _rotated(session: TrainingSession) -> TrainingSession:
    data = session.dataset
    other: ClassificationData | TokenData | ShardedTokenData
    if isinstance(data, ClassificationData):
        other = ClassificationData(data.x, torch.roll(data.y, 1))
    elif isinstance(data, ShardedTokenData):  # windows drawn over a shorter range: other data
        other = dataclasses.replace(data, train_tokens=data.train_tokens - 1)
    else:
        assert isinstance(data, TokenData)
        other = TokenData(torch.roll(data.tokens, 1), data.vocab, data.block_size)
    return TrainingSession(session.spec, other, session.ops, session.device, unit=session.unit)


def step(plan: FaultPlan | None, session: TrainingSession, prev: TrainState) -> TrainState:
    """``session.step(prev)``, or the target segment's faulty version of it."""
    if plan is None:
        return session.step(prev)
    k = session.spec.checkpoint_every
    segment, j = prev.step // k + 1, prev.step % k + 1
    if segment != plan.segment:
        return session.step(prev)
    interior = j == max(1, k // 2)
    if plan.fault is Fault.SKIP_STEP and interior:
        return dataclasses.replace(prev, step=prev.step + 1)
    if plan.fault is Fault.OTHER_DATA:
        return _rotated(session).step(prev)
    state = session.step(prev)
    if plan.fault is Fault.ALTER_STEP and interior:
        return dataclasses.replace(state, params={n: p + 1e-3 for n, p in state.params.items()})
    if plan.fault is Fault.LOW_PRECISION:
        rounded = {n: p.to(torch.bfloat16).to(torch.float32) for n, p in state.params.items()}
        return dataclasses.replace(state, params=rounded)
    return state


def at_checkpoint(
    plan: FaultPlan | None, segment: int, segments: int, state: TrainState
) -> TrainState:
    """The state stored as checkpoint ``segment`` (its hash is step leaf K and checkpoint leaf)."""
    if is_active(plan, Fault.TAMPERED_CHECKPOINT) and plan is not None and segment == plan.segment:
        return dataclasses.replace(state, optim={n: t * 0.5 for n, t in state.optim.items()})
    if is_active(plan, Fault.FAKE_FINAL) and segment == segments:
        gen = torch.Generator().manual_seed(1234)
        fake = {n: torch.rand(p.shape, generator=gen) for n, p in state.params.items()}
        return dataclasses.replace(state, params=fake)
    return state


def committed_step_hashes(
    plan: FaultPlan | None, segment: int, hashes: Sequence[bytes]
) -> list[bytes]:
    """The step hashes the solver commits to (and later opens) for ``segment``."""
    out = list(hashes)
    if (
        plan is not None
        and plan.fault is Fault.STEP_HASHES_VS_CHECKPOINT
        and segment == plan.segment
    ):
        out[-1] = b"\x5a" * 32
    return out


def committed_seg_roots(plan: FaultPlan | None, seg_roots: Sequence[bytes]) -> list[bytes]:
    """The segRoots the solver commits (position i-1 holds segment i)."""
    out = list(seg_roots)
    if plan is None or not out:
        return out
    i = min(plan.segment, len(out)) - 1
    if plan.fault is Fault.STEP_HASHES_VS_SEGROOT:
        out[i] = b"\xa5" * 32
    elif plan.fault is Fault.DUPLICATED_LEAF and len(out) > 1:
        out[i] = out[i - 1] if i > 0 else out[1]
    return out


# --- solver hooks ---


def _remove(store: BlobStore, address: str) -> None:
    path = getattr(store, "path", None)
    if path is None:
        raise ConfigError(f"{ENV}: withholding needs a local blob store, not {store!r}")
    path(address).unlink(missing_ok=True)


def after_commit(
    plan: FaultPlan | None, store: BlobStore, manifest_address: str, checkpoints: Sequence[str]
) -> None:
    """Withhold published blobs once the commitment is on-chain."""
    if plan is None:
        return
    if plan.fault is Fault.WITHHOLD_MANIFEST:
        _remove(store, manifest_address)
    elif plan.fault is Fault.WITHHOLD_CHECKPOINT:
        _remove(store, checkpoints[min(plan.segment, len(checkpoints) - 1)])
    elif plan.fault is Fault.WITHHOLD_FINAL_MODEL:
        _remove(store, checkpoints[-1])


def answers_disputes(plan: FaultPlan | None) -> bool:
    return not is_active(plan, Fault.SILENT)


def dataset_available(plan: FaultPlan | None, available: bool, *, claimed_before: bool) -> bool:
    """Whether the solver treats the job's dataset as available (``available``: what it found)."""
    if is_active(plan, Fault.FALSE_DATASET_CLAIM) and not claimed_before:
        return False
    return available


def publishes_step_state(plan: FaultPlan | None) -> bool:
    return not (is_active(plan, Fault.WITHHOLD_STEP_STATE) or is_active(plan, Fault.SILENT))
