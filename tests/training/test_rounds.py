"""Rounds jobs offline (docs/ROUNDS.md): the spec section, unit states, the exact outer step and a
whole job run locally."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from node.errors import SpecError, TraceError
from node.storage import LocalBlobStore, address_of
from node.trace.state import encode_state, state_hash
from node.training.checkpoint import load_checkpoint
from node.training.data import decode_dataset
from node.training.rounds import (
    RoundInputs,
    UnitId,
    outer_step,
    round_start_state,
    simulate_rounds,
    unit_key,
)
from node.training.session import TrainingSession
from node.training.spec import JobSpec, parse_spec
from node.training.trainer import train

ROUNDS = {"workers": 2, "rounds": 2, "quorum": 2}


def rounds_data(digits: bytes, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model": {"architecture": "mlp", "hidden": [16]},
        "dataset": {"address": address_of(digits), "format": "classification"},
        "optimizer": {"name": "adamw", "lr": 0.01, "grad_clip": 1.0, "weight_decay": 0.01},
        "batch_size": 16,
        "steps": 4,
        "checkpoint_every": 2,
        "seed": 7,
        "runtime": "repro-v1",
        "rounds": dict(ROUNDS),
    }
    data.update(changes)
    return data


def rounds_spec(digits: bytes, **changes: Any) -> JobSpec:
    """W=2, R=2, H=4 on the digits MLP: a whole job trains in well under a second."""
    return parse_spec(rounds_data(digits, **changes))


def _rounds_error(digits: bytes, **rounds: Any) -> str:
    with pytest.raises(SpecError) as err:
        rounds_spec(digits, rounds={**ROUNDS, **rounds})
    return str(err.value)


# --- spec ---


def test_rounds_section_is_validated_with_named_fields(digits: bytes) -> None:
    assert "rounds: quorum (3) exceeds workers (2)" in _rounds_error(digits, quorum=3)
    assert "rounds.workers: Input should be less than or equal to 64" in _rounds_error(
        digits, workers=65, quorum=1
    )
    assert "rounds.rounds: Input should be greater than or equal to 1" in _rounds_error(
        digits, rounds=0
    )
    assert "rounds.outer_momentum: Input should be less than 1" in _rounds_error(
        digits, outer_momentum=1.0
    )
    assert "rounds.outer_lr: Input should be greater than 0" in _rounds_error(digits, outer_lr=0)
    assert "rounds.inner_state: Input should be 'carry' or 'fresh'" in _rounds_error(
        digits, inner_state="warm"
    )
    assert "rounds.extra: Extra inputs are not permitted" in _rounds_error(digits, extra=1)
    with pytest.raises(SpecError, match=r"steps \(5\) must be a multiple of checkpoint_every"):
        rounds_spec(digits, steps=5)


def test_schedule_spans_every_round(digits: bytes) -> None:
    """Warmup may run past one unit (H = 4) but not past the job's R·H = 8 inner steps."""
    spec = rounds_spec(digits, schedule={"warmup_steps": 6, "decay": "linear"})
    assert spec.total_steps == 8
    session = TrainingSession(spec, None, unit=UnitId(1, 0))
    assert session.step_offset == 4
    assert session.schedule.lr_at(8) == 0.0  # the decay reaches min_lr at the job's last step
    with pytest.raises(SpecError, match=r"warmup_steps \(9\) exceeds steps x rounds.rounds \(8\)"):
        rounds_spec(digits, schedule={"warmup_steps": 9})


def test_specs_without_rounds_keep_their_bytes_and_state_hashes(digits: bytes) -> None:
    """Pinned from the code before rounds jobs existed: spec hash and a 3-step state hash."""
    data = rounds_data(digits, schedule={"warmup_steps": 2}, steps=12, checkpoint_every=4)
    del data["rounds"]
    spec = parse_spec(data)
    assert b"rounds" not in spec.canonical_json()
    assert (
        spec.spec_hash().hex() == "cad4f3699e5fdc5ad7a0b6fdb1e95fafa6c6cbcf70a648fdb3713b0efb3adad5"
    )
    session = TrainingSession(spec, decode_dataset(spec, digits))
    state = session.initial_state()
    assert state.outer == {}
    for _ in range(3):
        state = session.step(state)
    assert (
        state_hash(state).hex()
        == "522ae48abc81b96e5f5f96d704f29ebec3516f12cd2611adc7d33d1189408987"
    )
    assert "rounds" in rounds_spec(digits).canonical_json().decode()


# --- unit states ---


