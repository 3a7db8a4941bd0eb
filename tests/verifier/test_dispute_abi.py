"""The dispute adapters and typed events agree with the compiled interfaces' ABIs."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

from node.chain.attestations import AttestationsAdapter
from node.chain.compile import load_artifact
from node.chain.dispute_events import ATTESTATIONS_EVENTS, DISPUTE_GAME_EVENTS, JURY_EVENTS
from node.chain.dispute_game import DisputeGameAdapter
from node.chain.dispute_types import Dispute, Panel
from node.chain.events import ChainEvent, snake
from node.chain.jury import JuryAdapter

CASES = [
    ("IAttestations", AttestationsAdapter, ATTESTATIONS_EVENTS),
    ("IDisputeGame", DisputeGameAdapter, DISPUTE_GAME_EVENTS),
    ("IJury", JuryAdapter, JURY_EVENTS),
]


def _abi(name: str) -> list[dict[str, object]]:
    try:
        return list(load_artifact(name).abi)
    except Exception as err:
        pytest.skip(f"{name} not compiled: {err}")


@pytest.mark.parametrize(("name", "adapter", "events"), CASES, ids=[c[0] for c in CASES])
def test_adapter_calls_exist(
    name: str, adapter: type[object], events: dict[str, type[ChainEvent]]
) -> None:
    functions = {str(i["name"]) for i in _abi(name) if i["type"] == "function"}
    called = set(re.findall(r'_(?:transact|call)\(\s*"(\w+)"', inspect.getsource(adapter)))
    assert called and called <= functions, called - functions


@pytest.mark.parametrize(("name", "adapter", "events"), CASES, ids=[c[0] for c in CASES])
def test_event_fields_match(
    name: str, adapter: type[object], events: dict[str, type[ChainEvent]]
) -> None:
    abi_events = {str(i["name"]): i for i in _abi(name) if i["type"] == "event"}
    base = {f.name for f in dataclasses.fields(ChainEvent)}
    for event, cls in events.items():
        inputs = abi_events[event]["inputs"]
        assert isinstance(inputs, list)
        want = {snake(str(i["name"])) for i in inputs}
        assert {f.name for f in dataclasses.fields(cls)} - base == want, event


def test_dispute_struct_field_order() -> None:
    abi = _abi("IDisputeGame")
    get = next(i for i in abi if i.get("name") == "getDispute")
    outputs = get["outputs"]
    assert isinstance(outputs, list)
    names = [snake(str(c["name"])) for c in outputs[0]["components"]]
    fields = [f.name for f in dataclasses.fields(Dispute)][1:]
    assert sorted(names) == sorted(fields)  # decoded by name: the contract may reorder for packing


def test_panel_struct_fields() -> None:
    abi = _abi("IJury")
    get = next(i for i in abi if i.get("name") == "panelOf")
    outputs = get["outputs"]
    assert isinstance(outputs, list)
    names = [snake(str(c["name"])) for c in outputs[0]["components"]]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Panel))
