"""The Python mirrors agree byte for byte with the contracts (docs/PROTOCOL.md §4, §6; issue #11 §2).

node/trace/merkle.py against TraceMerkle.sol (a sweep of trees of 1..65 leaves, then hypothesis
over random leaves, indexes and wrong proofs); verifier/assignment.py's Feistel segment permutation
against ``Attestations.segmentsAt``; and the weighted verifier draw that DISPUTES.md specifies
against ``StakeRegistry.drawVerifiers``. Every check is an eth_call, sent in JSON-RPC batches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from chain_dispute_kit import register_verifiers
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_kit import ErrorTable, deploy
from protocol_world import World
from web3 import Web3

from node.trace.merkle import (
    MerkleTree,
    checkpoint_leaf,
    depth,
    segment_leaf,
    step_leaf,
    verify_proof,
)
from verifier.assignment import segments_of

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
    if check.signature.startswith("segmentsAt"):
        return ("ok", [int(x) for x in abi_decode(["uint256[]"], raw)[0]])
    return ("ok", raw)


def _run(url: str, to: str, checks: list[Check], errors: ErrorTable) -> list[str]:
    """Send ``checks`` as batched eth_calls to ``to``; return a line per mismatch."""
    mismatches: list[str] = []
    for start in range(0, len(checks), BATCH):
        batch = checks[start : start + BATCH]
        payload = [
            {
                "jsonrpc": "2.0",
                "id": k,
                "method": "eth_call",
                "params": [{"to": to, "data": c.calldata()}, "latest"],
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
    return mismatches


def test_python_trees_match_the_contract(chain: Web3, dev_accounts: list[LocalAccount]) -> None:
    harness = deploy(chain, "TraceMerkleHarness", dev_accounts[0].address)
    errors = ErrorTable.from_abis([harness.abi])
    checks = _checks(random.Random(20240601))
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]
    mismatches = _run(url, harness.address, checks, errors)
    assert not mismatches, f"{len(mismatches)} of {len(checks)} checks differ: {mismatches[:5]}"
    assert len(checks) > 5_000


FUZZ = settings(max_examples=150, deadline=None)
LEAVES = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)
SEGMENTS_AT = "segmentsAt(bytes32,uint256,uint256,uint256)"


def test_random_trees_roots_and_proofs_match_the_contract(
    chain: Web3, dev_accounts: list[LocalAccount]
) -> None:
    """hypothesis: random leaves (repeats and zero words included), a proof for one index checked
    at another, and a proof with one flipped bit, each against the Python verdict."""
    harness = deploy(chain, "TraceMerkleHarness", dev_accounts[0].address)
    errors = ErrorTable.from_abis([harness.abi])
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]

    @FUZZ
    @given(
        leaves=LEAVES,
        pick=st.integers(min_value=0),
        other=st.integers(min_value=0),
        flip=st.integers(0, 255),
    )
    def agree(leaves: list[bytes], pick: int, other: int, flip: int) -> None:
        count = len(leaves)
        tree = MerkleTree.build(leaves)
        index, wrong = pick % count, other % count
        proof = tree.proof(index)
        leaf = leaves[index]
        elsewhere = verify_proof(tree.root, leaf, wrong, count, proof)
        checks = [
            Check("root(bytes32[])", ("bytes32[]",), (leaves,), result=tree.root),
            _verify(tree.root, leaf, index, count, proof, result=True),
            _verify(tree.root, leaf, wrong, count, proof, result=elsewhere),
        ]
        if proof:  # one flipped bit anywhere in the proof breaks it
            bad = [bytearray(p) for p in proof]
            bad[flip % len(bad)][flip % 32] ^= 1 << (flip % 8)
            flipped = [bytes(b) for b in bad]
            assert not verify_proof(tree.root, leaf, index, count, flipped)
            checks.append(_verify(tree.root, leaf, index, count, flipped, result=False))
        assert not _run(url, harness.address, checks, errors)

    agree()


def _segments_check(seed: bytes, n: int, first: int, count: int) -> Check:
    types = ("bytes32", "uint256", "uint256", "uint256")
    return Check(
        SEGMENTS_AT, types, (seed, n, first, count), result=segments_of(seed, n, first, count)
    )


def test_segment_permutation_matches_the_contract(
    chain: Web3, dev_accounts: list[LocalAccount]
) -> None:
    """hypothesis: same seed and N give the same Feistel permutation and attester segments."""
    owner = dev_accounts[0].address
    attestations = deploy(chain, "Attestations", owner, owner, 3, 2, 1)
    errors = ErrorTable.from_abis([attestations.abi])
    url = chain.provider.endpoint_uri  # type: ignore[attr-defined]

    @FUZZ
    @given(
        seed=st.binary(min_size=32, max_size=32),
        n=st.integers(min_value=1, max_value=600),
        first=st.integers(min_value=0, max_value=2_000),
        count=st.integers(min_value=0, max_value=40),
    )
    def agree(seed: bytes, n: int, first: int, count: int) -> None:
        checks = [_segments_check(seed, n, first, count)]
        if n <= 64:
            full = segments_of(seed, n, 0, n)
            assert sorted(full) == list(range(1, n + 1)), "P is not a permutation of [0, N)"
            checks.append(_segments_check(seed, n, 0, n))
        got = _run(url, attestations.address, checks, errors)
        assert not got, got

    agree()


def draw_reference(
    seed: bytes, count: int, exclude: list[str], slots: list[tuple[str, int]]
) -> tuple[list[str], list[int]]:
    """DISPUTES.md's weighted draw without replacement, the plain way: draw t picks the first slot
    (registration order) whose running weight exceeds ``keccak256(abi.encode(seed, t)) % remaining``,
    over the slots not excluded or drawn yet; zero-weight slots are never drawn."""
    taken: set[str] = set()
    remaining = sum(w for _, w in slots)
    eligible = sum(1 for _, w in slots if w)
    weight = dict(slots)
    for account in exclude:
        if weight.get(account, 0) and account not in taken:
            taken.add(account)
            remaining -= weight[account]
            eligible -= 1
    drawn: list[str] = []
    weights: list[int] = []
    for t in range(min(count, eligible)):
        r = int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [seed, t])), "big") % remaining
        for account, w in slots:
            if account in taken or w == 0:
                continue
            if r < w:
                break
            r -= w
        drawn.append(account)
        weights.append(w)
        taken.add(account)
        remaining -= w
    return drawn, weights


def test_verifier_draws_match_the_reference(world: World) -> None:
    """StakeRegistry's Fenwick-tree draw equals the plain weighted draw for random seeds, counts
    and exclusions, with a zero-weight (below minimum) verifier among the slots."""
    rng = random.Random(112)
    indexes = (4, 5, 6, 7, 8, 9, 10, 11)
    stakes = [100 * 10**18 + rng.randrange(10**21) for _ in indexes]
    accounts = []
    for index, amount in zip(indexes, stakes, strict=True):
        accounts += register_verifiers(world, amount, (index,))
    # verifier 6 unstakes below the minimum: weight 0, still a slot
    world.send(world.registry.functions.requestUnstake(stakes[2] - 10**18), accounts[2])
    world.mine(2)
    snapshot = world.w3.eth.block_number - 1
    slots = [
        (a, int(world.registry.functions.verifierWeightAt(a, snapshot).call())) for a in accounts
    ]
    assert slots[2][1] == 0 and all(w > 0 for i, (_, w) in enumerate(slots) if i != 2)
    for _ in range(60):
        seed = rng.randbytes(32)
        count = rng.randrange(0, 10)
        exclude = rng.sample([*accounts, world.accounts[1]], rng.randrange(0, 4))
        drawn, weights = world.registry.functions.drawVerifiers(
            seed, count, exclude, snapshot
        ).call()
        expected = draw_reference(seed, count, exclude, slots)
        assert ([world.w3.to_checksum_address(a) for a in drawn], list(weights)) == expected, (
            seed.hex(),
            count,
            exclude,
        )
