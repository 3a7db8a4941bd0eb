"""A daemon's aggregator duty (docs/ROUNDS.md, "Aggregator"): publish, disprove, release.

Each pass, for every running rounds job past round 0, with ``r`` its last closed round:

- no standing publication of round ``r``: recompute the honest one (``honest_claim``, the full
  path every verifier runs anyway) and publish it, bonding ``outerBond`` of our stake;
- someone else's publication whose state-0 hash of a slot differs from ours: once that slot's unit
  of round ``r+1`` is Finalized with a checkpoint 0 that differs from the published hash, disprove
  it (half the bond is ours, the rest burned; the publication is cleared and we publish next pass);
- our own publications of rounds the rounds job has moved past: release the bond.

Every call is open to anyone and checked by the chain: a losing racer's revert is logged and
ignored, and a node without free stake for the bond simply does not publish.
"""

from __future__ import annotations

import logging

from node.chain.events import OuterPublished
from node.chain.protocol import Protocol
from node.chain.types import JobStatus, RoundsJob, RoundsStatus
from node.errors import CrowdtrainError, TransactionRevertedError
from node.rounds.gates import RoundGates
from node.rounds.inputs import committed_manifest, unit_job_id
from node.rounds.outer import OuterClaim, honest_claim
from node.storage import BlobStore
from node.trace.merkle import MerkleTree, checkpoint_leaf
from node.training.spec import JobSpec, load_spec
from node.training.unit import UnitId

log = logging.getLogger("crowdtrain.rounds")


class OuterAggregator:
    """Publishes the honest outer step, disproves a wrong one, releases its bonds."""

    def __init__(self, protocol: Protocol, store: BlobStore, gates: RoundGates) -> None:
        self.p = protocol
        self.store = store
        self.gates = gates
        self._claims: dict[tuple[int, int], OuterClaim] = {}
        self._mine: set[tuple[int, int]] = set()
        self._suspects: dict[tuple[int, int], tuple[RoundsJob, OuterPublished]] = {}
        """others' publications that disagree with our recomputation: disproved as soon as a
        Finalized unit of the next round shows it, even once the rounds job has moved on."""
        self.published: list[tuple[int, int]] = []
        self.disproved: list[tuple[int, int]] = []
        self.released: list[tuple[int, int]] = []

    def tick(self) -> bool:
        """One pass; True if a transaction was sent."""
        rm = self.p.rounds_market
        sent = False
        for rounds_id in self.gates.running():
            job = rm.get_rounds_job(rounds_id)
            if job.status is RoundsStatus.RUNNING and job.round > 0:
                sent |= self._round(job, job.round - 1)
        for key, (job, published) in sorted(self._suspects.items()):
            if self._disprove(job, published):
                sent = True
                self._suspects.pop(key, None)
        for rounds_id, round_ in sorted(self._mine):
            sent |= self._release(rounds_id, round_)
        return sent

    def _round(self, job: RoundsJob, round_: int) -> bool:
        rm = self.p.rounds_market
        published = rm.outer_publication(job.rounds_id, round_)
        if published is not None and published.publisher == self.p.address:
            return False
        claim = self._claim(job, round_)
        if claim is None:
            return False
        if published is None:
            return self._publish(claim)
        if published.state0_hashes != list(claim.state0_hashes):
            self._suspects[(job.rounds_id, round_)] = (job, published)
        return False

    def _claim(self, job: RoundsJob, round_: int) -> OuterClaim | None:
        key = (job.rounds_id, round_)
        if key not in self._claims:
            try:
                spec = load_spec(self.store.get("sha256:" + job.spec_hash.hex()))
                self._claims[key] = honest_claim(self.p, self.store, spec, job.rounds_id, round_)
            except CrowdtrainError as err:  # not computable yet (blobs missing): next pass
                log.info("rounds job %d round %d: no outer step yet: %s", *key, err)
                return None
        return self._claims[key]

    def _publish(self, claim: OuterClaim) -> bool:
        key = (claim.rounds_id, claim.round_)
        self.store.put(claim.blob)
        try:
            self.p.rounds_market.publish_outer(
                claim.rounds_id, claim.round_, claim.outer_hash, claim.state0_hashes
            )
        except TransactionRevertedError as err:  # another was first, or not enough free stake
            log.info("rounds job %d round %d: outer step not published: %s", *key, err)
            return False
        self._mine.add(key)
        self.published.append(key)
        log.info("rounds job %d round %d: published the outer step", *key)
        return True

    def _disprove(self, job: RoundsJob, published: OuterPublished) -> bool:
        """Disprove with the first slot whose Finalized unit's checkpoint 0 differs."""
        key = (job.rounds_id, published.round)
        spec: JobSpec | None = None
        for slot, theirs in enumerate(published.state0_hashes):
            unit = UnitId(published.round + 1, slot)
            job_id = unit_job_id(self.p, job.rounds_id, unit)
            if self.p.market.get_job(job_id).status is not JobStatus.FINALIZED:
                continue
            commitment = self.p.market.get_commitment(job_id)
            if commitment is None:
                continue
            try:
                spec = spec or load_spec(self.store.get("sha256:" + job.spec_hash.hex()))
                manifest = committed_manifest(self.p, self.store, spec, job_id, unit)
            except CrowdtrainError as err:
                log.info("rounds job %d unit %s: no checkpoint 0 to disprove with: %s", *key, err)
                continue
            hashes = [bytes.fromhex(cp.state_hash[2:]) for cp in manifest.checkpoints]
            if hashes[0] == theirs:
                continue
            attempt = manifest.attempt
            tree = MerkleTree.build(
                [checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)]
            )
            try:
                self.p.rounds_market.disprove_outer(
                    published,
                    slot,
                    [
                        commitment.state_root,
                        commitment.seg_roots_root,
                        commitment.final_state_hash,
                        commitment.manifest_hash,
                    ],
                    hashes[0],
                    tree.proof(0),
                )
            except TransactionRevertedError as err:  # cleared or released meanwhile: drop it
                if err.error_name == "RoundsMarketOuterClaimMismatch":
                    self._suspects.pop(key, None)
                log.info("rounds job %d round %d: disproof not accepted: %s", *key, err)
                return False
            self.disproved.append(key)
            log.warning(
                "rounds job %d round %d: disproved %s's outer step with slot %d",
                *key,
                published.publisher,
                slot,
            )
            return True
        return False

    def _release(self, rounds_id: int, round_: int) -> bool:
        job = self.p.rounds_market.get_rounds_job(rounds_id)
        if job.status is RoundsStatus.RUNNING and round_ + 1 >= job.round:
            return False
        try:
            self.p.rounds_market.release_outer_bond(rounds_id, round_)
        except TransactionRevertedError as err:  # too early, disproved, or released by another
            if err.error_name != "RoundsMarketOuterBondLocked":
                self._mine.discard((rounds_id, round_))
            log.info("rounds job %d round %d: bond not released: %s", rounds_id, round_, err)
            return False
        self._mine.discard((rounds_id, round_))
        self.released.append((rounds_id, round_))
        return True
