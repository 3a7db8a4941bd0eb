"""docs/SECURITY.md "commit then go silent" and "withhold the step state", to the end: the unresponsive
solver loses its whole lock per §7 (a timeout without a jury, or a jury that finds the state
unavailable), the job reopens with its escrow intact, and an honest solver then solves it, is
paid, and the attesters of the new attempt earn the verifier fee. Every party's exact balance
change and the solvency invariant are checked at the end.

(``test_disputes_challenges.py::test_unresponsive_solver_loses`` stops at the reopening.)
"""

from __future__ import annotations

import pytest
from e2e_dispute_kit import FEE, REWARD, World, fake_fraud, fake_fraud_at_last_step, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.dispute_events import DisputeResolved
from node.chain.dispute_types import DisputeOutcome
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD
JUROR_FEE = REWARD // 100


@pytest.mark.parametrize("fault", ["silent", "withhold_step_state"])
def test_unresponsive_solver_slashed_then_job_solved_honestly(
    market: Market, dev_accounts: list[LocalAccount], fault: str
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev_accounts[3 + k])
    cheater = world.add_solver(dev_accounts[2], LOCK, fault)
    honest = world.add_solver(dev_accounts[7], LOCK)  # staked now, started once the job reopens
    world.start_solver(cheater)
    p = world.p
    parties = [market.submitter.address, cheater.account.address, honest.account.address]
    parties += [a.address for a in world.accounts.values()]
    before = {a: world.wealth(a) for a in parties}

    job_id = world.post(tiny_spec(world.store))
    fake_fraud(world, "v1", job_id, 0, 2)  # v1 challenges segment 2 (honestly trained)
    if fault == "withhold_step_state":  # the pinned state must be an interior (unpublished) one
        world.drive(lambda: p.market.get_job(job_id).status is JobStatus.COMMITTED)
        fake_fraud_at_last_step(world, "v1", job_id, 2)
    world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="solver lost, job reopened")
    world.start_solver(honest)
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")
    world.round()  # everyone withdraws
    world.round()

    (won,) = [
        e for e in p.dispute_game.get_events("DisputeResolved") if isinstance(e, DisputeResolved)
    ]
    assert won.outcome == DisputeOutcome.SOLVER_WRONG
    jurors = p.jury.jurors_of(won.dispute_id, 0) if fault != "silent" else []
    assert len(jurors) == (0 if fault == "silent" else 3)
    assert won.jury_fees == JUROR_FEE * len(jurors)
    rest = LOCK - won.jury_fees
    liar = world.accounts["v1"].address
    assert (won.winner, won.winner_paid) == (liar, rest * 5_000 // 10_000)
    job = p.market.get_job(job_id)
    assert (job.attempt, job.solver) == (1, honest.account.address)

    accounts, valid, total = p.attestations.payouts_of(job_id, 1)
    fees = {a: FEE // total * v for a, v in zip(accounts, valid, strict=True)}
    assert sum(valid) > 0
    expected = {
        cheater.account.address: -LOCK,
        honest.account.address: REWARD,
        liar: rest * 5_000 // 10_000 - p.dispute_game.challenge_fee_of(job_id),  # fee burned
        # escrow: the reward went to the honest solver, the unpaid verifier fee came back
        market.submitter.address: rest * 2_500 // 10_000 - REWARD - sum(fees.values()),
    }
    for juror in jurors:
        expected[juror] = expected.get(juror, 0) + JUROR_FEE
    for account, amount in fees.items():
        expected[account] = expected.get(account, 0) + amount
    for account, start in before.items():
        assert world.wealth(account) - start == expected.get(account, 0), account
    assert all(p.registry.stake_of(a).locked == 0 for a in parties)
    world.solvency()
