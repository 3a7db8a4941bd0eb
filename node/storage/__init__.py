"""Content-addressed blob storage: the ``BlobStore`` protocol, the local backend and a factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.storage.base import (
    ADDRESS_PREFIX,
    BlobStore,
    address_of,
    digest_of,
    validate_address,
    verify_blob,
)
from node.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from node.config import Settings

__all__ = [
    "ADDRESS_PREFIX",
    "BlobStore",
    "LocalBlobStore",
    "address_of",
    "digest_of",
    "open_store",
    "validate_address",
    "verify_blob",
]


def open_store(settings: Settings) -> BlobStore:
    """The store the settings name: the marketplace API when ``api_url`` is set, else the blob folder.

    Either way the ``sha256:<hex>`` addresses are the same, so a job never depends on the backend.
    """
    if settings.api_url:
        from node.storage.api import ApiBlobStore

        return ApiBlobStore.from_settings(settings)
    return LocalBlobStore(settings.blob_dir)
