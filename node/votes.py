"""Jury vote material, one implementation for every party that votes (DISPUTES.md "Jury").

The solver (respondent of a segment, initial-state or blob claim; claimant of a dataset claim), the
submitter answering a dataset claim (``node.solver.defense``) and the verifier jurors
(``verifier.work``) all commit ``keccak256(abi.encode(disputeId, round, voter, digest, salt))`` and
reveal a salted digest ``BLAKE3(r ‖ serialized state)`` (or of a blob *as the store serves it*: a
blob that is missing or does not hash to its ``sha256:`` address is unavailable, digest 0; a store
that is down decides nothing: ``StorageUnavailableError`` goes up and the vote waits). A
``token-shards`` dataset is its manifest plus every blob it names: its digest is
``BLAKE3(r ‖ manifest ‖ shard_0 ‖ … ‖ tokenizer files)``, unavailable when any one is missing or
corrupt. Kept in one place so the parties cannot disagree on bytes they all hold.
"""

from __future__ import annotations

from blake3 import blake3
from eth_abi.abi import encode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from node.chain.types import Job
from node.errors import CrowdtrainError, StorageUnavailableError
from node.storage import BlobStore
from node.trace.state import TrainState, state_parts
from node.training.shards import dataset_blobs
from node.training.spec import JobSpec, load_spec

UNAVAILABLE = b"\0" * 32
"""The digest that votes "unavailable" (``Jury.revealVote`` with 0)."""


def vote_commitment(dispute_id: int, round_: int, voter: str, digest: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(disputeId, round, voter, digest, salt))`` (``IJury.commitVote``)."""
    return keccak(
        encode(
            ["uint256", "uint256", "address", "bytes32", "bytes32"],
            [dispute_id, round_, to_checksum_address(voter), digest, salt],
        )
    )


def state_digest(salt: bytes, state: TrainState) -> bytes:
    """``BLAKE3(r ‖ serialized state)``: proves possession of a state without revealing it.

    The public ``stateHash`` cannot be turned into this digest, so a juror copying the solver's
    claim cannot vote; ``r`` is drawn after the jurors are fixed.
    """
    hasher = blake3(salt)
    for part in state_parts(state):
        hasher.update(part)
    return hasher.digest()


def blob_digest(salt: bytes, blob: bytes) -> bytes:
    """The same digest from serialized bytes (a checkpoint, a dispute state, a manifest)."""
    return blake3(salt + blob).digest()


def stored_blob_digest(store: BlobStore, address: str, salt: bytes) -> bytes:
    """``blob_digest`` of the verified blob at ``address``; ``UNAVAILABLE`` when the store does not
    have it or its bytes do not hash to the address."""
    try:
        blob = store.get(address)
    except StorageUnavailableError:
        raise  # our store is down: no vote now (the caller retries), never "unavailable"
    except CrowdtrainError:
        return UNAVAILABLE
    return blob_digest(salt, blob)


def job_spec(store: BlobStore, job: Job) -> JobSpec:
    """``job``'s spec from the store (StorageError/SpecError when unusable)."""
    return load_spec(store.get("sha256:" + job.spec_hash.hex()))


def dataset_digest(store: BlobStore, job: Job, salt: bytes) -> bytes:
    """The salted digest of ``job``'s dataset (the vote on a Dataset availability claim): every
    blob of the dataset, each verified, streamed one at a time into one hash."""
    try:
        dataset = job_spec(store, job).dataset
    except StorageUnavailableError:
        raise
    except CrowdtrainError:
        return UNAVAILABLE
    try:
        hasher = blake3(salt)
        for address in dataset_blobs(store, dataset.address, dataset.format):
            hasher.update(store.get(address))
    except StorageUnavailableError:
        raise  # our store is down: no vote now (the caller retries), never "unavailable"
    except CrowdtrainError:
        return UNAVAILABLE
    return hasher.digest()
