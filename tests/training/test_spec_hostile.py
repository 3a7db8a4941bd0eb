"""Hostile job specs: huge numbers, deep nesting, oversized input and unknown fields are refused
with one line naming what is wrong, before any parser recursion or pydantic work can blow up."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from node.errors import SpecError
from node.training.spec import MAX_SPEC_BYTES, MAX_SPEC_DEPTH, load_spec, parse_spec

BASE: dict[str, Any] = {
    "model": {"architecture": "mlp", "hidden": [16]},
    "dataset": {"address": "sha256:" + "ab" * 32, "format": "classification"},
    "optimizer": {"name": "adamw", "lr": 0.001},
    "batch_size": 8,
    "steps": 20,
    "checkpoint_every": 5,
}


def _refused(source: dict[str, Any] | bytes, message: str) -> str:
    with pytest.raises(SpecError, match=message) as caught:
        parse_spec(source) if isinstance(source, dict) else load_spec(source)
    text = str(caught.value)
    assert "\n" not in text and len(text) < 400, f"not a one-line message: {text[:500]!r}"
    return text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", 10**30, r"steps: integer out of range"),
        ("seed", 1 << 64, r"seed: integer out of range"),
        ("batch_size", -(10**40), r"batch_size: integer out of range"),
        ("steps", 1 << 40, r"steps: Input should be less than or equal to 4294967296"),
        ("checkpoint_every", 10**25, r"checkpoint_every: integer out of range"),
    ],
)
def test_huge_numbers_are_refused(field: str, value: int, message: str) -> None:
    _refused({**BASE, field: value}, message)


def test_a_number_past_pythons_digit_limit_is_a_spec_error() -> None:
    raw = json.dumps(BASE).replace('"steps": 20', '"steps": ' + "9" * 5000).encode()
    _refused(raw, "is not valid JSON: Exceeds the limit")


@pytest.mark.parametrize("depth", [MAX_SPEC_DEPTH + 1, 30_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    raw = b'{"model": ' + b"[" * depth + b"]" * depth + b"}"
    _refused(raw, "nests deeper than")


def test_deep_nesting_in_a_parsed_object_is_refused_without_recursion() -> None:
    nested: Any = []
    for _ in range(50_000):  # far past Python's recursion limit: the check walks iteratively
        nested = [nested]
    _refused(
        {**BASE, "model": nested},
        rf"invalid job spec: model(\.0)+ nests deeper than {MAX_SPEC_DEPTH}",
    )


def test_deep_toml_is_refused() -> None:
    _refused(b"a = " + b"[" * 5000 + b"]" * 5000, "nests deeper than")


def test_oversized_spec_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b'{"pad": "' + b"x" * MAX_SPEC_BYTES + b'"}')
    with pytest.raises(SpecError, match=rf"big.json is {MAX_SPEC_BYTES + 11} bytes, more than"):
        load_spec(path)


@pytest.mark.parametrize("where", ["", "model", "dataset", "optimizer"])
def test_unknown_fields_are_refused_at_every_level(where: str) -> None:
    data = copy.deepcopy(BASE)
    (data[where] if where else data)["surprise"] = {"nested": [1, 2]}
    prefix = f"{where}." if where else ""
    _refused(data, rf"{prefix}surprise: Extra inputs are not permitted")


def test_an_unknown_name_is_quoted_short_not_echoed() -> None:
    text = _refused(
        {**BASE, "model": {"architecture": "x" * 10_000}}, r"model: unknown architecture 'xxx"
    )
    assert "x" * 100 not in text
