"""Init manifests from another party: parsed strictly, every refusal named; any architecture."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from node.errors import SpecError
from node.storage import LocalBlobStore
from node.trace import tensorfile
from node.trace.state import state_hash
from node.training.init_weights import BLOB_METADATA, INIT_FORMAT, parse_init_manifest, store_init
from node.training.session import TrainingSession

from .conftest import tiny_spec


def _weights(digits: bytes) -> dict[str, torch.Tensor]:
    return TrainingSession(tiny_spec(digits, seed=99), None).initial_state().params


def test_an_mlp_starts_from_given_weights(digits: bytes, store: LocalBlobStore) -> None:
    weights = _weights(digits)
    address = store_init(store, "mlp", {"input_dim": 64}, weights)
    spec = tiny_spec(digits, init={"address": address})
    state = TrainingSession(spec, None, store=store).initial_state()
    assert all(torch.equal(state.params[n], w) for n, w in weights.items())
    seeded = TrainingSession(tiny_spec(digits, seed=99), None).initial_state()
    assert state_hash(state) != state_hash(seeded)  # same weights, another seed (rng.key)
    assert state.params.keys() == seeded.params.keys()
    narrow = store_init(store, "mlp", {"input_dim": 32}, weights)
    with pytest.raises(SpecError, match=r"model\.input_dim is 64 but the init weights"):
        TrainingSession(
            tiny_spec(digits, init={"address": narrow}), None, store=store
        ).initial_state()


def _manifest(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "architecture": "mlp",
        "blobs": [{"address": "sha256:" + "ab" * 32, "tensors": ["a", "b"]}],
        "format": INIT_FORMAT,
        "model": {},
    }
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff", "not an init manifest \\(not JSON\\)"),
        (_manifest(format="token-shards"), "format is not 'crowdtrain-init-v1'"),
        (_manifest(extra=1), r"unexpected fields \['extra'\]"),
        (_manifest(model={"x": [1]}), "'model' must be an object of numbers"),
        (_manifest(blobs=[]), "'blobs' must be a non-empty list"),
        (_manifest(blobs=[{"address": "sha256:xy", "tensors": ["a"]}]), r"blobs\[0\]: invalid"),
        (_manifest(blobs=[{"address": "sha256:" + "ab" * 32}]), r"blobs\[0\] must be"),
        (
            _manifest(
                blobs=[
                    {"address": "sha256:" + "ab" * 32, "tensors": ["a"]},
                    {"address": "sha256:" + "cd" * 32, "tensors": ["a"]},
                ]
            ),
            "tensor 'a' is listed twice",
        ),
        (b" " * (16 << 20) + b"{}", "more than an init manifest may have"),
    ],
)
def test_malformed_manifests_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_init_manifest(raw, "init X")


def test_blobs_that_differ_from_their_listing_are_refused(
    digits: bytes, store: LocalBlobStore
) -> None:
    weights = _weights(digits)
    names = sorted(weights)

    def init_of(tensors: dict[str, torch.Tensor], listed: list[str]) -> str:
        blob = store.put(tensorfile.encode(tensors, BLOB_METADATA))
        manifest = {
            "architecture": "mlp",
            "blobs": [{"address": blob, "tensors": listed}],
            "format": INIT_FORMAT,
            "model": {},
        }
        return store.put(json.dumps(manifest).encode())

    def initial(address: str) -> None:
        spec = tiny_spec(digits, init={"address": address})
        TrainingSession(spec, None, store=store).initial_state()

    with pytest.raises(SpecError, match="the manifest lists"):
        initial(init_of({n: weights[n] for n in names[1:]}, names))
    with pytest.raises(SpecError, match=r"missing \[.*\], unexpected \[\]"):
        initial(init_of({n: weights[n] for n in names[1:]}, names[1:]))
    as_f64 = {**weights, names[0]: weights[names[0]].double()}
    with pytest.raises(SpecError, match=r"torch\.float64 .* the model needs float32"):
        initial(init_of(as_f64, names))
    transposed = {**weights, names[-1]: weights[names[-1]].reshape(-1, 1)}
    with pytest.raises(SpecError, match="the model needs float32"):
        initial(init_of(transposed, names))
