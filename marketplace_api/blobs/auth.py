"""Upload authorisation: an EIP-191 signature over the blob address, an expiry and a nonce.

The message format lives with the client (``node.storage.api.upload_message``) so both sides build
the same text. A signature is accepted once: its (signer, nonce) is recorded with the stored blob,
and expiries are bounded so old nonces can be pruned without reopening replays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct

from node.storage.api import upload_message

# Used with fullmatch: ``$`` would also accept a trailing newline.
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_SIGNATURE = re.compile(r"(0x)?[0-9a-fA-F]{130}")


class UploadDenied(Exception):
    """Raised when an upload's signature is missing, malformed, expired or wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadGrant:
    signer: str
    nonce: str
    expiry: int


def check_upload_signature(
    address: str,
    *,
    signer: str | None,
    signature: str | None,
    expiry: str | None,
    nonce: str | None,
    now: int,
    max_lifetime_s: int,
) -> UploadGrant:
    """Who signed this upload; UploadDenied (401/400) with a message saying what is wrong."""
    if not signer or not signature or not expiry or not nonce:
        raise UploadDenied(
            401,
            "unsigned upload: send X-Crowdtrain-Signer, X-Crowdtrain-Signature, "
            "X-Crowdtrain-Expiry and X-Crowdtrain-Nonce (EIP-191 over "
            "node.storage.api.upload_message)",
        )
    if not _ADDRESS.fullmatch(signer):
        raise UploadDenied(400, "X-Crowdtrain-Signer must be a 0x-prefixed 20-byte address")
    if not expiry.isdigit() or len(expiry) > 12:
        raise UploadDenied(400, f"X-Crowdtrain-Expiry must be unix seconds, got {expiry[:20]!r}")
    expires = int(expiry)
    if expires <= now:
        raise UploadDenied(401, f"signature expired at {expires} (now {now}): sign again")
    if expires > now + max_lifetime_s:
        raise UploadDenied(
            400, f"signature expiry {expires} is more than {max_lifetime_s} s in the future"
        )
    if not _NONCE.fullmatch(nonce):
        raise UploadDenied(400, "X-Crowdtrain-Nonce must be 8-64 characters of [A-Za-z0-9_-]")
    if not _SIGNATURE.fullmatch(signature):
        raise UploadDenied(401, "X-Crowdtrain-Signature must be a 65-byte hex signature")
    message = encode_defunct(text=upload_message(address, expiry=expires, nonce=nonce))
    try:
        recovered = str(Account.recover_message(message, signature=signature))
    except Exception:  # eth_keys raises several types for invalid curve points
        raise UploadDenied(401, "the signature does not recover to any address") from None
    if recovered.lower() != signer.lower():
        raise UploadDenied(
            401,
            f"the signature is not {signer}'s for {address} with this expiry and nonce "
            f"(it recovers to {recovered})",
        )
    return UploadGrant(signer=recovered, nonce=nonce, expiry=expires)
