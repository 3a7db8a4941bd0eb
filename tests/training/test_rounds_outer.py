"""A worker's state 0 from a published outer delta (docs/ROUNDS.md, "Aggregator"): the same bits
as computing the outer step from every final state, and the outer blob refuses anything but the
job's float32 deltas."""

from __future__ import annotations

import pickle

import pytest
import torch

from node.errors import SpecError
from node.rounds.inputs import RoundsInputError
from node.rounds.outer import decode_outer, encode_outer
from node.trace import tensorfile
from node.trace.state import state_hash
from node.training.data import decode_dataset
from node.training.rounds import (
    RoundInputs,
    outer_delta,
    round_start_state,
    start_from_delta,
)
from node.training.session import TrainingSession
from node.training.unit import UnitId
from tests.training.test_rounds import ROUNDS, _round_zero, rounds_spec


@pytest.mark.parametrize("inner_state", ["carry", "fresh"])
def test_state_zero_from_the_published_delta_is_bit_for_bit_the_full_path(
    digits: bytes, inner_state: str
) -> None:
    spec = rounds_spec(digits, rounds={**ROUNDS, "inner_state": inner_state})
    data = decode_dataset(spec, digits)
    starts, finals = _round_zero(spec, data)
    delta = outer_delta(spec, starts[0].params, [finals[0].params, finals[1].params])
    blob = encode_outer(delta)
    received = decode_outer(blob, starts[1].params, "outer blob")
    for w in range(2):
        session = TrainingSession(spec, data, unit=UnitId(1, w))
        full = round_start_state(session, RoundInputs(0, (0, 1), starts[0], finals, finals[w]))
        # a returning worker of slot w: its own round-0 state 0 (G_0, m_0) and its final state
        fast = start_from_delta(session, starts[w], received, finals[w])
        assert state_hash(fast) == state_hash(full)


def test_a_wrong_delta_gives_another_state_zero(digits: bytes) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    starts, finals = _round_zero(spec, data)
    delta = outer_delta(spec, starts[0].params, [finals[0].params])  # slot 1 left out
    session = TrainingSession(spec, data, unit=UnitId(1, 0))
    full = round_start_state(session, RoundInputs(0, (0, 1), starts[0], finals, finals[0]))
    assert state_hash(start_from_delta(session, starts[0], delta, finals[0])) != state_hash(full)
    with pytest.raises(SpecError, match="not state 0 of a unit of round 0"):
        start_from_delta(session, finals[0], delta, finals[0])
    with pytest.raises(SpecError, match="slot_last_final is not a final state of slot 0"):
        start_from_delta(session, starts[0], delta, finals[1])


def test_the_outer_blob_refuses_what_is_not_the_jobs_deltas(digits: bytes) -> None:
    spec = rounds_spec(digits)
    data = decode_dataset(spec, digits)
    starts, finals = _round_zero(spec, data)
    params = starts[0].params
    delta = outer_delta(spec, params, [finals[0].params, finals[1].params])
    name = sorted(delta)[0]
    cases = {
        "metadata": tensorfile.encode(
            {f"delta.{n}": t for n, t in delta.items()}, {"format": "crowdtrain-state-v1"}
        ),
        "missing": encode_outer({n: t for n, t in delta.items() if n != name}),
        f"{name!r} is torch.float64": encode_outer(delta | {name: delta[name].double()}),
        f"{name!r} is torch.float32 \\[1\\]": encode_outer(delta | {name: torch.zeros(1)}),
        "outer blob": pickle.dumps({"delta": delta}),
    }
    for match, blob in cases.items():
        with pytest.raises(RoundsInputError, match=match):
            decode_outer(blob, params, "outer blob")
