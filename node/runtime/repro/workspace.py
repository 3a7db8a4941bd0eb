"""Reused buffers for the exact GEMMs' intermediates (limb stacks, quantized operands, integer sums).

Each GEMM writes a few large intermediates that die within the call (on the llama benchmark up to
128 MiB of int32 sums for the head). Freshly allocated, every page of them is a page fault and a
zeroing by the kernel before the first write, which cost about as much as the kernels writing
them. ``scratch`` hands out views of one grow-only buffer per role and thread instead, so after
the first step the same pages are reused. Only where the data goes changes, never a value: every
byte of a scratch view is written before it is read. The buffers live as long as their thread
(``release`` drops this thread's), and hold at most the largest intermediate of each role.
"""

from __future__ import annotations

import math
import threading

import torch
from torch import Tensor

_local = threading.local()


def scratch(
    role: str, shape: list[int] | tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> Tensor:
    """An uninitialized contiguous tensor for an intermediate that dies before the next request
    for ``role`` on this thread (off the CPU: a plain ``torch.empty``; CUDA's allocator caches)."""
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    nbytes = math.prod(shape) * dtype.itemsize
    buffers: dict[str, Tensor] = _local.__dict__.setdefault("buffers", {})
    buf = buffers.get(role)
    if buf is None or buf.numel() < nbytes:
        buffers.pop(role, None)  # free the smaller one before allocating its successor
        buf = torch.empty(max(nbytes, 64), dtype=torch.uint8)
        buffers[role] = buf
    return buf[:nbytes].view(dtype).view(shape)


def release() -> None:
    """Drop this thread's buffers (the next GEMM allocates afresh)."""
    _local.__dict__.pop("buffers", None)
