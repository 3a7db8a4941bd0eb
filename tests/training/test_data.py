"""Example datasets: deterministic bytes, addresses named by the example specs, batching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load

from node.errors import SpecError
from node.runtime.rng import RngKey
from node.storage import LocalBlobStore, address_of
from node.training.data import ClassificationData, decode_dataset, load_dataset
from node.training.spec import JobSpec

from .conftest import tiny_spec

CLI = str(Path(sys.executable).parent / "crowdtrain")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def test_digits_format(digits: bytes) -> None:
    t = load(digits)
    assert t["x"].dtype == torch.float32 and tuple(t["x"].shape) == (1797, 64)
    assert t["y"].dtype == torch.int64 and int(t["y"].max()) == 9
    assert float(t["x"].min()) == 0.0 and float(t["x"].max()) == 1.0


def test_text_format(text: bytes) -> None:
    t = load(text)
    vocab = "".join(chr(int(c)) for c in t["vocab"])
    assert 30_000 <= t["tokens"].numel() <= 100_000
    assert "".join(vocab[int(i)] for i in t["tokens"][:9]) == "THE RIVER"


@pytest.mark.parametrize(
    ("name", "blob"), [("mlp_digits", "digits"), ("cnn_digits", "digits"), ("gpt_text", "text")]
)
def test_example_specs_name_the_prepared_addresses(
    name: str, blob: str, request: pytest.FixtureRequest
) -> None:
    data = request.getfixturevalue(blob)
    spec = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert spec["dataset"]["address"] == address_of(data)


def test_cli_prepare_is_deterministic(tmp_path: Path, digits: bytes) -> None:
    """A fresh process writes the same bytes (and address) as this one."""
    out = subprocess.run(
        [
            CLI,
            "data",
            "prepare",
            "digits",
            "--blob-dir",
            str(tmp_path),
            "--out",
            str(tmp_path / "d.st"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == address_of(digits)
    assert (tmp_path / "d.st").read_bytes() == digits
    assert LocalBlobStore(tmp_path).get(address_of(digits)) == digits


def test_classification_batches_cover_an_epoch(spec: JobSpec, store: LocalBlobStore) -> None:
    data = load_dataset(spec, store)
    assert isinstance(data, ClassificationData)
    key, seen, epoch, cursor = RngKey.from_seed(1), [], 0, 0
    n = data.x.shape[0]
    for _ in range(n // 16):
        x, _y, epoch, cursor = data.batch(key, epoch, cursor, 16)
        seen.append(x)
    assert epoch == 0
    rows = torch.cat(seen)
    assert rows.shape[0] == (n // 16) * 16
    assert (
        torch.unique(rows, dim=0).shape[0] >= rows.shape[0] - 50
    )  # digits has a few duplicate rows
    _, _, epoch, cursor = data.batch(key, epoch, cursor, 16)
    assert (epoch, cursor) == (1, 16)


def test_dataset_must_fit_the_model(digits: bytes, text: bytes) -> None:
    with pytest.raises(SpecError, match="features"):
        decode_dataset(tiny_spec(digits, model={"architecture": "mlp", "input_dim": 32}), digits)
    with pytest.raises(SpecError, match="missing tensor 'x'"):
        decode_dataset(tiny_spec(digits), text)
    with pytest.raises(SpecError, match="not a valid safetensors"):
        decode_dataset(tiny_spec(digits), b"garbage")


def test_missing_dataset_hints_at_prepare(tmp_path: Path, digits: bytes) -> None:
    with pytest.raises(SpecError, match="crowdtrain data prepare"):
        load_dataset(tiny_spec(digits), LocalBlobStore(tmp_path))
