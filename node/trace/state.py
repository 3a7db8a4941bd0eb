"""The full training state at step t, its canonical bytes and ``stateHash`` (docs/PROTOCOL.md §4).

The state holds everything the next step needs and everything the step reports:

==================  ===========================================================
``params.<name>``   model parameters (float32)
``optim.<...>``     optimizer slots and bias-correction powers
``step``            int64 scalar t
``rng.key``         int64 [2], the two 32-bit RNG key words (every draw is keyed by
                    the key plus ``step`` or the data cursor: no hidden RNG counter)
``data.epoch``      int64 scalar, ``data.cursor`` int64 scalar
``loss``            float32 scalar, the loss of step t (a fixed NaN at t = 0)
``outer.momentum.`` the outer momentum of a rounds job's unit (float32, one per
``<name>``          parameter; docs/ROUNDS.md): carried unchanged by every step,
                    absent from every other state (whose bytes it leaves alone)
==================  ===========================================================

``stateHash`` = BLAKE3-256 of the canonical safetensors bytes, hashed straight from the tensor
buffers (no intermediate copy); a checkpoint blob is exactly those bytes, so its stateHash is the
BLAKE3 of the blob.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from blake3 import blake3
from torch import Tensor

from node.errors import TraceError
from node.runtime.rng import RngKey
from node.trace import tensorfile

STATE_METADATA = {"format": "crowdtrain-state-v1"}
_SCALARS = ("step", "data.epoch", "data.cursor")
OUTER_MOMENTUM = "outer.momentum."

Layout = dict[str, tuple[tuple[int, ...], torch.dtype]]


def no_loss() -> Tensor:
    """The loss slot of the initial state: the canonical quiet NaN (0x7fc00000)."""
    return torch.tensor([0x7FC00000], dtype=torch.int32).view(torch.float32).reshape(())


@dataclass
class TrainState:
    """Everything at step ``step``; tensors are never mutated in place once in a state."""

    step: int
    params: dict[str, Tensor]
    optim: dict[str, Tensor]
    rng_key: RngKey
    data_epoch: int
    data_cursor: int
    loss: Tensor
    outer: dict[str, Tensor] = field(default_factory=dict)
    """Outer momentum by parameter name: only a rounds job's unit states have it."""

    def tensors(self) -> dict[str, Tensor]:
        """The named tensors of the serialization."""
        named = {f"params.{n}": p.detach() for n, p in self.params.items()}
        named.update({n: t.detach() for n, t in self.optim.items()})
        named["step"] = torch.tensor(self.step, dtype=torch.int64)
        named["rng.key"] = self.rng_key.to_tensor()
        named["data.epoch"] = torch.tensor(self.data_epoch, dtype=torch.int64)
        named["data.cursor"] = torch.tensor(self.data_cursor, dtype=torch.int64)
        named["loss"] = self.loss.detach().to(torch.float32).reshape(())
        named.update({OUTER_MOMENTUM + n: t.detach() for n, t in self.outer.items()})
        return named

    def layout(self) -> Layout:
        """Names, shapes and dtypes: what any valid state of the same job must have."""
        return {n: (tuple(t.shape), t.dtype) for n, t in self.tensors().items()}


def state_parts(state: TrainState) -> list[bytes | memoryview]:
    return tensorfile.encode_parts(state.tensors(), STATE_METADATA)


def hash_parts(parts: list[bytes | memoryview]) -> bytes:
    hasher = blake3()
    for part in parts:
        hasher.update(part)
    return hasher.digest()


def hash_blob(blob: bytes) -> bytes:
    """``stateHash`` of serialized state bytes."""
    return blake3(blob).digest()


def state_hash(state: TrainState) -> bytes:
    """``stateHash(t)``: BLAKE3-256 of the canonical serialization (32 bytes)."""
    return hash_parts(state_parts(state))


def encode_state(state: TrainState) -> tuple[bytes, bytes]:
    """``(blob, stateHash)`` from one serialization."""
    blob = b"".join(state_parts(state))
    return blob, hash_blob(blob)


def decode_state(
    blob: bytes, layout: Mapping[str, tuple[tuple[int, ...], torch.dtype]], what: str
) -> TrainState:
    """Parse a state blob, checking names, shapes and dtypes against ``layout``; TraceError if not.

    Parsing uses safetensors only (never pickle), so a hostile checkpoint can at worst be rejected.
    """
    tensors, metadata = tensorfile.decode(blob, what)
    if metadata != STATE_METADATA:
        raise TraceError(f"{what}: metadata {metadata} is not {STATE_METADATA}")
    missing, extra = sorted(set(layout) - set(tensors)), sorted(set(tensors) - set(layout))
    if missing or extra:
        raise TraceError(
            f"{what}: tensors do not match the job (missing {missing}, unexpected {extra})"
        )
    for name, (shape, dtype) in layout.items():
        t = tensors[name]
        if tuple(t.shape) != shape or t.dtype != dtype:
            raise TraceError(
                f"{what}: tensor {name!r} is {t.dtype} {list(t.shape)}, expected {dtype} {list(shape)}"
            )
    scalars = {name: int(tensors[name]) for name in _SCALARS}
    if min(scalars.values()) < 0:
        raise TraceError(f"{what}: negative counter in {scalars}")
    try:
        key = RngKey.from_tensor(tensors["rng.key"])
    except ValueError as err:
        raise TraceError(f"{what}: {err}") from None
    return TrainState(
        step=scalars["step"],
        params={
            n[len("params.") :]: t for n, t in sorted(tensors.items()) if n.startswith("params.")
        },
        optim={n: t for n, t in sorted(tensors.items()) if n.startswith("optim.")},
        rng_key=key,
        data_epoch=scalars["data.epoch"],
        data_cursor=scalars["data.cursor"],
        loss=tensors["loss"],
        outer={
            n[len(OUTER_MOMENTUM) :]: t
            for n, t in sorted(tensors.items())
            if n.startswith(OUTER_MOMENTUM)
        },
    )
