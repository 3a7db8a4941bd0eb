"""Blob ids from another party (manifests, specs, API paths) that try to leave the blob folder:
refused by every backend with one line naming the id, before any file or request is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.errors import StorageError
from node.storage import LocalBlobStore, validate_address
from node.storage.api import ApiBlobStore

HEX = "ab" * 32
HOSTILE_IDS = [
    "../../etc/passwd",
    "/etc/passwd",
    "sha256:../" + HEX[:61],
    "sha256:/" + HEX[:63],
    "sha256:" + HEX[:62] + "/.",
    "sha256:" + HEX + "\n",  # `$` alone would accept this trailing newline
    "sha256:" + HEX + "/../x",
    "sha256:" + HEX.upper(),
    "sha256:" + HEX + "\x00",
    HEX,  # a bare digest is an API path form, not an address
]


@pytest.mark.parametrize("blob_id", HOSTILE_IDS)
def test_validate_address_refuses_in_one_line(blob_id: str) -> None:
    with pytest.raises(
        StorageError, match=r"invalid blob address .* expected 'sha256:' \+ 64"
    ) as e:
        validate_address(blob_id)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("blob_id", HOSTILE_IDS)
def test_local_store_touches_nothing_outside_its_folder(tmp_path: Path, blob_id: str) -> None:
    root = tmp_path / "blobs"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not a blob")
    store = LocalBlobStore(root)
    for call in (store.get, store.has, store.path):
        with pytest.raises(StorageError, match="invalid blob address"):
            call(blob_id)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"]  # no folder, no file made


@pytest.mark.parametrize("blob_id", HOSTILE_IDS)
def test_api_store_refuses_before_any_request(blob_id: str) -> None:
    # Port 9 (discard) is never asked: validation runs before the URL is built.
    store = ApiBlobStore("http://127.0.0.1:9", private_key="0x" + "11" * 32, timeout=0.01)
    for call in (store.get, store.has):
        with pytest.raises(StorageError, match="invalid blob address"):
            call(blob_id)
