"""A synthetic full trace for dispute tests: every stateHash of n·k steps and the checkpoint, step
and segment trees over them (docs/PROTOCOL.md §4), shared by the contract and API dispute kits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from node.chain.types import Commitment
from node.trace.merkle import MerkleTree, checkpoint_leaf, segment_leaf, step_leaf


def _h(tag: str, t: int) -> bytes:
    return Web3.keccak(text=f"state-{tag}-{t}")


@dataclass
class FullTrace:
    """Every stateHash of a run of n·k steps; ``wrong_from`` fakes every state from that step on."""

    job_id: int
    attempt: int
    n: int
    k: int
    hashes: list[bytes]
    checkpoints: MerkleTree = field(init=False)
    step_trees: list[MerkleTree] = field(init=False)
    segments: MerkleTree = field(init=False)
    manifest_hash: bytes = Web3.keccak(text="manifest")

    def __post_init__(self) -> None:
        j, a, k = self.job_id, self.attempt, self.k
        self.checkpoints = MerkleTree.build(
            [checkpoint_leaf(j, a, i, self.hashes[i * k]) for i in range(self.n + 1)]
        )
        self.step_trees = [MerkleTree.build([b"\x00" * 32])]  # segment 0 does not exist
        for i in range(1, self.n + 1):
            leaves = [step_leaf(j, a, i, s, self.hashes[(i - 1) * k + s]) for s in range(k + 1)]
            self.step_trees.append(MerkleTree.build(leaves))
        self.segments = MerkleTree.build(
            [segment_leaf(j, a, i, self.seg_root(i)) for i in range(1, self.n + 1)]
        )

    @classmethod
    def make(
        cls, job_id: int, attempt: int, n: int, k: int, *, wrong_from: int | None = None
    ) -> FullTrace:
        hashes = [
            _h("bad" if wrong_from is not None and t >= wrong_from else "ok", t)
            for t in range(n * k + 1)
        ]
        return cls(job_id, attempt, n, k, hashes)

    def seg_root(self, i: int) -> bytes:
        return self.step_trees[i].root

    @property
    def commitment(self) -> list[bytes]:
        return [self.checkpoints.root, self.segments.root, self.hashes[-1], self.manifest_hash]

    def commit_args(self) -> tuple[Any, ...]:
        state_root, seg_roots_root, final, manifest = self.commitment
        return (
            self.job_id,
            state_root,
            seg_roots_root,
            final,
            manifest,
            self.checkpoints.proof(self.n),
        )

    def open_args(self, dispute_id: int, i: int) -> tuple[Any, ...]:
        k = self.k
        return (
            dispute_id,
            self.commitment,
            self.hashes[(i - 1) * k],
            self.checkpoints.proof(i - 1),
            self.hashes[i * k],
            self.checkpoints.proof(i),
            self.seg_root(i),
            self.segments.proof(i - 1),
            self.step_trees[i].proof(0),
            self.step_trees[i].proof(k),
        )

    def split(self, i: int, points: list[int]) -> tuple[list[bytes], list[list[bytes]]]:
        base = (i - 1) * self.k
        return (
            [self.hashes[base + p] for p in points],
            [self.step_trees[i].proof(p) for p in points],
        )

    @property
    def typed_commitment(self) -> Commitment:
        """``commitment`` as the chain client's ``Commitment``."""
        return Commitment(*self.commitment)
