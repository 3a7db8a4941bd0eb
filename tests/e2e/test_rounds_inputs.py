"""Resolving a unit's state 0 from the chain refuses, with a clear error, whatever it cannot trust:
a previous round not closed, an included unit not final, a manifest missing or not the committed
one. No training: units are claimed and committed with synthetic (valid) commitments."""

from __future__ import annotations

import hashlib
import json

import pytest
from e2e_dispute_kit import FEE, REWARD, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.types import Commitment, JobStatus
from node.rounds import committed_unit_states, job_session, resolve_round_inputs
from node.rounds.inputs import RoundsInputError, UnitRef
from node.solver.daemon import Solver
from node.storage import LocalBlobStore
from node.trace.merkle import MerkleTree, checkpoint_leaf
from node.training.spec import JobSpec, parse_spec
from node.training.unit import UnitId

pytestmark = [pytest.mark.chain]


def _spec(store: LocalBlobStore) -> JobSpec:
    raw = json.loads(tiny_spec(store).canonical_json())
    raw.update(steps=8, rounds={"workers": 2, "rounds": 2, "quorum": 1})
    return parse_spec(raw)


def _post(market: Market, spec: JobSpec) -> int:
    posted = market.as_(market.submitter).post_rounds_job(
        spec_hash=spec.spec_hash(),
        workers=2,
        rounds=2,
        quorum=1,
        inner_steps=spec.steps,
        checkpoint_every=spec.checkpoint_every,
        unit_reward=REWARD,
        unit_verifier_fee=FEE,
        solve_timeout=120,
        round_timeout=1_000,
        sample_rate_bps=1_000,
    )
    return int(posted.rounds_id)


def _finalize_synthetic(market: Market, job_id: int) -> None:
    """Claim, commit three made-up (but consistently proven) checkpoints, finalize."""
    solver = market.as_(market.solver)
    solver.stake(2 * REWARD)
    attempt = solver.market.claim_job(job_id).attempt
    hashes = [hashlib.sha256(f"{job_id}-{i}".encode()).digest() for i in range(3)]
    tree = MerkleTree.build([checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)])
    commitment = Commitment(tree.root, b"\x01" * 32, hashes[-1], hashlib.sha256(b"m").digest())
    solver.market.commit_trace(job_id, commitment, tree.proof(2))
    market.advance(solver.market.challenge_window() + solver.market.reveal_phase() + 1)
    solver.market.finalize_job(job_id)


def test_state_zero_of_a_unit_is_refused_until_its_inputs_are_final_and_published(
    market: Market,
) -> None:
    p, store = market.deployer, LocalBlobStore(market.root / "blobs")
    spec = _spec(store)
    rounds_id = _post(market, spec)
    first = p.rounds_market.unit_job(rounds_id, 0, 0)
    assert first is not None

    session, ref = job_session(p, store, spec, first, None)
    assert ref == UnitRef(rounds_id, UnitId(0, 0)) and session.unit == UnitId(0, 0)
    assert resolve_round_inputs(p, store, spec, ref) is None  # round 0: the spec's state 0

    with pytest.raises(RoundsInputError, match=f"round 0 of rounds job {rounds_id} is not closed"):
        resolve_round_inputs(p, store, spec, UnitRef(rounds_id, UnitId(1, 0)))
    with pytest.raises(RoundsInputError, match=f"unit job {first} .* is OPEN, not Finalized"):
        committed_unit_states(p, store, spec, first, UnitId(0, 0), with_start=True)

    _finalize_synthetic(market, first)
    with pytest.raises(RoundsInputError, match=f"unit job {first}: manifest sha256:"):
        committed_unit_states(p, store, spec, first, UnitId(0, 0), with_start=True)
    market.advance(1_000)
    p.rounds_market.close_round(rounds_id)  # quorum 1: round 0 closes with slot 0 only
    assert p.rounds_market.included_slots(rounds_id, 0) == [0]
    with pytest.raises(RoundsInputError, match="manifest"):  # the included unit's blobs are missing
        resolve_round_inputs(p, store, spec, UnitRef(rounds_id, UnitId(1, 1)))


def test_an_ordinary_job_keeps_its_own_session(market: Market) -> None:
    p, store = market.deployer, LocalBlobStore(market.root / "blobs")
    spec = tiny_spec(store)
    posted = p.as_account(market.submitter).post_job(
        spec_hash=spec.spec_hash(),
        steps=spec.steps,
        checkpoint_every=spec.checkpoint_every,
        reward=REWARD,
        verifier_fee=FEE,
        solve_timeout=120,
        sample_rate_bps=1_000,
    )
    session, ref = job_session(p, store, spec, posted.job_id, None)
    assert ref is None and session.unit is None


def test_a_solver_daemon_cancels_a_unit_that_reopened_after_its_round_closed(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    p, store = market.deployer, LocalBlobStore(market.root / "blobs")
    spec = _spec(store)
    store.put(spec.canonical_json())
    rounds_id = _post(market, spec)
    first, late = p.rounds_market.round_jobs(rounds_id, 0)
    _finalize_synthetic(market, first)
    slow = market.as_(dev_accounts[9])
    p.token.mint(slow.address, 2 * REWARD)
    slow.stake(2 * REWARD)
    slow.market.claim_job(late)  # in flight at the close: runs on, left out
    market.advance(1_000)
    p.rounds_market.close_round(rounds_id)
    assert p.rounds_market.included_slots(rounds_id, 0) == [0]
    p.market.reclaim_timed_out(late)  # times out after the close: Open in a closed round
    assert p.market.get_job(late).status is JobStatus.OPEN
    submitter_credit = p.market.credit_of(market.submitter.address)

    daemon = Solver(market.as_(market.solver), store, market.root / "solver")
    daemon.tick()
    assert p.market.get_job(late).status is JobStatus.CANCELLED
    assert p.market.credit_of(market.submitter.address) == submitter_credit + REWARD + FEE
    assert late not in daemon.stats.claimed
