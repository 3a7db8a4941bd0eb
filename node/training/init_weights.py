"""Pretrained initial weights (``spec.init``): an *init manifest* blob naming float32 weight blobs.

A job that fine-tunes starts from given weights instead of the seeded init: ``state(0)`` holds
exactly those weights (as float32), zeroed optimizer slots and the usual counters, so its
``stateHash`` — what checkpoint 0 commits to, what verifiers recompute and what an InitialState
dispute settles — is a pure function of the spec and the blobs it names.

The manifest is canonical JSON (keys sorted, no whitespace)::

    {"architecture": "llama", "blobs": [{"address": "sha256:…", "tensors": ["model.norm.weight", …]}],
     "format": "crowdtrain-init-v1", "model": {…the architecture's fields…}}

Each weight blob is a canonical safetensors file (``node.trace.tensorfile``) of float32 tensors
named as the model's parameters. Tensors are packed into blobs in sorted-name order up to
``BLOB_BYTES``, so the address depends on the weights alone, not on how a source checkpoint was
sharded. ``model`` records the architecture fields the weights were made for; a spec that uses
them must agree on each (``block_size``, the training window, is the spec's own choice). Both the
manifest and the blobs come from another party: they are size-capped, parsed without pickle and
checked name by name, shape by shape before any tensor is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from node.errors import SpecError, StorageError, TraceError
from node.storage import BlobStore, validate_address
from node.trace import tensorfile

INIT_FORMAT = "crowdtrain-init-v1"
BLOB_METADATA = {"format": INIT_FORMAT}
BLOB_BYTES = 256 << 20  # a tensor larger than this gets a blob of its own
MAX_MANIFEST_BYTES = 16 << 20
# Fields of the model section that are the job's choice, not the weights'.
JOB_FIELDS = frozenset({"architecture", "block_size"})

Shapes = Mapping[str, tuple[int, ...]]


def _pack(shapes: Shapes) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    size = 0
    for name in sorted(shapes):
        nbytes = math.prod(shapes[name]) * 4
        if groups[-1] and size + nbytes > BLOB_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += nbytes
    return groups


def store_init(
    store: BlobStore, architecture: str, model: Mapping[str, Any], weights: Mapping[str, Tensor]
) -> str:
    """Store in-memory ``weights`` and their init manifest; the manifest's address (``spec.init``)."""
    shapes = {n: tuple(t.shape) for n, t in weights.items()}
    return store_weights(store, architecture, model, shapes, weights.__getitem__)


def store_weights(
    store: BlobStore,
    architecture: str,
    model: Mapping[str, Any],
    shapes: Shapes,
    load: Callable[[str], Tensor],
) -> str:
    """Store the weights ``load(name)`` gives, one blob at a time (peak memory: one blob, not the
    model), then their init manifest; the manifest's address. ``load`` may raise to refuse a
    tensor: blobs stored before that are unreferenced, and no manifest is written."""
    if not shapes:
        raise SpecError("no weights to store")
    blobs = []
    for names in _pack(shapes):
        part = {n: load(n).detach().to(torch.float32).contiguous() for n in names}
        blobs.append(
            {"address": store.put(tensorfile.encode(part, BLOB_METADATA)), "tensors": names}
        )
        del part
    manifest = {
        "architecture": architecture,
        "blobs": blobs,
        "format": INIT_FORMAT,
        "model": {k: v for k, v in sorted(model.items()) if k not in JOB_FIELDS},
    }
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return store.put(raw.encode("utf-8"))


