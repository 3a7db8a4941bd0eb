"""Blob store and spec validation: every bad upload is a 4xx with a clear message and stores
nothing; ranges return exact bytes; quotas grow with stake; the API is a BlobStore backend."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from api_kit import (
    REPO,
    LiveServer,
    Market,
    make_app,
    nothing_stored,
    open_state,
    sqlite_database,
)
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from marketplace_api.api.state import AppState
from marketplace_api.models import Blob, Spec, UploadNonce
from node.config import load_settings
from node.storage import open_store
from node.storage.api import ApiBlobStore, sign_upload
from node.storage.base import address_of

KEY = "0x" + "11" * 32
OTHER_KEY = "0x" + "22" * 32


@pytest.fixture
def client(state: AppState) -> Iterator[TestClient]:
    with TestClient(make_app(state)) as c:
        yield c


def put(
    client: TestClient, data: bytes, *, address: str | None = None, key: str = KEY, **sig: object
) -> object:
    address = address or address_of(data)
    headers = sign_upload(key, address, **sig)  # type: ignore[arg-type]
    return client.put(f"/blobs/{address}", content=data, headers=headers)


def test_upload_download_range_and_replay(client: TestClient, state: AppState) -> None:
    data = bytes(range(256)) * 1000
    address = address_of(data)
    headers = sign_upload(KEY, address)
    first = client.put(f"/blobs/{address}", content=data, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"address": address, "size": len(data), "created": True}

    got = client.get(f"/blobs/{address}")
    assert got.status_code == 200 and got.content == data
    bare = client.get(f"/blobs/{address.removeprefix('sha256:')}")
    assert bare.content == data
    ranged = client.get(f"/blobs/{address}", headers={"Range": "bytes=1000-1999"})
    assert ranged.status_code == 206 and ranged.content == data[1000:2000]
    tail = client.get(f"/blobs/{address}", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    assert client.head(f"/blobs/{address}").headers["content-length"] == str(len(data))

    replay = client.put(f"/blobs/{address}", content=data, headers=headers)
    assert replay.status_code == 409 and "replayed" in replay.json()["detail"]
    again = put(client, data)  # a fresh signature for a stored blob: nothing new is stored
    assert again.status_code == 200 and again.json()["created"] is False


@pytest.mark.parametrize(
    "case",
    [
        "wrong_hash",
        "too_large",
        "unsigned",
        "expired",
        "other_signer",
        "other_blob",
        "bad_signature",
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    case: str, tmp_path: Path, database_url: str
) -> None:
    state = open_state(database_url, tmp_path, blob_max_bytes=1024)
    with TestClient(make_app(state)) as client:
        data = b"x" * 100
        address = address_of(data)
        headers = sign_upload(KEY, address)
        expected, fragment = {
            "wrong_hash": (400, "hashes to"),
            "too_large": (413, "limit"),
            "unsigned": (401, "unsigned upload"),
            "expired": (401, "expired"),
            "other_signer": (401, "is not"),
            "other_blob": (401, "is not"),
            "bad_signature": (401, "signature"),
        }[case]
        if case == "wrong_hash":
            address = address_of(b"something else")
            headers = sign_upload(KEY, address)
        elif case == "too_large":
            data = b"y" * 2048
            address = address_of(data)
            headers = sign_upload(KEY, address)
        elif case == "unsigned":
            headers = {}
        elif case == "expired":
            headers = sign_upload(KEY, address, expiry=int(time.time()) - 1)
        elif case == "other_signer":
            headers["X-Crowdtrain-Signer"] = Account.from_key(OTHER_KEY).address
        elif case == "other_blob":
            headers = sign_upload(KEY, address_of(b"another blob"))
        elif case == "bad_signature":
            headers["X-Crowdtrain-Signature"] = "0x" + "ab" * 65
        response = client.put(f"/blobs/{address}", content=data, headers=headers)
        assert response.status_code == expected, response.text
        assert fragment in response.json()["detail"]
        assert nothing_stored(state)
    state.engine.dispose()


def test_quota_is_larger_for_staked_addresses(market: Market, tmp_path: Path) -> None:
    state = open_state(
        sqlite_database(tmp_path),
        tmp_path,
        upload_quota_bytes=1_000,
        staked_upload_quota_bytes=10_000,
    )
    solver_key = market.solver_account.key.hex()
    with TestClient(make_app(state)) as client:
        small, big = b"a" * 600, b"b" * 5_000
        assert put(client, small, key=solver_key).status_code == 201
        refused = put(client, b"c" * 600, key=solver_key)
        assert refused.status_code == 403 and "quota" in refused.json()["detail"]
        market.stake_solver()
        market.indexer(state).run_until_head()
        assert put(client, big, key=solver_key).status_code == 201
    state.engine.dispose()


def test_specs_are_validated_and_stored(client: TestClient, state: AppState) -> None:
    spec = json.loads((REPO / "examples" / "specs" / "mlp_digits.json").read_text())
    stored = client.post("/specs", json=spec)
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["address"] == "sha256:" + body["spec_hash"].removeprefix("0x")
    blob = client.get(f"/blobs/{body['address']}").content
    assert hashlib.sha256(blob).hexdigest() == body["spec_hash"].removeprefix("0x")
    bad = client.post("/specs", json={**spec, "steps": 7})
    assert bad.status_code == 422 and "checkpoint_every" in bad.json()["detail"]
    native = client.post("/specs", json={**spec, "runtime": "native"})
    assert native.status_code == 422 and "repro-v1" in native.json()["detail"]
    with state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Spec)) == 1


def test_api_blob_store_backend(sqlite_state: AppState, tmp_path: Path) -> None:
    server = LiveServer(make_app(sqlite_state)).start()
    try:
        settings = load_settings(api_url=server.url, private_key=KEY, data_dir=tmp_path / "d")
        store = open_store(settings)
        assert isinstance(store, ApiBlobStore)
        address = store.put(b"checkpoint bytes")
        assert store.has(address) and store.get(address) == b"checkpoint bytes"
        assert store.put(b"checkpoint bytes") == address  # idempotent
        reader = ApiBlobStore(server.url)
        assert reader.get(address) == b"checkpoint bytes"
        with pytest.raises(Exception, match="needs a signature"):
            reader.put(b"no key")
    finally:
        server.stop()


def test_concurrent_uploads_cannot_exceed_the_quota_together(
    database_url: str, tmp_path: Path
) -> None:
    """Both uploads pass the pre-check (each sees 1,000 bytes left) before either is recorded:
    the recording transactions, run at the same time, let exactly one of them store its blob."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from marketplace_api.api.routes.blobs import QuotaRace, _precheck, _record
    from marketplace_api.blobs.auth import UploadGrant

    state = open_state(database_url, tmp_path, upload_quota_bytes=1_000)
    signer = Account.from_key(KEY).address
    bodies = [b"a" * 600, b"b" * 600]

    async def one(data: bytes) -> AsyncIterator[bytes]:
        yield data

    checked = [
        _precheck(state, UploadGrant(signer, f"n{k}", 2**40), address_of(b), None)
        for k, b in enumerate(bodies)
    ]
    assert checked == [(1_000, 1_000), (1_000, 1_000)]
    spooled = [asyncio.run(state.blobs.spool(one(b), limit=1_000)) for b in bodies]

    def record(k: int) -> str:
        try:
            _record(
                state, UploadGrant(signer, f"n{k}", 2**40), spooled[k].address, spooled[k], 1, 1_000
            )
        except QuotaRace as race:
            return f"refused:{race.left}"
        return "stored"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(record, range(2)))
    assert outcomes == ["refused:400", "stored"]
    with state.sessions() as session:
        assert session.scalar(select(func.sum(Blob.size))) == 600
        assert session.scalar(select(func.count()).select_from(UploadNonce)) == 1
    files = sorted(p.name for p in state.config.blob_dir.iterdir())
    assert len(files) == 1 and not files[0].startswith(".upload-")  # no temporary file left
    state.engine.dispose()
