"""Hostile safetensors from another party (checkpoints, final models, datasets): each is refused
with one line naming the blob and the fault, and a pickle is never unpickled."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
from pathlib import Path
from typing import Any

import pytest
import torch

from node.errors import SpecError, TraceError
from node.runtime.native import NativeOps
from node.storage import address_of
from node.trace import tensorfile
from node.trace.state import encode_state
from node.training.checkpoint import load_checkpoint
from node.training.data import decode_dataset, digits_blob
from node.training.session import TrainingSession
from node.training.spec import JobSpec, parse_spec


def _file(header: Any, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def _f32(offsets: list[int], shape: list[int], dtype: str = "F32") -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


class _Payload:
    """Unpickling this writes a marker file: the test proves nobody unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


HOSTILE: dict[str, tuple[bytes, str]] = {
    "huge header length": (struct.pack("<Q", 1 << 62) + b"{}", r"header length \d+ is over"),
    "header past the end": (struct.pack("<Q", 4096) + b"{}      ", "invalid header length"),
    "empty": (b"", "header too small"),
    "offsets past the end": (_file({"a": _f32([0, 16], [4])}, b"\0" * 8), "not fully covered"),
    "overlapping tensors": (
        _file({"a": _f32([0, 8], [2]), "b": _f32([4, 12], [2])}, b"\0" * 12),
        "invalid offset for tensor `b`",
    ),
    "dtype does not match the bytes": (
        _file({"a": _f32([0, 8], [2], "F64")}, b"\0" * 8),
        "invalid shape, data type, or offset",
    ),
    "shape does not match the bytes": (
        _file({"a": _f32([0, 8], [3])}, b"\0" * 8),
        "invalid shape, data type, or offset",
    ),
    "shape overflows": (_file({"a": _f32([0, 8], [1 << 40, 1 << 40])}, b"\0" * 8), "overflow"),
    "dtype this format never writes": (
        _file({"a": _f32([0, 4], [2], "F16")}, b"\0" * 4),
        "tensor 'a' has dtype F16, expected one of",
    ),
    "multi-line tensor name": (
        _file({"x\n" * 500: _f32([4, 12], [2])}, b"\0" * 12),
        "invalid offset for tensor",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_refused_in_one_line(case: str) -> None:
    blob, message = HOSTILE[case]
    with pytest.raises(TraceError, match=message) as caught:
        tensorfile.decode(blob, "checkpoint 3")
    text = str(caught.value)
    assert text.startswith("checkpoint 3")
    assert "\n" not in text and len(text) < 300, f"not one line: {text[:400]!r}"


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_a_pickle_named_safetensors_is_refused_and_never_unpickled(
    tmp_path: Path, kind: str
) -> None:
    marker = tmp_path / "unpickled"
    if kind == "pickle":
        blob = pickle.dumps({"params.w": _Payload(marker)})
    else:
        buffer = io.BytesIO()
        torch.save({"params.w": torch.zeros(2), "evil": _Payload(marker)}, buffer)
        blob = buffer.getvalue()
    (tmp_path / "model.safetensors").write_bytes(blob)
    with pytest.raises(TraceError, match=r"is a pickle/torch\.save file, not safetensors: refused"):
        tensorfile.decode((tmp_path / "model.safetensors").read_bytes(), "final model")
    assert not marker.exists()


def test_a_valid_file_whose_header_starts_like_a_pickle_still_loads() -> None:
    # A header of 128 + 8k bytes makes the first byte 0x80 (pickle's opcode): the pickle check
    # only names the format after parsing failed, so such a valid file is never refused.
    name = "t" * 1
    blob = tensorfile.encode({name: torch.zeros(1)}, {"pad": ""})
    pad = (0x80 - struct.unpack("<Q", blob[:8])[0]) % 256
    blob = tensorfile.encode({name: torch.zeros(1)}, {"pad": "p" * pad})
    assert blob[0] == 0x80
    tensors, _ = tensorfile.decode(blob, "cp")
    assert tensors[name].tolist() == [0.0]


SPEC: JobSpec = parse_spec(
    {
        "model": {"architecture": "mlp", "hidden": [4]},
        "dataset": {"address": address_of(b"d"), "format": "classification"},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "batch_size": 2,
        "steps": 4,
        "checkpoint_every": 2,
    }
)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_checkpoint_or_dataset_is_refused_by_its_loader(case: str) -> None:
    blob, message = HOSTILE[case]
    with pytest.raises(TraceError, match=message):
        load_checkpoint(SPEC, blob, what="checkpoint 1")
    dataset_spec = SPEC.with_overrides(
        dataset={"address": address_of(blob), "format": "classification"}
    )
    with pytest.raises(SpecError, match=message):
        decode_dataset(dataset_spec, blob)


def test_a_checkpoint_with_its_bytes_cut_or_extended_is_refused() -> None:
    state = TrainingSession(SPEC, None, NativeOps()).initial_state()
    blob, state_hash = encode_state(state)
    assert load_checkpoint(SPEC, blob, state_hash)[1] == state_hash  # the control loads
    for bad in (blob[:-4], blob + b"\0" * 4):
        with pytest.raises(TraceError, match="not a valid safetensors file"):
            load_checkpoint(SPEC, bad)


def test_a_dataset_with_a_swapped_dtype_is_refused() -> None:
    digits = tensorfile.decode(digits_blob(), "digits")[0]
    blob = tensorfile.encode({"x": digits["x"].to(torch.float64), "y": digits["y"]}, {})
    spec = SPEC.with_overrides(dataset={"address": address_of(blob), "format": "classification"})
    with pytest.raises(SpecError, match=r"tensor 'x' must be torch\.float32"):
        decode_dataset(spec, blob)
