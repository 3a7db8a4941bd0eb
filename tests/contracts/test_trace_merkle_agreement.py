"""node/trace/merkle.py agrees byte for byte with TraceMerkle.sol (DESIGN §2), trees of 1..65 leaves.

Every check is an eth_call, sent in JSON-RPC batches so the whole sweep takes a few seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from protocol_kit import ErrorTable, deploy
from web3 import Web3

from node.trace.merkle import MerkleTree, checkpoint_leaf, depth, segment_leaf, step_leaf

pytestmark = pytest.mark.chain

BATCH = 1_000
VERIFY = "verify(bytes32,bytes32,uint256,uint256,bytes32[])"


@dataclass(frozen=True)
class Check:
    """One eth_call and what it must return: ``result`` words or the revert ``error``."""

    signature: str
    arg_types: tuple[str, ...]
    args: tuple[Any, ...]
    result: Any = None
    error: tuple[str, tuple[Any, ...]] | None = None

    def calldata(self) -> str:
        selector = function_signature_to_4byte_selector(self.signature)
        return "0x" + (selector + abi_encode(list(self.arg_types), list(self.args))).hex()


def _verify(
    root: bytes, leaf: bytes, index: int, count: int, proof: list[bytes], **expect: Any
) -> Check:
    types = ("bytes32", "bytes32", "uint256", "uint256", "bytes32[]")
    return Check(VERIFY, types, (root, leaf, index, count, proof), **expect)


def _checks(rng: random.Random) -> list[Check]:
    checks: list[Check] = []
    for count in range(1, 66):
        leaves = [rng.randbytes(32) for _ in range(count)]
        tree = MerkleTree.build(leaves)
        checks.append(Check("root(bytes32[])", ("bytes32[]",), (leaves,), result=tree.root))
        for index in range(count):
            proof = tree.proof(index)
            assert len(proof) == depth(count)
            checks.append(_verify(tree.root, leaves[index], index, count, proof, result=True))
            others = [j for j in range(count) if j != index]
            for other in others if count <= 16 else rng.sample(others, 4):
                checks.append(_verify(tree.root, leaves[index], other, count, proof, result=False))
        for index in {0, count - 1}:
            proof = tree.proof(index)
            wrong_lengths = [[*proof, leaves[0]]] + ([proof[:-1]] if proof else [])
            for wrong in wrong_lengths:
                error = ("TraceMerkleBadProofLength", (count, len(wrong)))
                checks.append(_verify(tree.root, leaves[index], index, count, wrong, error=error))
        error = ("TraceMerkleIndexOutOfRange", (count, count))
        checks.append(_verify(tree.root, leaves[0], count, count, tree.proof(0), error=error))
    for _ in range(20):
        job, attempt, i, j = (rng.getrandbits(64) for _ in range(4))
        word = rng.randbytes(32)
        checks += [
            Check(
                "checkpointLeaf(uint256,uint256,uint256,bytes32)",
                ("uint256", "uint256", "uint256", "bytes32"),
                (job, attempt, i, word),
                result=checkpoint_leaf(job, attempt, i, word),
            ),
            Check(
                "stepLeaf(uint256,uint256,uint256,uint256,bytes32)",
                ("uint256", "uint256", "uint256", "uint256", "bytes32"),
                (job, attempt, i, j, word),
                result=step_leaf(job, attempt, i, j, word),
            ),
            Check(
                "segmentLeaf(uint256,uint256,uint256,bytes32)",
                ("uint256", "uint256", "uint256", "bytes32"),
                (job, attempt, i, word),
                result=segment_leaf(job, attempt, i, word),
            ),
        ]
    return checks


def _outcome(check: Check, response: dict[str, Any], errors: ErrorTable) -> Any:
    if "error" in response:
        data = response["error"].get("data")
        return ("revert", errors.decode(bytes.fromhex(data[2:])) if data else None)
    raw = bytes.fromhex(response["result"][2:])
    if check.signature.startswith("verify"):
        return ("ok", abi_decode(["bool"], raw)[0])
    return ("ok", raw)


def test_python_trees_match_the_contract(chain: Web3, dev_accounts: list[LocalAccount]) -> None:
    harness = deploy(chain, "TraceMerkleHarness", dev_accounts[0].address)
    errors = ErrorTable.from_abis([harness.abi])
    checks = _checks(random.Random(20240601))
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]
    mismatches: list[str] = []
    for start in range(0, len(checks), BATCH):
        batch = checks[start : start + BATCH]
        payload = [
            {
                "jsonrpc": "2.0",
                "id": k,
                "method": "eth_call",
                "params": [{"to": harness.address, "data": c.calldata()}, "latest"],
            }
            for k, c in enumerate(batch)
        ]
        responses = sorted(
            requests.post(url, json=payload, timeout=120).json(), key=lambda r: r["id"]
        )
        for check, response in zip(batch, responses, strict=True):
            expected = ("revert", check.error) if check.error else ("ok", check.result)
            got = _outcome(check, response, errors)
            if got != expected:
                mismatches.append(
                    f"{check.signature}{check.args[2:4]}: expected {expected}, got {got}"
                )
    assert not mismatches, f"{len(mismatches)} of {len(checks)} checks differ: {mismatches[:5]}"
    assert len(checks) > 5_000
