"""Rounds jobs offline: the outer step, a unit's round-start state and a whole job run locally.

docs/ROUNDS.md defines the protocol. This module is the part every party computes the same way from
committed data: the outer step (``G_r``, ``m_r`` and round ``r``'s included finals give ``G_r+1``,
``m_r+1``) and state 0 of each unit. Solvers train from it, verifiers and jurors check checkpoint 0
of a unit against it; nothing here talks to a chain (``node.rounds`` resolves ``RoundInputs`` from
one). ``simulate_rounds`` runs every unit of every round on one machine, for ``bench rounds``,
``crowdtrain train`` of a rounds spec and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
from blake3 import blake3
from torch import Tensor

from node.errors import SpecError
from node.runtime import optim
from node.runtime.models.base import f32
from node.runtime.ops import Ops
from node.storage import BlobStore
from node.trace import tensorfile
from node.trace.state import TrainState, state_hash
from node.training.data import Dataset
from node.training.session import TrainingSession
from node.training.spec import JobSpec, RoundsSpec
from node.training.unit import UnitId, unit_key

__all__ = [
    "RoundInputs",
    "RoundsRun",
    "UnitId",
    "apply_outer",
    "outer_delta",
    "outer_step",
    "round_start_state",
    "simulate_rounds",
    "start_from_delta",
    "unit_key",
]


def _rounds(spec: JobSpec) -> RoundsSpec:
    if spec.rounds is None:
        raise SpecError("the spec has no rounds section: it is not a rounds job")
    return spec.rounds


def outer_step(
    ops: Ops,
    spec: JobSpec,
    global_params: Mapping[str, Tensor],
    momentum: Mapping[str, Tensor],
    finals: Sequence[Mapping[str, Tensor]],
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(G_r+1, m_r+1)`` from ``G_r``, ``m_r`` and the included units' final parameters.

    ``finals`` are in increasing slot order. Per element, in float32:
    ``Δ = (Σ_w (G - θ_w)) / |S|`` (summed in slot order), ``m' = μ·m + Δ``,
    ``G' = G - lr·(Δ + μ·m')``. Each is a separate ``+ - * /`` kernel on CPU tensors with float32
    scalars: a correctly rounded IEEE operation per element, never a fused multiply-add (no
    ``alpha=``, ``addcmul`` or ``lerp``) and no reduction whose order could vary, so every node on
    any hardware and thread count gets the same bits, in every runtime (``ops`` is not needed: no
    op whose rounding a runtime chooses is involved). It is ``apply_outer`` of ``outer_delta``: an
    aggregator publishes Δ, and a worker holding ``G_r``, ``m_r`` gets the same bits from it.
    """
    del ops  # the same exact elementwise arithmetic in every runtime
    return apply_outer(spec, global_params, momentum, outer_delta(spec, global_params, finals))


def outer_delta(
    spec: JobSpec, global_params: Mapping[str, Tensor], finals: Sequence[Mapping[str, Tensor]]
) -> dict[str, Tensor]:
    """``Δ = (Σ_w (G - θ_w)) / |S|`` per parameter, summed in the given (slot) order."""
    _rounds(spec)
    if not finals:
        raise SpecError("the outer step needs at least one included unit")
    names = sorted(global_params)
    for i, final in enumerate(finals):
        if sorted(final) != names:
            raise SpecError(f"included unit #{i} does not hold the job's parameters")
    count = f32(len(finals))
    delta: dict[str, Tensor] = {}
    for name in names:
        g = _cpu32(global_params[name])
        total = g - _cpu32(finals[0][name])
        for final in finals[1:]:
            total = total + (g - _cpu32(final[name]))
        delta[name] = total / count
    return delta


