"""Content-addressed blob storage: the ``BlobStore`` protocol, the local backend and a factory."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from node.errors import ConfigError
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

    The API backend lands with the marketplace service; until then asking for it fails loudly
    rather than silently writing blobs where no counterparty can fetch them.
    """
    if settings.api_url:
        try:
            api = importlib.import_module("node.storage.api")
        except ImportError:
            raise ConfigError(
                f"CROWDTRAIN_API_URL={settings.api_url} is set but the API blob store is not "
                "available yet; unset it to use the local blob folder"
            ) from None
        store: BlobStore = api.ApiBlobStore(settings.api_url)
        return store
    return LocalBlobStore(settings.blob_dir)
