"""The trace manifest (docs/PROTOCOL.md §4): canonical JSON stored as a blob; its SHA-256 is ``manifestHash``.

It lists every checkpoint's blob address and stateHash, all checkpoint leaves, all segment leaves
and the per-step losses. It never contains the ``segRoot_i`` preimages: a verifier must replay a
segment to learn its root, so attestations cannot be copied from the manifest.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from node.errors import TraceError
from node.trace.commitment import Commitment

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestCheckpoint(_Strict):
    index: int = Field(ge=0)
    step: int = Field(ge=0)
    address: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    state_hash: Hex32
    validation_loss: float | None = None
    """Held-out loss the solver measured at this checkpoint: informative (the dashboard shows
    it), not verified; absent (not ``null``) when the dataset has no validation split."""


class Manifest(_Strict):
    version: int = 1
    spec_hash: Hex32
    job_id: int = Field(ge=0)
    attempt: int = Field(ge=0)
    steps: int = Field(ge=1)
    checkpoint_every: int = Field(ge=2)
    checkpoints: list[ManifestCheckpoint]
    checkpoint_leaves: list[Hex32]
    segment_leaves: list[Hex32]
    state_root: Hex32
    seg_roots_root: Hex32
    final_state_hash: Hex32
    losses: list[float | None]

    def canonical_json(self) -> bytes:
        """Sorted keys, no whitespace; fields that are None are left out (list items are kept)."""
        return json.dumps(
            self.model_dump(mode="json", exclude_none=True),
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        ).encode("utf-8")

    def manifest_hash(self) -> bytes:
        """SHA-256 of the canonical JSON: the digest of the manifest blob's address."""
        return hashlib.sha256(self.canonical_json()).digest()


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def build_manifest(
    *,
    spec_hash: bytes,
    steps: int,
    checkpoint_every: int,
    commitment: Commitment,
    checkpoint_addresses: Sequence[str],
    losses: Sequence[float],
    validation_losses: Sequence[float | None] | None = None,
) -> Manifest:
    """The manifest of a finished trace; non-finite losses are written as ``null``."""
    vals = list(validation_losses or [None] * len(checkpoint_addresses))
    checkpoints = [
        ManifestCheckpoint(
            index=i,
            step=i * checkpoint_every,
            address=a,
            state_hash=hex32(h),
            validation_loss=v if v is not None and math.isfinite(v) else None,
        )
        for i, (a, h, v) in enumerate(
            zip(checkpoint_addresses, commitment.checkpoint_hashes, vals, strict=True)
        )
    ]
    return Manifest(
        spec_hash=hex32(spec_hash),
        job_id=commitment.job_id,
        attempt=commitment.attempt,
        steps=steps,
        checkpoint_every=checkpoint_every,
        checkpoints=checkpoints,
        checkpoint_leaves=[hex32(v) for v in commitment.checkpoint_leaves],
        segment_leaves=[hex32(v) for v in commitment.segment_leaves],
        state_root=hex32(commitment.state_root),
        seg_roots_root=hex32(commitment.seg_roots_root),
        final_state_hash=hex32(commitment.final_state_hash),
        losses=[v if math.isfinite(v) else None for v in losses],
    )


def parse_manifest(blob: bytes) -> Manifest:
    """A manifest from its blob bytes; TraceError when malformed or not canonical."""
    try:
        manifest = Manifest.model_validate_json(blob)
    except ValidationError as err:
        raise TraceError(
            f"manifest is malformed: {err.errors()[0]['loc']}: {err.errors()[0]['msg']}"
        ) from None
    if manifest.canonical_json() != blob:
        raise TraceError("manifest is not in canonical JSON form")
    n = manifest.steps // manifest.checkpoint_every
    counts = (
        len(manifest.checkpoints),
        len(manifest.checkpoint_leaves),
        len(manifest.segment_leaves),
    )
    if counts != (n + 1, n + 1, n) or len(manifest.losses) != manifest.steps:
        raise TraceError(
            f"manifest lists {counts} checkpoints/leaves and {len(manifest.losses)} losses for N={n}"
        )
    return manifest
