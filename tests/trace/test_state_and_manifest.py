"""State serialization/hashing, checkpoint validation, commitment trees and the manifest."""

from __future__ import annotations

import hashlib

import pytest
import torch

from node.errors import TraceError
from node.runtime.native import NativeOps
from node.trace.commitment import build_commitment, seg_root
from node.trace.manifest import build_manifest, parse_manifest
from node.trace.merkle import checkpoint_leaf, verify_proof
from node.trace.state import TrainState, decode_state, encode_state, state_hash
from node.training.session import TrainingSession
from node.training.spec import parse_spec

SPEC = parse_spec(
    {
        "model": {
            "architecture": "gpt",
            "vocab_size": 11,
            "block_size": 8,
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 16,
        },
        "dataset": {"address": "sha256:" + "00" * 32, "format": "tokens"},
        "optimizer": {"name": "adamw", "lr": 0.01},
        "batch_size": 2,
        "steps": 4,
        "checkpoint_every": 2,
    }
)


@pytest.fixture
def state() -> TrainState:
    return TrainingSession(SPEC, None, NativeOps()).initial_state()


def test_round_trip_and_hash(state: TrainState) -> None:
    blob, h = encode_state(state)
    assert h == state_hash(state) and len(h) == 32
    back = decode_state(blob, state.layout(), "test")
    assert encode_state(back)[0] == blob
    assert back.step == 0 and torch.isnan(back.loss)
    assert b"crowdtrain-state-v1" in blob[:4096]


def test_hash_covers_loss_and_counters(state: TrainState) -> None:
    h = state_hash(state)
    for change in ({"loss": torch.tensor(1.0)}, {"data_cursor": 1}, {"step": 1}):
        other = TrainState(**{**state.__dict__, **change})
        assert state_hash(other) != h


def test_corrupt_checkpoints_are_rejected(state: TrainState) -> None:
    blob, _ = encode_state(state)
    layout = state.layout()
    with pytest.raises(TraceError, match="not a valid safetensors"):
        decode_state(blob[:-5], layout, "cp")
    with pytest.raises(TraceError, match="not a valid safetensors"):
        decode_state(b"\xff" * 64, layout, "cp")
    smaller = {k: v for k, v in layout.items() if k != "loss"}
    with pytest.raises(TraceError, match="unexpected"):
        decode_state(blob, smaller, "cp")
    wrong_shape = {**layout, "params.wte.weight": ((3, 3), torch.float32)}
    with pytest.raises(TraceError, match=r"params\.wte\.weight"):
        decode_state(blob, wrong_shape, "cp")


def test_commitment_and_manifest() -> None:
    k, n = 2, 3
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(n * k + 1)]
    roots = [seg_root(5, 1, i, hashes[(i - 1) * k : i * k + 1]) for i in range(1, n + 1)]
    cps = hashes[::k]
    c = build_commitment(5, 1, cps, roots)
    assert c.final_state_hash == cps[-1]
    assert verify_proof(
        c.state_root, checkpoint_leaf(5, 1, n, cps[-1]), n, n + 1, list(c.final_state_proof)
    )
    assert seg_root(5, 2, 1, hashes[: k + 1]) != roots[0]  # bound to the attempt
    manifest = build_manifest(
        spec_hash=b"\x01" * 32,
        steps=n * k,
        checkpoint_every=k,
        commitment=c,
        checkpoint_addresses=["sha256:" + "ab" * 32] * (n + 1),
        losses=[1.0, 0.5, float("nan"), 0.3, 0.2, 0.1],
    )
    blob = manifest.canonical_json()
    assert parse_manifest(blob) == manifest and manifest.losses[2] is None
    assert all(r.hex() not in blob.decode() for r in roots)  # segRoot preimages never published
    with pytest.raises(TraceError, match="canonical"):
        parse_manifest(blob.replace(b":", b": ", 1))
