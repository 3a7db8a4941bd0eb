"""The commit-reveal preimages of attestations, challenges and votes, byte-identical to the
contracts (``IAttestations``, ``IDisputeGame``). Pure, so the decision logic and tests share them."""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.abi import encode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address


def attestation_leaf(
    job_id: int, attempt: int, segment: int, seg_root: bytes, attester: str, salt: bytes
) -> bytes:
    """``h_t = keccak256(abi.encode(jobId, a, i_t, segRoot_{i_t}, attester, salt))``."""
    return keccak(
        encode(
            ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
            [job_id, attempt, segment, seg_root, to_checksum_address(attester), salt],
        )
    )


def attestation_digest(
    job_id: int,
    attempt: int,
    segments: Sequence[int],
    seg_roots: Sequence[bytes],
    attester: str,
    salt: bytes,
) -> bytes:
    """``keccak256(abi.encode(bytes32[] [h_1, …, h_c]))`` over the assigned segments in assignment
    order: ``Attestations.revealAttestation`` hashes the dynamic array (offset and length
    included), not the packed words the interface comment suggests."""
    leaves = [
        attestation_leaf(job_id, attempt, s, r, attester, salt)
        for s, r in zip(segments, seg_roots, strict=True)
    ]
    return keccak(encode(["bytes32[]"], [leaves]))


def challenge_hash(job_id: int, attempt: int, segment: int, challenger: str, salt: bytes) -> bytes:
    """``keccak256(abi.encode(jobId, attempt, segment, challenger, salt))``."""
    return keccak(
        encode(
            ["uint256", "uint256", "uint256", "address", "bytes32"],
            [job_id, attempt, segment, to_checksum_address(challenger), salt],
        )
    )
