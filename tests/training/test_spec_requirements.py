"""The spec's optional ``requirements`` section (issue 15): absent, every existing specHash keeps
its bytes; present, it is part of the canonical JSON (so bound to ``specHash``) and validated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.errors import SpecError
from node.training.spec import RequirementsSpec, load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
BASE: dict[str, Any] = {
    "model": {"architecture": "mlp", "hidden": [16]},
    "dataset": {"address": "sha256:" + "ab" * 32, "format": "classification"},
    "optimizer": {"name": "adamw", "lr": 0.001},
    "batch_size": 8,
    "steps": 20,
    "checkpoint_every": 5,
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_a_spec_without_requirements_keeps_its_bytes(path: Path) -> None:
    spec = load_spec(path)
    assert spec.requirements is None
    assert b"requirements" not in spec.canonical_json()
    again = parse_spec(json.loads(spec.canonical_json()))
    assert again.spec_hash() == spec.spec_hash()


def test_requirements_are_part_of_the_spec_hash() -> None:
    plain = parse_spec(BASE)
    cuda = parse_spec({**BASE, "requirements": {"device": "cuda", "min_memory_bytes": 1 << 33}})
    assert cuda.requirements == RequirementsSpec(device="cuda", min_memory_bytes=1 << 33)
    raw = cuda.canonical_json()
    assert b'"requirements":{"device":"cuda","min_memory_bytes":8589934592}' in raw
    assert cuda.spec_hash() != plain.spec_hash()
    assert parse_spec(json.loads(raw)).spec_hash() == cuda.spec_hash()
    # an empty section is written out with its defaults: a different spec from no section
    empty = parse_spec({**BASE, "requirements": {}})
    assert empty.requirements == RequirementsSpec(device="any", min_memory_bytes=None)
    assert b'"requirements":{"device":"any","min_memory_bytes":null}' in empty.canonical_json()


def test_requirements_in_toml(tmp_path: Path) -> None:
    toml = tmp_path / "spec.toml"
    toml.write_text(
        "batch_size = 8\nsteps = 20\ncheckpoint_every = 5\n"
        '[model]\narchitecture = "mlp"\nhidden = [16]\n'
        f'[dataset]\naddress = "sha256:{"ab" * 32}"\nformat = "classification"\n'
        '[optimizer]\nname = "adamw"\nlr = 0.001\n'
        '[requirements]\ndevice = "cpu"\nmin_memory_bytes = 1048576\n'
    )
    assert load_spec(toml).requirements == RequirementsSpec(device="cpu", min_memory_bytes=1 << 20)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"device": "tpu"}, r"requirements\.device: Input should be 'cpu', 'cuda' or 'any'"),
        ({"min_memory_bytes": 0}, r"requirements\.min_memory_bytes: Input should be greater"),
        ({"min_memory_bytes": "8GiB"}, r"requirements\.min_memory_bytes: Input should be a valid"),
        ({"min_memory_bytes": 1.5}, r"requirements\.min_memory_bytes: Input should be a valid"),
        ({"gpu_model": "H100"}, r"requirements\.gpu_model: Extra inputs are not permitted"),
    ],
)
def test_bad_requirements_name_the_field(section: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec({**BASE, "requirements": section})
