"""The tokenizer a job's dataset was prepared with, to ship beside an exported model.

A ``token-shards`` dataset manifest (``crowdtrain data prepare --tokenizer``) records its tokenizer
files by address (``{"kind": "tokenizers", "files": {"tokenizer.json": "sha256:…", …}}``) and the
EOS id written between documents. Only the file names ``data prepare`` ships are taken (they become
file names in the export folder); single-blob datasets and byte-level datasets have no tokenizer
files, and export then writes the model alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    return DatasetTokenizer(manifest.eos_id, files)
