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
import math
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
    buffers: list[memoryview] = []
    for name in sorted(tensors):
        tensor = tensors[name]
        _, np_dtype = _dtype_names(name, tensor.dtype)
        array = tensor.detach().cpu().contiguous().numpy().astype(np_dtype, copy=False)
        buffers.append(memoryview(np.ascontiguousarray(array).data).cast("B"))
    layout = {name: (tuple(t.shape), t.dtype) for name, t in tensors.items()}
    return [*_header(layout, metadata), *buffers]


def _dtype_names(name: str, dtype: torch.dtype) -> tuple[str, str]:
    try:
        return _DTYPE_NAMES[dtype]
    except KeyError:
        raise TraceError(f"tensor {name!r} has unsupported dtype {dtype}") from None


def _header(
    layout: Mapping[str, tuple[tuple[int, ...], torch.dtype]], metadata: Mapping[str, str]
) -> list[bytes]:
    """The length prefix and the padded JSON header of tensors with these names, shapes, dtypes."""
    header: dict[str, object] = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in sorted(layout):
        shape, dtype = layout[name]
        nbytes = math.prod(shape) * dtype.itemsize
        header[name] = {
            "dtype": _dtype_names(name, dtype)[0],
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    text += b" " * (-len(text) % 8)
    return [struct.pack("<Q", len(text)), text]


def encoded_size(
    layout: Mapping[str, tuple[tuple[int, ...], torch.dtype]], metadata: Mapping[str, str]
) -> int:
    """The length of ``encode`` of tensors with this layout, without any tensor data (a job's
    checkpoint size from its spec, ``node.training.estimate``)."""
    data = sum(math.prod(shape) * dtype.itemsize for shape, dtype in layout.values())
    return sum(len(part) for part in _header(layout, metadata)) + data


def encode(tensors: Mapping[str, Tensor], metadata: Mapping[str, str]) -> bytes:
    """The canonical safetensors bytes of ``tensors``."""
    return b"".join(encode_parts(tensors, metadata))


MAX_HEADER_BYTES = 16 << 20
"""A canonical header is ~100 bytes per tensor; a bigger one is refused before it is parsed."""
_TAGS = {tag for tag, _ in _DTYPE_NAMES.values()}


def decode(data: bytes, what: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors blob; TraceError naming ``what`` when it does not parse.

    The safetensors parser checks that the header fits the file, that offsets cover the data
    exactly once (no overlap, no gap, nothing past the end) and that each dtype and shape match
    its byte range; here come the checks it leaves to us: the header size, pickles (named as such,
    never loaded) and the dtypes this format writes.
    """
    try:
        header_len = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0
        if header_len > MAX_HEADER_BYTES:
            raise ValueError(f"header length {header_len} is over {MAX_HEADER_BYTES} bytes")
        tensors = st_load(data)
        header = json.loads(data[8 : 8 + header_len])
    except (SafetensorError, ValueError, struct.error, UnicodeDecodeError) as err:
        if _looks_pickled(data, header_len):
            raise TraceError(
                f"{what} is a pickle/torch.save file, not safetensors: refused, never unpickled"
            ) from None
        raise TraceError(f"{what} is not a valid safetensors file: {_one_line(err)}") from err
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise TraceError(f"{what} has malformed safetensors metadata")
    for name, info in header.items():
        if name != "__metadata__" and info["dtype"] not in _TAGS:
            raise TraceError(
                f"{what}: tensor {_one_line(name)!r} has dtype {info['dtype']}, "
                f"expected one of {', '.join(sorted(_TAGS))}"
            )
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def _one_line(text: object, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters: a hostile header may hold long or
    multi-line tensor names, which the parser's messages quote."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _looks_pickled(data: bytes, header_len: int) -> bool:
    """A torch.save zip archive, or a pickle's PROTO 2-5 opcode with a "header" past the end.

    Asked only once parsing failed, and strict, since a safetensors header length may start 0x80.
    """
    if data.startswith(b"PK\x03\x04"):
        return True
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5 and header_len > len(data) - 8