def apply_outer(
    spec: JobSpec,
    global_params: Mapping[str, Tensor],
    momentum: Mapping[str, Tensor],
    delta: Mapping[str, Tensor],
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``m' = μ·m + Δ``, ``G' = G - lr·(Δ + μ·m')`` per parameter (``m`` empty: zero)."""
    rounds = _rounds(spec)
    names = sorted(global_params)
    if momentum and sorted(momentum) != names:
        raise SpecError("the outer momentum does not match the job's parameters")
    if sorted(delta) != names:
        raise SpecError("the outer delta does not match the job's parameters")
    lr, mu = f32(rounds.outer_lr), f32(rounds.outer_momentum)
    new_params: dict[str, Tensor] = {}
    new_momentum: dict[str, Tensor] = {}
    for name in names:
        g = _cpu32(global_params[name])
        d = _cpu32(delta[name])
        if d.shape != g.shape:
            raise SpecError(f"the outer delta of {name!r} is {list(d.shape)}, not {list(g.shape)}")
        m = _cpu32(momentum[name]) if momentum else torch.zeros_like(g)
        m_next = m * mu + d
        new_params[name] = g - (d + m_next * mu) * lr
        new_momentum[name] = m_next
    return new_params, new_momentum


def _cpu32(t: Tensor) -> Tensor:
    if t.dtype != torch.float32:
        raise SpecError(f"the outer step works on float32 tensors, got {t.dtype}")
    return t.detach().cpu()


@dataclass(frozen=True)
class RoundInputs:
    """What state 0 of a unit of round ``round_ + 1`` is computed from (all committed data).

    ``start`` is state 0 of the lowest included unit of round ``round_`` (it holds ``G_r`` and
    ``m_r``); ``finals`` the final state of each included unit; ``slot_last_final`` the final state
    of the slot's last included unit (any earlier round), for ``inner_state = carry``.
    """

    round_: int
    included: tuple[int, ...]
    start: TrainState
    finals: Mapping[int, TrainState]
    slot_last_final: TrainState | None = None


def _check_inputs(spec: JobSpec, unit: UnitId, inputs: RoundInputs) -> None:
    """SpecError unless ``inputs`` are round ``unit.round_ - 1``'s, each state of the unit it
    claims to be (by its RNG key and step): a state of another unit or round cannot slip in."""
    rounds = _rounds(spec)
    r = inputs.round_
    if r != unit.round_ - 1:
        raise SpecError(f"unit {unit} starts from round {unit.round_ - 1}, got round {r}'s units")
    inc = inputs.included
    if not inc or list(inc) != sorted(set(inc)) or inc[-1] >= rounds.workers or inc[0] < 0:
        raise SpecError(f"included slots {list(inc)} are not increasing slots of the job")
    if len(inc) < rounds.quorum:
        raise SpecError(f"{len(inc)} included units, the quorum is {rounds.quorum}")
    if set(inputs.finals) != set(inc):
        raise SpecError(f"final states of slots {sorted(inputs.finals)}, included {list(inc)}")
    start = inputs.start
    if start.step != 0 or start.rng_key != unit_key(spec, r, inc[0]):
        raise SpecError(f"the start state is not state 0 of unit (round {r}, slot {inc[0]})")
    for slot in inc:
        final = inputs.finals[slot]
        if final.step != spec.steps or final.rng_key != unit_key(spec, r, slot):
            raise SpecError(
                f"the final state of slot {slot} is not unit (round {r}, slot {slot})'s"
            )
    last = inputs.slot_last_final
    if last is not None:
        keys = {unit_key(spec, earlier, unit.slot) for earlier in range(unit.round_)}
        if last.step != spec.steps or last.rng_key not in keys:
            raise SpecError(f"slot_last_final is not a final state of slot {unit.slot}")


def round_start_state(session: TrainingSession, inputs: RoundInputs | None) -> TrainState:
    """State 0 of ``session``'s unit: the round-start state (docs/ROUNDS.md, Units).

    Round 0 (``inputs`` None): ``G_0`` (the spec's initial parameters), zero outer momentum, fresh
    optimizer state. Round ``r > 0``: ``G_r``, ``m_r`` by ``outer_step`` over round ``r-1``'s
    included units, and the inner optimizer state of the slot's last included unit (``carry``, when
    there is one) or a fresh one.
    """
    unit = session.unit
    if unit is None:
        raise SpecError("round_start_state needs a unit session (TrainingSession(unit=...))")
    spec = session.spec
    if unit.round_ == 0:
        if inputs is not None:
            raise SpecError("a unit of round 0 starts from the spec's initial state, not inputs")
        return session.initial_state()
    if inputs is None:
        raise SpecError(f"unit {unit} needs round {unit.round_ - 1}'s included units")
    _check_inputs(spec, unit, inputs)
    start = inputs.start
    params, momentum = outer_step(
        session.ops,
        spec,
        start.params,
        start.outer,
        [inputs.finals[slot].params for slot in inputs.included],
    )
    return _unit_start(session, params, momentum, inputs.slot_last_final)


def start_from_delta(
    session: TrainingSession,
    start: TrainState,
    delta: Mapping[str, Tensor],
    slot_last_final: TrainState | None,
) -> TrainState:
    """State 0 of ``session``'s unit (round ``r + 1``) from a published outer delta ``Δ_r``
    (docs/ROUNDS.md, "Aggregator"): ``start`` is state 0 of any unit of round ``r`` (it holds
    ``G_r`` and ``m_r``), ``slot_last_final`` as in ``RoundInputs``. Equal, bit for bit, to
    ``round_start_state`` when ``Δ_r`` is the true one; callers compare its stateHash with the
    publication's before they train from it."""
    unit = session.unit
    spec = session.spec
    if unit is None or unit.round_ == 0:
        raise SpecError("start_from_delta needs a unit session of round 1 or later")
    r = unit.round_ - 1
    keys = {unit_key(spec, r, w) for w in range(_rounds(spec).workers)}
    if start.step != 0 or start.rng_key not in keys:
        raise SpecError(f"the start state is not state 0 of a unit of round {r}")
    last = slot_last_final
    if last is not None:
        slot_keys = {unit_key(spec, earlier, unit.slot) for earlier in range(unit.round_)}
        if last.step != spec.steps or last.rng_key not in slot_keys:
            raise SpecError(f"slot_last_final is not a final state of slot {unit.slot}")
    params, momentum = apply_outer(spec, start.params, start.outer, delta)
    return _unit_start(session, params, momentum, slot_last_final)


def _unit_start(
    session: TrainingSession,
    params: dict[str, Tensor],
    momentum: dict[str, Tensor],
    last: TrainState | None,
) -> TrainState:
    """The unit's state 0 around ``G``, ``m``: the inner optimizer state of the slot's last
    included unit (``carry``, when there is one) or a fresh one."""
    if _rounds(session.spec).inner_state == "carry" and last is not None:
        optim_state = dict(last.optim)
    else:
        optim_state = optim.initial_state(session.optimizer, params)
    return session.start_state(params, optim_state, momentum)


@dataclass
class RoundsRun:
    """A rounds job run on one machine with every unit included."""

    losses: list[float]
    """Mean training loss of each round (over its units' steps)."""
    validation_losses: list[float | None]
    """Validation loss of ``G_r+1`` after each round (None without a validation split)."""
    final_params: dict[str, Tensor]
    final_momentum: dict[str, Tensor]
    unit_final_hashes: dict[UnitId, bytes] = field(default_factory=dict)

    def final_hash(self) -> bytes:
        """BLAKE3 of the final global parameters and momentum (canonical tensor bytes)."""
        named = {f"params.{n}": t for n, t in self.final_params.items()}
        named.update({f"outer.momentum.{n}": t for n, t in self.final_momentum.items()})
        hasher = blake3()
        for part in tensorfile.encode_parts(named, {"format": "crowdtrain-rounds-final-v1"}):
            hasher.update(part)
        return hasher.digest()


RoundCallback = Callable[[int, float, float | None], None]


def simulate_rounds(
    spec: JobSpec,
    dataset: Dataset,
    *,
    ops: Ops | None = None,
    device: torch.device | str = "cpu",
    store: BlobStore | None = None,
    on_round: RoundCallback | None = None,
) -> RoundsRun:
    """Every unit of every round, all slots included, in slot order: the job as the protocol
    computes it when nobody fails (``on_round(r, loss, validation_loss)`` after each round)."""
    rounds = _rounds(spec)
    blob_store = store
    reader = TrainingSession(spec, dataset, ops, device, store=blob_store)
    inputs: RoundInputs | None = None
    last_final: dict[int, TrainState] = {}
    run = RoundsRun([], [], {}, {})
    for r in range(rounds.rounds):
        starts: dict[int, TrainState] = {}
        finals: dict[int, TrainState] = {}
        total = 0.0
        for w in range(rounds.workers):
            unit = UnitId(r, w)
            session = TrainingSession(
                spec, dataset, reader.ops, device, store=blob_store, unit=unit
            )
            slot_inputs = (
                None if inputs is None else replace(inputs, slot_last_final=last_final.get(w))
            )
            state = starts[w] = round_start_state(session, slot_inputs)
            for _ in range(spec.steps):
                state = session.step(state)
                total += float(state.loss)
            finals[w] = last_final[w] = state
            run.unit_final_hashes[unit] = state_hash(state)
        inputs = RoundInputs(r, tuple(range(rounds.workers)), starts[0], finals)
        params, momentum = outer_step(
            reader.ops, spec, starts[0].params, starts[0].outer, [finals[w].params for w in finals]
        )
        run.final_params, run.final_momentum = params, momentum
        loss = total / (rounds.workers * spec.steps)
        val = reader.validation_loss(replace(starts[0], params=params))
        run.losses.append(loss)
        run.validation_losses.append(val)
        if on_round is not None:
            on_round(r, loss, val)
    return run
