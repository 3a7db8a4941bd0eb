"""Content addresses and the ``BlobStore`` protocol every storage backend implements.

A blob is named by the SHA-256 of its bytes (``sha256:<64 lowercase hex>``), so any party can check
what it fetched without trusting whoever served it (docs/PROTOCOL.md §3). Addresses, never paths or hosts, go
on-chain and into manifests; a backend (local folder today, the marketplace API later) resolves them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol, runtime_checkable

from node.errors import StorageError

ADDRESS_PREFIX = "sha256:"
_ADDRESS_RE = re.compile(r"sha256:[0-9a-f]{64}")


def address_of(data: bytes) -> str:
    """The content address of ``data``."""
    return ADDRESS_PREFIX + hashlib.sha256(data).hexdigest()


def validate_address(address: str) -> str:
    """Return ``address`` unchanged if well formed; raise StorageError naming it otherwise.

    Validation matters for the local backend too: an address becomes a file name, so anything but
    64 lowercase hex digits could escape the blob folder. ``fullmatch``, not ``match`` with ``$``:
    ``$`` also matches before a trailing newline, which would name a different file.
    """
    if not isinstance(address, str) or not _ADDRESS_RE.fullmatch(address):
        raise StorageError(
            f"invalid blob address {address!r}: expected 'sha256:' + 64 lowercase hex"
        )
    return address


def digest_of(address: str) -> bytes:
    """The 32 raw bytes behind a ``sha256:`` address."""
    return bytes.fromhex(validate_address(address)[len(ADDRESS_PREFIX) :])


def verify_blob(address: str, data: bytes) -> bytes:
    """Return ``data`` if it hashes to ``address``; raise StorageError naming the address otherwise."""
    actual = address_of(data)
    if actual != address:
        raise StorageError(f"blob {address} is corrupt: its bytes hash to {actual}")
    return data


@runtime_checkable
class BlobStore(Protocol):
    """A content-addressed store: ``get`` never returns bytes that do not hash to the address."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its address."""
        ...

    def get(self, address: str) -> bytes:
        """The verified bytes of ``address``; StorageError when missing or corrupt."""
        ...

    def has(self, address: str) -> bool:
        """Whether the store holds ``address`` (without verifying its bytes)."""
        ...