def parse_init_manifest(raw: bytes, what: str) -> dict[str, Any]:
    """The manifest's fields, each checked for type; SpecError naming the first thing wrong."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise SpecError(f"{what}: {len(raw)} bytes, more than an init manifest may have")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SpecError(f"{what} is not an init manifest (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != INIT_FORMAT:
        raise SpecError(f"{what} is not an init manifest (format is not {INIT_FORMAT!r})")
    extra = sorted(set(data) - {"architecture", "blobs", "format", "model"})
    if extra:
        raise SpecError(f"{what}: unexpected fields {extra}")
    if not isinstance(data.get("architecture"), str):
        raise SpecError(f"{what}: 'architecture' must be a string")
    model = data.get("model")
    if not isinstance(model, dict) or not all(
        isinstance(v, (int, float, bool, str)) for v in model.values()
    ):
        raise SpecError(f"{what}: 'model' must be an object of numbers, booleans and strings")
    blobs = data.get("blobs")
    if not isinstance(blobs, list) or not blobs:
        raise SpecError(f"{what}: 'blobs' must be a non-empty list")
    seen: set[str] = set()
    for i, blob in enumerate(blobs):
        names = blob.get("tensors") if isinstance(blob, dict) else None
        if (
            not isinstance(blob, dict)
            or set(blob) != {"address", "tensors"}
            or not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) for n in names)
        ):
            raise SpecError(f"{what}: blobs[{i}] must be {{'address': …, 'tensors': [names]}}")
        try:
            validate_address(blob["address"])
        except StorageError as err:
            raise SpecError(f"{what}: blobs[{i}]: {err}") from None
        for name in names:
            if name in seen:
                raise SpecError(f"{what}: tensor {name!r} is listed twice")
            seen.add(name)
    return data


def check_model_fields(
    manifest_model: Mapping[str, Any], spec_model: Mapping[str, Any], what: str
) -> None:
    """SpecError when the spec's model disagrees with a field the weights were made for."""
    for key, value in sorted(manifest_model.items()):
        if key in JOB_FIELDS:
            continue
        if key not in spec_model:
            raise SpecError(
                f"{what}: the weights were made for {key}={value!r}, unknown to the spec"
            )
        if spec_model[key] != value:
            raise SpecError(
                f"spec model.{key} is {spec_model[key]!r} but the init weights {what} were made "
                f"for {value!r}"
            )


def load_init(
    store: BlobStore,
    address: str,
    architecture: str,
    spec_model: Mapping[str, Any],
    shapes: Shapes,
) -> dict[str, Tensor]:
    """The float32 weights at ``address``, one per parameter of ``shapes`` (sorted by name).

    SpecError when the manifest is not for this architecture or model, or a tensor is missing,
    unexpected, of the wrong shape or dtype, or not finite; StorageError when a blob is missing.
    """
    what = f"init {address}"
    manifest = parse_init_manifest(store.get(address), what)
    if manifest["architecture"] != architecture:
        raise SpecError(
            f"{what} holds {manifest['architecture']!r} weights, the spec's model is {architecture!r}"
        )
    check_model_fields(manifest["model"], spec_model, what)
    listed = {n for b in manifest["blobs"] for n in b["tensors"]}
    missing, extra = sorted(set(shapes) - listed), sorted(listed - set(shapes))
    if missing or extra:
        raise SpecError(
            f"{what}: weights do not fit the model (missing {missing}, unexpected {extra})"
        )
    params: dict[str, Tensor] = {}
    for blob in manifest["blobs"]:
        blob_what = f"{what} blob {blob['address']}"
        try:
            tensors, metadata = tensorfile.decode(store.get(blob["address"]), blob_what)
        except TraceError as err:
            raise SpecError(str(err)) from None
        if metadata != BLOB_METADATA or sorted(tensors) != sorted(blob["tensors"]):
            raise SpecError(
                f"{blob_what}: holds {sorted(tensors)}, the manifest lists {blob['tensors']}"
            )
        for name, t in tensors.items():
            if t.dtype != torch.float32 or tuple(t.shape) != tuple(shapes[name]):
                raise SpecError(
                    f"{blob_what}: {name!r} is {t.dtype} {list(t.shape)}, the model needs "
                    f"float32 {list(shapes[name])}"
                )
            if not bool(torch.isfinite(t).all()):
                raise SpecError(f"{blob_what}: {name!r} holds NaN or infinite values")
            params[name] = t
    return dict(sorted(params.items()))
