"""Dataset availability claims end to end (docs/PROTOCOL.md §6 "Availability", §7; docs/SECURITY.md; DISPUTES.md).

A solver that claimed a job whose dataset is missing or corrupt opens
``openAvailabilityClaim(jobId, Dataset, 0)`` instead of timing out; real verifier jurors vote, the
submitter (respondent) answers with ``crowdtrain job defend``'s player. Upheld: ``abortJob`` — jury
fees from the escrow, the solver's lock released, the job reopened. A lying claim against an
available dataset is rejected: the solver's bond pays the jurors, half the rest to the submitter,
half burned, and the job (still the solver's, deadline extended) is then solved honestly.
"""

from __future__ import annotations

from typing import TypeVar

import pytest
from e2e_dispute_kit import FEE, REWARD, World, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.dispute_events import DisputeOpened, DisputeResolved, VoteRevealed
from node.chain.dispute_types import DisputeOutcome, Target
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD
BOND = REWARD // 10  # = minChallengeBond at the defaults
JUROR_FEE = REWARD // 100
ZERO = b"\0" * 32
E = TypeVar("E")


def _world(market: Market, dev: list[LocalAccount], fault: str | None = None) -> World:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev[3 + k])
    world.start_solver(world.add_solver(dev[2], LOCK + BOND, fault))  # a lock and a claim bond
    world.add_defender(market.submitter)
    return world


def _parties(world: World) -> dict[str, int]:
    accounts = [world.market.submitter.address, world.solvers[0].account.address]
    accounts += [a.address for a in world.accounts.values()]
    return {a: world.wealth(a) for a in accounts}


def _events(world: World, kind: type[E]) -> list[E]:
    name = kind.__name__
    source = world.p.jury if name.startswith("Vote") else world.p.dispute_game
    return [e for e in source.get_events(name) if isinstance(e, kind)]


def _check(world: World, before: dict[str, int], expected: dict[str, int]) -> None:
    for account, start in before.items():
        assert world.wealth(account) - start == expected.get(account, 0), account
    assert all(world.p.registry.stake_of(a).locked == 0 for a in before)
    world.solvency()


@pytest.mark.parametrize("how", ["deleted_after_claim", "corrupt"])
def test_missing_dataset_claim_is_upheld_and_the_job_aborted(
    market: Market, dev_accounts: list[LocalAccount], how: str
) -> None:
    """deleted_after_claim: the submitter removes its dataset once the job is claimed (to make
    the solver time out); corrupt: the blob under the dataset address never hashed to it (the
    solver's pre-claim ``has`` passes, the verified read after the claim does not)."""
    world = _world(market, dev_accounts)
    p, store = world.p, world.store
    before = _parties(world)
    spec = tiny_spec(store)
    dataset = store.path(spec.dataset.address)
    if how == "corrupt":
        dataset.write_bytes(b"not the dataset")
    job_id = world.post(spec)
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.CLAIMED, what="claimed")
    if how == "deleted_after_claim":
        dataset.unlink()  # right after the claim transaction, before the solver reads it
    world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="claim upheld, job aborted")

    (opened,) = _events(world, DisputeOpened)
    solver, submitter = world.solvers[0].account.address, market.submitter.address
    assert (opened.target, opened.challenger, opened.solver) == (Target.DATASET, solver, submitter)
    (resolved,) = _events(world, DisputeResolved)
    assert resolved.outcome == DisputeOutcome.SOLVER_WRONG  # the respondent (submitter) lost
    jurors = p.jury.jurors_of(opened.dispute_id, 0)
    assert len(jurors) == 3 and resolved.jury_fees == JUROR_FEE * 3
    votes = {e.voter: e.digest for e in _events(world, VoteRevealed)}
    # every juror found it unavailable; the claimant revealed too; the submitter could not vote
    assert votes == dict.fromkeys([*jurors, solver], ZERO)
    job = p.market.get_job(job_id)
    assert job.status is JobStatus.OPEN and job.reward + job.verifier_fee == REWARD + FEE - 3 * (
        JUROR_FEE
    )
    for _ in range(3):  # the reopened job is not claimed again by the solver that found it bad
        world.round()
    assert p.market.get_job(job_id).status is JobStatus.OPEN
    assert world.solvers[0].solver is not None
    assert world.solvers[0].solver.stats.claimed == [job_id]
    p.as_account(market.submitter).market.cancel_job(job_id)  # the rest of the escrow returns

    expected = {submitter: -3 * JUROR_FEE}  # the submitter pays the jury; the solver loses nothing
    for juror in jurors:
        expected[juror] = JUROR_FEE
    _check(world, before, expected)


def test_false_dataset_claim_is_rejected_and_the_job_solved(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    """The solver claims an available dataset is missing; the submitter defends, the jurors
    find the blob: the solver loses its bond per §7 and then trains the job honestly."""
    world = _world(market, dev_accounts, fault="false_dataset_claim")
    p = world.p
    before = _parties(world)
    job_id = world.post(tiny_spec(world.store))
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")
    world.round()  # everyone withdraws
    world.round()

    (opened,) = _events(world, DisputeOpened)  # one claim only, no challenge
    solver, submitter = world.solvers[0].account.address, market.submitter.address
    assert (opened.target, opened.challenger, opened.solver) == (Target.DATASET, solver, submitter)
    (resolved,) = _events(world, DisputeResolved)
    assert resolved.outcome == DisputeOutcome.CHALLENGER_WRONG
    jurors = p.jury.jurors_of(opened.dispute_id, 0)
    votes = {e.voter: e.digest for e in _events(world, VoteRevealed)}
    assert len(jurors) == 3 and all(votes[j] == votes[submitter] != ZERO for j in jurors)
    rest = BOND - 3 * JUROR_FEE
    assert resolved.jury_fees == 3 * JUROR_FEE
    assert (resolved.winner, resolved.winner_paid) == (submitter, rest * 5_000 // 10_000)
    assert p.market.get_job(job_id).attempt == 0  # the job stayed with the solver

    accounts, valid, total = p.attestations.payouts_of(job_id, 0)
    fees = {a: FEE // total * v for a, v in zip(accounts, valid, strict=True)}
    expected = {
        solver: REWARD - BOND,
        submitter: -REWARD - sum(fees.values()) + rest * 5_000 // 10_000,
    }
    for juror in jurors:
        expected[juror] = JUROR_FEE
    for account, amount in fees.items():
        expected[account] = expected.get(account, 0) + amount
    _check(world, before, expected)


def test_defend_cli_watches_only_its_own_jobs_until_settled(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    job_id = world.post(tiny_spec(world.store))
    refused = market.cli(market.solver, "job", "defend", str(job_id), "--once", check=False)
    assert refused.returncode != 0 and "submitted by" in refused.stdout + refused.stderr
    world.p.as_account(market.submitter).market.cancel_job(job_id)
    done = market.cli(
        market.submitter, "job", "defend", str(job_id), "--once", "--max-seconds", "60"
    )
    assert done.stdout.strip().endswith("done")
