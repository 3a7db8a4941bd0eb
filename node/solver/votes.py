"""Jury vote material shared by every party that votes on a blob (DISPUTES.md "Jury").

The solver (respondent of a segment or checkpoint claim, claimant of a dataset claim), the
submitter answering a dataset claim (``node.solver.defense``) and the verifier jurors all vote a
salted digest ``BLAKE3(r ‖ blob)`` of the blob *as the store serves it*: a blob that is missing or
does not hash to its ``sha256:`` address is unavailable (digest 0). One implementation here, so the
parties cannot disagree on bytes they all hold.
"""

from __future__ import annotations

from blake3 import blake3

from node.chain.types import Job
from node.errors import CrowdtrainError
from node.storage import BlobStore
from node.training.spec import load_spec

UNAVAILABLE = b"\0" * 32
"""The digest that votes "unavailable" (``Jury.revealVote`` with 0)."""


def vote_hash(dispute_id: int, round_: int, voter: str, digest: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(disputeId, round, voter, digest, salt))`` (IJury.commitVote)."""
    from eth_abi.abi import encode
    from eth_hash.auto import keccak

    return keccak(
        encode(
            ["uint256", "uint256", "address", "bytes32", "bytes32"],
            [dispute_id, round_, voter, digest, salt],
        )
    )


def salted_blob_digest(store: BlobStore, address: str, salt: bytes) -> bytes:
    """``BLAKE3(salt ‖ blob)`` of the verified blob at ``address``; ``UNAVAILABLE`` when the store
    does not have it or its bytes do not hash to the address."""
    try:
        blob = store.get(address)
    except CrowdtrainError:
        return UNAVAILABLE
    return blake3(salt + blob).digest()


def dataset_address(store: BlobStore, job: Job) -> str:
    """The dataset address named by ``job``'s spec (StorageError/SpecError when unusable)."""
    return load_spec(store.get("sha256:" + job.spec_hash.hex())).dataset.address


def dataset_digest(store: BlobStore, job: Job, salt: bytes) -> bytes:
    """The salted digest of ``job``'s dataset (the vote on a Dataset availability claim)."""
    try:
        address = dataset_address(store, job)
    except CrowdtrainError:
        return UNAVAILABLE
    return salted_blob_digest(store, address, salt)
