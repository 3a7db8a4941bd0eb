"""The tokenizer a job's dataset was prepared with, to ship beside an exported model.

A ``token-shards`` dataset manifest (``crowdtrain data prepare --tokenizer``) records its tokenizer
files by address (``{"kind": "tokenizers", "files": {"tokenizer.json": "sha256:…", …}}``) and the
EOS id written between documents. Only the file names ``data prepare`` ships are taken (they become
file names in the export folder); single-blob datasets and byte-level datasets have no tokenizer
files, and export then writes the model alone. A bare ``tokenizer.json`` (what ``data tokenizer
train`` writes) gets a ``tokenizer_config.json`` naming its EOS token: without it transformers'
tokenizer has no ``eos_token`` and ``generate`` never stops at the documents' end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from node.errors import SpecError
from node.storage import BlobStore, validate_address
from node.training.shards import MANIFEST_FORMAT, parse_manifest
from node.training.spec import DatasetSpec
from node.training.text_tokenizer import SHIPPED_FILES


@dataclass(frozen=True)
class DatasetTokenizer:
    """Files to write beside the model and the EOS id for ``config.json``."""

    eos_id: int | None
    files: dict[str, bytes] = field(default_factory=dict)


def dataset_tokenizer(store: BlobStore, dataset: DatasetSpec) -> DatasetTokenizer | None:
    """The dataset's tokenizer files, or None when the dataset is not a token-shards manifest."""
    if dataset.format != MANIFEST_FORMAT:
        return None
    what = f"dataset {dataset.address}"
    manifest = parse_manifest(store.get(dataset.address), what)
    listed = manifest.tokenizer.get("files", {})
    if not isinstance(listed, dict):
        raise SpecError(f"{what}: tokenizer files must be an object")
    files = {}
    for name in SHIPPED_FILES:
        address = listed.get(name)
        if address is None:
            continue
        if not isinstance(address, str):
            raise SpecError(f"{what}: tokenizer file {name} has no address")
        files[name] = store.get(validate_address(address))
    if "tokenizer.json" in files and "tokenizer_config.json" not in files:
        eos = _token_of(files["tokenizer.json"], manifest.eos_id)
        if eos is not None:
            config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": eos}
            files["tokenizer_config.json"] = json.dumps(config, indent=2).encode() + b"\n"
    return DatasetTokenizer(manifest.eos_id, files)


def _token_of(tokenizer_json: bytes, token_id: int) -> str | None:
    """The text of ``token_id`` in a ``tokenizer.json`` (its added tokens, then its model's
    vocabulary); None when the file does not say (the tokenizer then ships without a config)."""
    try:
        data: Any = json.loads(tokenizer_json)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for token in data.get("added_tokens") or []:
        if isinstance(token, dict) and token.get("id") == token_id:
            content = token.get("content")
            return content if isinstance(content, str) else None
    model = data.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(vocab, dict):
        for text, index in vocab.items():
            if index == token_id and isinstance(text, str):
                return text
    return None
