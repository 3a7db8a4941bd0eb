"""A trained llama state as a folder ``transformers.AutoModelForCausalLM.from_pretrained`` loads.

Written with ``json`` and the canonical safetensors writer only (``transformers`` stays optional):
``config.json``, ``generation_config.json``, the float32 weights under their Hugging Face names
(``model.safetensors``, or shards plus ``model.safetensors.index.json`` above ``shard_bytes``)
and, when the job's dataset was tokenized with a ``tokenizers`` tokenizer, its files. The folder
is assembled beside ``out`` and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from node.errors import SpecError
from node.hf.config import hf_config
from node.hf.tokenizer import DatasetTokenizer, dataset_tokenizer
from node.storage import BlobStore
from node.trace import tensorfile
from node.training.spec import JobSpec

SHARD_BYTES = 2 << 30
SAFETENSORS_METADATA = {"format": "pt"}  # what transformers expects of a PyTorch checkpoint


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _shards(params: Mapping[str, Tensor], shard_bytes: int) -> list[list[str]]:
    shards: list[list[str]] = [[]]
    size = 0
    for name in sorted(params):
        nbytes = params[name].numel() * 4
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    return shards


def hf_files(
    model: Mapping[str, Any],
    params: Mapping[str, Tensor],
    tokenizer: DatasetTokenizer | None = None,
    shard_bytes: int = SHARD_BYTES,
) -> dict[str, bytes]:
    """File name → bytes of the Hugging Face folder for ``params`` of the llama ``model`` section."""
    eos = tokenizer.eos_id if tokenizer is not None else None
    config = hf_config(model, eos_token_id=eos)
    files = {
        "config.json": _json(config),
        "generation_config.json": _json(
            {"_from_model_config": True} | ({"eos_token_id": eos} if eos is not None else {})
        ),
    }
    shards = _shards(params, shard_bytes)
    if len(shards) == 1:
        files["model.safetensors"] = tensorfile.encode(params, SAFETENSORS_METADATA)
    else:
        weight_map: dict[str, str] = {}
        for i, names in enumerate(shards, 1):
            file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            files[file] = tensorfile.encode({n: params[n] for n in names}, SAFETENSORS_METADATA)
            weight_map |= {n: file for n in names}
        total = sum(t.numel() * 4 for t in params.values())
        files["model.safetensors.index.json"] = _json(
            {"metadata": {"total_size": total}, "weight_map": weight_map}
        )
    if tokenizer is not None:
        files |= tokenizer.files
    return files


def write_hf_folder(out: Path | str, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` as folder ``out`` atomically; SpecError if ``out`` exists and is not empty."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError(f"{out} exists and is not an empty folder: choose a new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def export_model(
    spec: JobSpec,
    params: Mapping[str, Tensor],
    store: BlobStore,
    out: Path | str,
    shard_bytes: int = SHARD_BYTES,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``params`` of ``spec``'s llama model, with its dataset's tokenizer if any, to ``out``
    (plus ``extra_files``, e.g. the job's spec and trace manifest)."""
    tokenizer = dataset_tokenizer(store, spec.dataset)
    files = hf_files(spec.model.model_dump(), params, tokenizer, shard_bytes)
    return write_hf_folder(out, {**files, **(extra_files or {})})