def test_unit_state_zero_is_deterministic_and_slots_draw_their_own_batches(digits: bytes) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    a = TrainingSession(spec, data, unit=UnitId(0, 0)).initial_state()
    again = TrainingSession(spec, data, unit=UnitId(0, 0)).initial_state()
    b = TrainingSession(spec, data, unit=UnitId(0, 1)).initial_state()
    assert state_hash(a) == state_hash(again)
    assert state_hash(a) != state_hash(b)  # same G_0, another key
    assert all(torch.equal(a.params[n], b.params[n]) for n in a.params)
    assert set(a.outer) == set(a.params) and all(
        float(m.abs().sum()) == 0 for m in a.outer.values()
    )
    keys = {unit_key(spec, r, w) for r in range(2) for w in range(2)}
    assert len(keys) == 4
    batches = {bytes(data.batch(k, 0, 0, 16)[1].numpy().tobytes()) for k in keys}
    assert len(batches) == 4
    with pytest.raises(SpecError, match="slot 2 is outside the job's 2 workers"):
        TrainingSession(spec, data, unit=UnitId(0, 2))
    with pytest.raises(SpecError, match="round_start_state"):
        TrainingSession(spec, data, unit=UnitId(1, 0)).initial_state()


def test_unit_state_round_trips_and_binds_to_its_unit(digits: bytes) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    session = TrainingSession(spec, data, unit=UnitId(0, 1))
    state = session.step(session.initial_state())
    assert state.outer is not None and set(state.outer) == set(state.params)
    blob, h = encode_state(state)
    loaded, _ = load_checkpoint(spec, blob, h)
    assert state_hash(loaded) == h and set(loaded.outer) == set(state.outer)
    other = TrainingSession(spec, data, unit=UnitId(0, 0))
    with pytest.raises(SpecError, match=r"does not belong to unit UnitId\(round_=0, slot=0\)"):
        other.step(state)
    # a plain job's layout has no outer momentum: a unit state is not one of its checkpoints
    plain = spec.model_copy(update={"rounds": None})
    with pytest.raises(TraceError, match=r"unexpected.*outer\.momentum"):
        load_checkpoint(plain, blob, h)


# --- the outer step ---


