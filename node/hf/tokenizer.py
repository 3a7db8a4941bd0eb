"""The tokenizer a job's dataset was prepared with, to ship beside an exported model.

A ``token-shards`` dataset manifest (``crowdtrain data prepare --tokenizer``) records its tokenizer
as ``{"kind": "tokenizers", "files": {"tokenizer.json": "sha256:…", …}}`` and the EOS id written
between documents. Only the known tokenizer file names are taken (they become file names in the
export folder); older single-blob datasets (safetensors) and byte-level datasets have no tokenizer
files, and export then writes the model alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from node.errors import SpecError
from node.storage import BlobStore, validate_address

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
MANIFEST_FORMAT = "token-shards"
_MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True)
class DatasetTokenizer:
    """Files to write beside the model and the EOS id for ``config.json``."""

    eos_id: int | None
    files: dict[str, bytes] = field(default_factory=dict)


def dataset_tokenizer(store: BlobStore, dataset_address: str) -> DatasetTokenizer | None:
    """The dataset's tokenizer files, or None when the dataset records none."""
    raw = store.get(dataset_address)
    if len(raw) > _MAX_MANIFEST_BYTES or not raw.lstrip().startswith(b"{"):
        return None  # a single-blob (safetensors) dataset: no tokenizer recorded
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    eos = manifest.get("eos_id")
    eos_id = eos if isinstance(eos, int) and not isinstance(eos, bool) and eos >= 0 else None
    tokenizer = manifest.get("tokenizer")
    listed = tokenizer.get("files") if isinstance(tokenizer, dict) else None
    if not isinstance(listed, dict):
        return DatasetTokenizer(eos_id)
    files = {}
    for name in TOKENIZER_FILES:
        address = listed.get(name)
        if address is None:
            continue
        if not isinstance(address, str):
            raise SpecError(f"dataset {dataset_address}: tokenizer file {name} has no address")
        files[name] = store.get(validate_address(address))
    return DatasetTokenizer(eos_id, files)
