"""``LocalBlobStore``: blobs as files named by their hash in one folder (``CROWDTRAIN_BLOB_DIR``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from node.errors import StorageError, StorageUnavailableError
from node.storage.base import address_of, validate_address, verify_blob


class LocalBlobStore:
    """Content-addressed files ``<root>/<hex>``, written atomically and verified on every read.

    Writes go to a temporary file in the same folder and are renamed into place, so a crash (even a
    SIGKILL) never leaves a partial blob under a valid name; reads re-hash the bytes, so a file
    corrupted on disk is reported instead of silently served.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, address: str) -> Path:
        """Where ``address`` lives (whether or not it exists)."""
        return self.root / validate_address(address).split(":", 1)[1]

    def put(self, data: bytes) -> str:
        address = address_of(data)
        target = self.path(address)
        if target.exists() and target.stat().st_size == len(data):
            return address
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            raise StorageUnavailableError(
                f"cannot write blob {address} under {self.root}: {err}"
            ) from err
        return address

    def get(self, address: str) -> bytes:
        target = self.path(address)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise StorageError(f"blob {address} not found in {self.root}") from None
        except OSError as err:
            raise StorageUnavailableError(
                f"cannot read blob {address} from {self.root}: {err}"
            ) from err
        return verify_blob(address, data)

    def has(self, address: str) -> bool:
        return self.path(address).is_file()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"