def _f32(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_outer_step_hand_checked(digits: bytes) -> None:
    spec = rounds_spec(digits, rounds={**ROUNDS, "outer_lr": 0.5, "outer_momentum": 0.5})
    g, m = {"w": _f32(1.0, 2.0)}, {"w": _f32(0.0, 1.0)}
    finals = [{"w": _f32(0.5, 2.0)}, {"w": _f32(0.25, 1.0)}]
    params, momentum = outer_step(spec_ops(spec), spec, g, m, finals)
    # Δ = ((1-.5)+(1-.25))/2 = .625, (0+1)/2 = .5; m' = .5·m + Δ; G' = G - .5·(Δ + .5·m')
    assert momentum["w"].tolist() == [0.625, 1.0]
    assert params["w"].tolist() == [1.0 - 0.5 * (0.625 + 0.3125), 2.0 - 0.5 * (0.5 + 0.5)]
    assert g["w"].tolist() == [1.0, 2.0]  # inputs untouched


def spec_ops(spec: JobSpec) -> Any:
    from node.runtime import get_ops

    return get_ops(spec.runtime)


def _reference(
    g: np.ndarray, m: np.ndarray, finals: list[np.ndarray], lr: float, mu: float
) -> tuple[np.ndarray, np.ndarray]:
    """Element by element with numpy float32 scalars (each op rounded to float32 on its own)."""
    lr32, mu32, n32 = np.float32(lr), np.float32(mu), np.float32(len(finals))
    out_g, out_m = np.empty_like(g), np.empty_like(g)
    for i in range(g.size):
        gi = g.flat[i]
        total = np.float32(gi - finals[0].flat[i])
        for f in finals[1:]:
            total = np.float32(total + np.float32(gi - f.flat[i]))
        delta = np.float32(total / n32)
        m_next = np.float32(np.float32(m.flat[i] * mu32) + delta)
        out_m.flat[i] = m_next
        step = np.float32(np.float32(delta + np.float32(m_next * mu32)) * lr32)
        out_g.flat[i] = np.float32(gi - step)
    return out_g, out_m


def test_outer_step_matches_a_per_element_float32_reference(digits: bytes) -> None:
    spec = rounds_spec(digits, rounds={**ROUNDS, "workers": 3, "outer_lr": 0.7})
    gen = torch.Generator().manual_seed(5)
    g = torch.randn(7, 9, generator=gen)
    m = torch.randn(7, 9, generator=gen) * 0.1
    finals = [g + torch.randn(7, 9, generator=gen) * 0.01 for _ in range(3)]
    params, momentum = outer_step(
        spec_ops(spec), spec, {"w": g}, {"w": m}, [{"w": f} for f in finals]
    )
    ref_g, ref_m = _reference(g.numpy(), m.numpy(), [f.numpy() for f in finals], 0.7, 0.9)
    assert np.array_equal(params["w"].numpy().view(np.int32), ref_g.view(np.int32))
    assert np.array_equal(momentum["w"].numpy().view(np.int32), ref_m.view(np.int32))


def test_outer_step_is_bitwise_the_same_on_any_thread_count(digits: bytes) -> None:
    spec = rounds_spec(digits)
    gen = torch.Generator().manual_seed(9)
    g = {"a": torch.randn(300_001, generator=gen), "b": torch.randn(64, 65, generator=gen)}
    m = {n: torch.randn(t.shape, generator=gen) * 0.1 for n, t in g.items()}
    finals = [
        {n: t + torch.randn(t.shape, generator=gen) * 0.01 for n, t in g.items()} for _ in "ab"
    ]
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            results.append(outer_step(spec_ops(spec), spec, g, m, finals))
    finally:
        torch.set_num_threads(threads)
    for name in g:
        for one, two in zip(results[0], results[1], strict=True):
            assert torch.equal(one[name].view(torch.int32), two[name].view(torch.int32))


# --- round-start states and whole jobs ---


def test_simulate_rounds_is_deterministic_and_round_one_starts_from_the_outer_step(
    digits: bytes,
) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    first = simulate_rounds(spec, data)
    second = simulate_rounds(spec, data)
    assert first.final_hash() == second.final_hash()
    assert first.unit_final_hashes == second.unit_final_hashes
    assert len(first.unit_final_hashes) == 4 and len(set(first.unit_final_hashes.values())) == 4
    assert len(first.losses) == 2 and first.losses[1] < first.losses[0]


def _round_zero(spec: JobSpec, data: Any) -> tuple[dict[int, Any], dict[int, Any]]:
    starts, finals = {}, {}
    for w in range(2):
        session = TrainingSession(spec, data, unit=UnitId(0, w))
        state = starts[w] = round_start_state(session, None)
        for _ in range(spec.steps):
            state = session.step(state)
        finals[w] = state
    return starts, finals


def test_carry_keeps_the_slot_optimizer_and_fresh_resets_it(digits: bytes) -> None:
    results = {}
    for mode in ("carry", "fresh"):
        spec = rounds_spec(digits, rounds={**ROUNDS, "inner_state": mode})
        data = decode_dataset(spec, digits)
        starts, finals = _round_zero(spec, data)
        inputs = RoundInputs(0, (0, 1), starts[0], finals, slot_last_final=finals[1])
        session = TrainingSession(spec, data, unit=UnitId(1, 1))
        state0 = round_start_state(session, inputs)
        expected, momentum = outer_step(
            session.ops,
            spec,
            starts[0].params,
            starts[0].outer,
            [finals[0].params, finals[1].params],
        )
        assert all(torch.equal(state0.params[n], expected[n]) for n in expected)
        assert all(torch.equal(state0.outer[n], momentum[n]) for n in momentum)
        assert state0.step == 0 and state0.rng_key == unit_key(spec, 1, 1)
        carried = all(torch.equal(state0.optim[n], finals[1].optim[n]) for n in state0.optim)
        assert carried is (mode == "carry")
        if mode == "fresh":
            assert float(state0.optim["optim.beta1_pow"]) == 1.0
        results[mode] = simulate_rounds(spec, data).final_hash()
    assert results["carry"] != results["fresh"]


def test_round_start_state_refuses_inputs_of_another_unit(digits: bytes) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    starts, finals = _round_zero(spec, data)
    session = TrainingSession(spec, data, unit=UnitId(1, 0))
    good = RoundInputs(0, (0, 1), starts[0], finals)
    with pytest.raises(SpecError, match="needs round 0's included units"):
        round_start_state(session, None)
    with pytest.raises(SpecError, match="the final state of slot 1 is not unit"):
        round_start_state(session, replace(good, finals={0: finals[0], 1: finals[0]}))
    with pytest.raises(SpecError, match="the start state is not state 0 of unit"):
        round_start_state(session, replace(good, start=starts[1]))
    with pytest.raises(SpecError, match="1 included units, the quorum is 2"):
        round_start_state(session, replace(good, included=(0,), finals={0: finals[0]}))
    with pytest.raises(SpecError, match="slot_last_final is not a final state of slot 0"):
        round_start_state(session, replace(good, slot_last_final=finals[1]))


def test_a_unit_trains_and_commits_like_a_job(digits: bytes, tmp_path: Path) -> None:
    """``train`` of a round-1 unit from its round-start state: an ordinary trace of H steps whose
    final checkpoint loads as a state of the job and equals the session's own steps."""
    spec = rounds_spec(digits)
    store = LocalBlobStore(tmp_path / "blobs")
    store.put(digits)
    data = decode_dataset(spec, digits)
    starts, finals = _round_zero(spec, data)
    unit = UnitId(1, 0)
    session = TrainingSession(spec, data, unit=unit)
    start = round_start_state(session, RoundInputs(0, (0, 1), starts[0], finals, finals[0]))
    result = train(
        spec, store=store, work_dir=tmp_path / "w", job_id=5, attempt=0, unit=unit, start=start
    )
    expected = start
    for _ in range(spec.steps):
        expected = session.step(expected)
    assert result.final_state_hash == state_hash(expected)
    assert result.checkpoints[0].state_hash == state_hash(start)
    final, _ = load_checkpoint(spec, store.get(result.checkpoints[-1].address))
    assert final.step == spec.steps and final.outer.keys() == start.outer.keys()
    with pytest.raises(TraceError, match="not a state 0 of unit"):
        train(
            spec,
            store=store,
            work_dir=tmp_path / "x",
            job_id=6,
            attempt=0,
            unit=unit,
            start=finals[0],
        )
