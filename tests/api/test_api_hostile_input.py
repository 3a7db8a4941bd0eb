"""Hostile requests to the marketplace API: blob ids that try to leave the blob folder, a body
streamed past the size limit without a Content-Length, a replayed or foreign signature and hostile
specs are refused with a clear message, and nothing is stored (no row, no nonce, no file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import REPO, make_app, nothing_stored, open_state, sqlite_database
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from marketplace_api.api.state import AppState
from marketplace_api.blobs.files import BlobFiles
from marketplace_api.models import Spec
from node.errors import StorageError
from node.storage.api import sign_upload
from node.storage.base import address_of

KEY = "0x" + "11" * 32
HEX = "ab" * 32


@pytest.fixture
def small_state(tmp_path: Path) -> Iterator[AppState]:
    state = open_state(sqlite_database(tmp_path), tmp_path, blob_max_bytes=1024)
    yield state
    state.engine.dispose()


@pytest.fixture
def client(small_state: AppState) -> Iterator[TestClient]:
    with TestClient(make_app(small_state)) as c:
        yield c


@pytest.mark.parametrize(
    "blob_id",
    [
        "..%2F..%2Fapi.sqlite3",
        "%2Fetc%2Fpasswd",
        "sha256:..%2F" + HEX[:61],
        "sha256:%2F" + HEX[:63],
        f"sha256:{HEX}%0A",
        f"sha256:{HEX.upper()}",
        f"sha256:{HEX}%2F..",
    ],
)
def test_blob_ids_outside_the_format_are_refused(
    client: TestClient, small_state: AppState, tmp_path: Path, blob_id: str
) -> None:
    secret = tmp_path / "api.sqlite3"
    assert secret.exists()  # what "../api.sqlite3" would reach from the blob folder
    for method in ("GET", "HEAD"):
        got = client.request(method, f"/blobs/{blob_id}")
        assert got.status_code in (404, 422), (method, got.status_code)
        assert secret.read_bytes()[:16] not in got.content
    data = b"payload"
    put = client.put(f"/blobs/{blob_id}", content=data, headers=sign_upload(KEY, address_of(data)))
    assert put.status_code in (404, 422), put.text
    if put.status_code == 422:
        assert "address" in put.text
    assert nothing_stored(small_state)


def _chunks(total: int, size: int = 256) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"z" * min(size, total - start)


def test_a_body_streamed_past_the_limit_without_a_length_is_refused(
    client: TestClient, small_state: AppState
) -> None:
    # No Content-Length (chunked), so only the streaming limit can catch it.
    data = b"z" * 4096
    response = client.put(
        f"/blobs/{address_of(data)}",
        content=_chunks(len(data)),
        headers=sign_upload(KEY, address_of(data)),
    )
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == "blob larger than the limit of 1024 bytes"
    assert nothing_stored(small_state)  # the temporary spool file is gone too


def test_a_replayed_signature_stores_nothing_new(client: TestClient, small_state: AppState) -> None:
    data = b"first"
    headers = sign_upload(KEY, address_of(data))
    assert (
        client.put(f"/blobs/{address_of(data)}", content=data, headers=headers).status_code == 201
    )
    files = sorted(small_state.config.blob_dir.iterdir())
    replay = client.put(f"/blobs/{address_of(data)}", content=data, headers=headers)
    assert replay.status_code == 409
    assert (
        replay.json()["detail"]
        == f"nonce {headers['X-Crowdtrain-Nonce']} was already used: replayed upload"
    )
    assert sorted(small_state.config.blob_dir.iterdir()) == files


def test_a_signature_for_one_blob_does_not_carry_another(
    client: TestClient, small_state: AppState
) -> None:
    signed_for, sent = b"the signed blob", b"another blob"
    headers = sign_upload(KEY, address_of(signed_for))
    response = client.put(f"/blobs/{address_of(sent)}", content=sent, headers=headers)
    assert response.status_code == 401
    assert (
        f"is not {headers['X-Crowdtrain-Signer']}'s for {address_of(sent)}"
        in response.json()["detail"]
    )
    assert nothing_stored(small_state)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"steps": 10**30}, "steps: integer out of range"),
        (
            {"model": {"architecture": "mlp", "hidden": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}},
            "nests deeper",
        ),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"optimizer": {"name": "adamw", "lr": 0.01, "schedule": "cosine"}}, "optimizer.schedule"),
    ],
)
def test_hostile_specs_are_refused_and_not_stored(
    client: TestClient, small_state: AppState, change: dict[str, object], fragment: str
) -> None:
    spec = json.loads((REPO / "examples" / "specs" / "mlp_digits.json").read_text())
    response = client.post("/specs", json={**spec, **change})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert fragment in detail and "\n" not in detail
    with small_state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Spec)) == 0
    assert nothing_stored(small_state)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_spec_body_past_the_limit_is_refused_before_it_is_parsed(
    client: TestClient, small_state: AppState, chunked: bool
) -> None:
    limit = small_state.config.spec_max_bytes
    body = b'{"pad": "' + b"x" * limit + b'"}'
    step = 4096
    response = client.post(
        "/specs",
        # chunked: no Content-Length at all, so only counting the streamed bytes can catch it
        content=(body[i : i + step] for i in range(0, len(body), step)) if chunked else body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"a body on /specs may be at most {limit} bytes"}
    assert nothing_stored(small_state)


@pytest.mark.parametrize(
    "blob_id", ["../api.sqlite3", "/etc/passwd", "sha256:../" + HEX[:61], f"sha256:{HEX}\n"]
)
def test_blob_files_refuse_ids_outside_the_format(tmp_path: Path, blob_id: str) -> None:
    # The route's path pattern refuses these first; the file layer refuses them on its own too.
    files = BlobFiles(tmp_path / "blobs")
    with pytest.raises(StorageError, match="invalid blob address"):
        files.path(blob_id)
    with pytest.raises(StorageError, match="invalid blob address"):
        files.exists(blob_id)
    assert list((tmp_path / "blobs").iterdir()) == []
