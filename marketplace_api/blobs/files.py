"""Blob files on disk: streamed into a temporary file while hashed, renamed into place only when
the bytes hash to the address they were uploaded under.

A failed upload (wrong hash, too large, client gone) leaves nothing under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from node.storage.base import ADDRESS_PREFIX, validate_address


class BlobTooLarge(Exception):
    """Raised when an upload's body passes the size limit."""


@dataclass(frozen=True)
class Spooled:
    """An upload written to a temporary file: its digest and size, not yet in the store."""

    path: Path
    address: str
    size: int


class BlobFiles:
    """``<root>/<hex>`` files, one per stored blob."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, address: str) -> Path:
        return self.root / validate_address(address)[len(ADDRESS_PREFIX) :]

    def exists(self, address: str) -> bool:
        return self.path(address).is_file()

    async def spool(self, chunks: AsyncIterator[bytes], *, limit: int) -> Spooled:
        """Write ``chunks`` to a temporary file while hashing; BlobTooLarge past ``limit`` bytes."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise BlobTooLarge(f"the body is larger than the limit of {limit} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Spooled(Path(tmp), ADDRESS_PREFIX + digest.hexdigest(), size)

    def commit(self, spooled: Spooled) -> bool:
        """Move a verified upload into place; False if the blob was already there."""
        target = self.path(spooled.address)
        if target.exists():
            spooled.path.unlink(missing_ok=True)
            return False
        os.replace(spooled.path, target)
        return True

    def discard(self, spooled: Spooled) -> None:
        spooled.path.unlink(missing_ok=True)

    def remove(self, address: str) -> None:
        self.path(address).unlink(missing_ok=True)

    def write(self, data: bytes) -> str:
        """Store bytes the service produced itself (validated specs)."""
        address = ADDRESS_PREFIX + hashlib.sha256(data).hexdigest()
        target = self.path(address)
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".write-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return address
