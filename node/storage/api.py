"""``ApiBlobStore``: the marketplace API as a ``BlobStore`` (``CROWDTRAIN_API_URL``).

Uploads are signed with EIP-191 (``personal_sign``) over a message naming the blob's address, an
expiry and a fresh nonce, so a captured upload cannot be replayed and a signature for one blob
cannot carry another. Downloads are verified against their address here, whoever served them:
the API is trusted for availability, never for integrity.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import requests
from eth_account import Account
from eth_account.messages import encode_defunct

from node.errors import StorageError, StorageUnavailableError
from node.storage.base import address_of, validate_address, verify_blob

if TYPE_CHECKING:
    from node.config import Settings

SIGNATURE_LIFETIME_S = 300
HEADER_SIGNER = "X-Crowdtrain-Signer"
HEADER_SIGNATURE = "X-Crowdtrain-Signature"
HEADER_EXPIRY = "X-Crowdtrain-Expiry"
HEADER_NONCE = "X-Crowdtrain-Nonce"


def upload_message(address: str, *, expiry: int, nonce: str) -> str:
    """The text an uploader signs; the API rebuilds it from the request to recover the signer."""
    return f"crowdtrain blob upload\nblob: {address}\nexpiry: {expiry}\nnonce: {nonce}"


def sign_upload(
    private_key: str, address: str, *, expiry: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The headers of a signed ``PUT /blobs/{address}`` (a fresh nonce, a 5-minute expiry)."""
    expiry = int(time.time()) + SIGNATURE_LIFETIME_S if expiry is None else expiry
    nonce = secrets.token_hex(16) if nonce is None else nonce
    message = encode_defunct(text=upload_message(address, expiry=expiry, nonce=nonce))
    signed = Account.sign_message(message, private_key=private_key)
    return {
        HEADER_SIGNER: str(signed_by(private_key)),
        HEADER_SIGNATURE: "0x" + bytes(signed.signature).hex(),
        HEADER_EXPIRY: str(expiry),
        HEADER_NONCE: nonce,
    }


def signed_by(private_key: str) -> str:
    """The address of ``private_key``."""
    return str(Account.from_key(private_key).address)


class ApiBlobStore:
    """Blobs on the marketplace API; ``put`` needs a private key, ``get``/``has`` do not."""

    def __init__(
        self,
        api_url: str,
        *,
        private_key: str | None = None,
        timeout: float = 120.0,
        max_bytes: int = 1 << 30,
    ) -> None:
        self.base = api_url.rstrip("/")
        self._key = private_key
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._http = requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiBlobStore:
        key = settings.private_key.get_secret_value() if settings.private_key else None
        if settings.api_url is None:
            raise StorageError("CROWDTRAIN_API_URL is not set")
        return cls(settings.api_url, private_key=key, max_bytes=settings.blob_max_bytes)

    def _url(self, address: str) -> str:
        return f"{self.base}/blobs/{validate_address(address)}"

    def put(self, data: bytes) -> str:
        address = address_of(data)
        if self.has(address):
            return address
        if self._key is None:
            raise StorageError(
                f"uploading {address} to {self.base} needs a signature: set CROWDTRAIN_PRIVATE_KEY"
            )
        headers = sign_upload(self._key, address)
        headers["Content-Type"] = "application/octet-stream"
        response = self._request("PUT", address, data=data, headers=headers)
        if response.status_code not in (200, 201):
            raise StorageError(
                f"upload of {address} to {self.base} refused ({response.status_code}): "
                f"{_detail(response)}"
            )
        return address

    def get(self, address: str) -> bytes:
        response = self._request("GET", address, stream=True)
        with response:
            if response.status_code == 404:
                raise StorageError(f"blob {address} not found on {self.base}")
            if response.status_code != 200:
                raise StorageError(
                    f"cannot fetch blob {address} from {self.base} ({response.status_code}): "
                    f"{_detail(response)}"
                )
            return verify_blob(address, self._read_capped(address, response))

    def _read_capped(self, address: str, response: requests.Response) -> bytes:
        """The body, refused past ``max_bytes`` (declared or streamed): the server is not trusted
        for integrity, so it must not be able to fill this process's memory either."""
        too_big = (
            f"blob {address} from {self.base} is larger than the limit of {self.max_bytes} bytes"
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise StorageError(too_big)
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=1 << 20):
                body += chunk
                if len(body) > self.max_bytes:
                    raise StorageError(too_big)
        except requests.RequestException as err:
            raise StorageError(f"download of {address} from {self.base} failed: {err}") from err
        return bytes(body)

    def has(self, address: str) -> bool:
        return self._request("HEAD", address).status_code == 200

    def _request(self, method: str, address: str, **kwargs: object) -> requests.Response:
        try:
            response = self._http.request(
                method,
                self._url(address),
                timeout=self.timeout,
                **kwargs,  # type: ignore[arg-type]
            )
        except requests.RequestException as err:
            raise StorageUnavailableError(
                f"marketplace API {self.base} unreachable: {err}"
            ) from err
        if response.status_code >= 500:
            raise StorageUnavailableError(
                f"marketplace API {self.base} failed ({response.status_code}) on {method} "
                f"{address}: {_detail(response)}"
            )
        return response

    def __repr__(self) -> str:
        return f"ApiBlobStore({self.base!r})"


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
