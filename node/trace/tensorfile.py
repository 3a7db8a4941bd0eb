"""Canonical safetensors: one byte string per set of named tensors, on every machine and version.

The bytes written here define ``stateHash`` (a protocol value) and the example dataset addresses, so
they must not depend on the ``safetensors`` package version (its header order and metadata encoding
are implementation details). This module writes the format itself: header keys sorted, tensors laid
out in sorted-name order, little-endian, no whitespace except the spec's space padding of the header
to a multiple of 8 bytes, fixed metadata. Reading goes through the ``safetensors`` package, never
``torch.load``/pickle, since a checkpoint may come from another party.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from torch import Tensor

from node.errors import TraceError

_DTYPE_NAMES: dict[torch.dtype, tuple[str, str]] = {
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
    torch.uint8: ("U8", "|u1"),
    torch.bool: ("BOOL", "|b1"),
}


def encode_parts(
    tensors: Mapping[str, Tensor], metadata: Mapping[str, str]
) -> list[bytes | memoryview]:
    """The canonical file as a list of buffers (header first), so callers can hash without copying."""
    header: dict[str, object] = {"__metadata__": dict(sorted(metadata.items()))}
    buffers: list[memoryview] = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        try:
            tag, np_dtype = _DTYPE_NAMES[tensor.dtype]
        except KeyError:
            raise TraceError(f"tensor {name!r} has unsupported dtype {tensor.dtype}") from None
        array = tensor.detach().cpu().contiguous().numpy().astype(np_dtype, copy=False)
        buffer = memoryview(np.ascontiguousarray(array).data).cast("B")
        header[name] = {
            "dtype": tag,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + buffer.nbytes],
        }
        buffers.append(buffer)
        offset += buffer.nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    text += b" " * (-len(text) % 8)
    return [struct.pack("<Q", len(text)), text, *buffers]


def encode(tensors: Mapping[str, Tensor], metadata: Mapping[str, str]) -> bytes:
    """The canonical safetensors bytes of ``tensors``."""
    return b"".join(encode_parts(tensors, metadata))


def decode(data: bytes, what: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors blob; TraceError naming ``what`` when it does not parse."""
    try:
        tensors = st_load(data)
        header_len = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8 : 8 + header_len])
    except (SafetensorError, ValueError, struct.error, UnicodeDecodeError) as err:
        raise TraceError(f"{what} is not a valid safetensors file: {err}") from err
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise TraceError(f"{what} has malformed safetensors metadata")
    return tensors, {str(k): str(v) for k, v in metadata.items()}
