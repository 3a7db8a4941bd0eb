"""docs/SECURITY.md attacks by a solver, end to end: the sampled segment is replayed, challenged, the
bisection pins one step, the jury votes salted digests, the cheater's whole lock is slashed per
§7, and the reopened job is then solved honestly to the end."""

from __future__ import annotations

import pytest
from e2e_dispute_kit import FEE, REWARD, World, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.dispute_types import DisputeKind, DisputeOutcome
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD
JUROR_FEE = REWARD // 100


def _world(market: Market, dev: list[LocalAccount], fault: str) -> World:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev[3 + k])
    cheater = world.add_solver(dev[2], LOCK, fault)  # its stake is exactly one lock
    world.start_solver(cheater)
    return world


def _run_to_honest_finalize(world: World, job_id: int, honest: LocalAccount) -> None:
    p = world.p
    world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="fraud proven, job reopened")
    world.start_solver(world.add_solver(honest, LOCK))
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")
    world.round()  # everyone withdraws
    world.round()


def _expected_attestation_fees(world: World, job_id: int, attempt: int) -> dict[str, int]:
    accounts, valid, total = world.p.attestations.payouts_of(job_id, attempt)
    return {a: FEE // total * v for a, v in zip(accounts, valid, strict=True)}


FAULTS = [
    "alter_step:2",  # altered step: bisection pins it, the jury's digests disagree
    "skip_step:1",
    "other_data:3",
    "low_precision:2",
    "tampered_checkpoint:2",  # honest interior, tampered optimizer state at checkpoint 2
    "fake_final",  # finalStateHash is not the honest leaf N (fake weights in checkpoint N)
    "wrong_initial_state",  # challenged as segment 0: the jury derives state 0 from the spec
    "step_hashes_vs_segroot:2",  # cannot open: loses on its clock
    "step_hashes_vs_checkpoint:2",
    "duplicated_leaf:2",
    "withhold_checkpoint:2",  # availability claim: the jury finds the blob missing
    "withhold_manifest",
    "withhold_final_model",
]


@pytest.mark.parametrize("fault", FAULTS)
def test_fraud_is_caught_slashed_and_resolved_honestly(
    market: Market, dev_accounts: list[LocalAccount], fault: str
) -> None:
    world = _world(market, dev_accounts, fault)
    p = world.p
    cheater, honest = dev_accounts[2], dev_accounts[7]
    parties = {market.submitter.address, cheater.address, honest.address} | {
        a.address for a in world.accounts.values()
    }
    before = {a: world.wealth(a) for a in parties}
    job_id = world.post(tiny_spec(world.store))
    _run_to_honest_finalize(world, job_id, honest)

    resolved = [e for e in p.dispute_game.get_events("DisputeResolved")]
    won = [e for e in resolved if e.outcome == DisputeOutcome.SOLVER_WRONG]  # type: ignore[attr-defined]
    assert len(won) == 1, resolved
    d = p.dispute_game.get_dispute(won[0].dispute_id)  # type: ignore[attr-defined]
    jury_fees = won[0].jury_fees  # type: ignore[attr-defined]
    jurors = p.jury.jurors_of(d.dispute_id, 0) if jury_fees else []
    assert jury_fees == JUROR_FEE * len(jurors)
    after_fees = LOCK - jury_fees
    # a challenge: the jackpot is split equally among the open challenges of the segment, each
    # paid its challenge fee; an availability claim (a withheld blob) pays no jackpot (issue 11)
    claim = d.kind is DisputeKind.AVAILABILITY
    jackpot = 0 if claim else after_fees * 5_000 // 10_000
    shared = p.dispute_game.get_events("JackpotShared")
    assert won[0].winner_paid + sum(e.share for e in shared) == jackpot  # type: ignore[attr-defined]
    fee = p.dispute_game.challenge_fee_of(job_id)
    expected = dict.fromkeys(parties, 0)
    expected[cheater.address] = -LOCK
    expected[honest.address] = REWARD + LOCK  # minted and staked during the test, then paid
    if not claim:
        expected[won[0].winner] += won[0].winner_paid - fee  # type: ignore[attr-defined]
    for e in shared:
        expected[e.challenger] += e.share - fee  # type: ignore[attr-defined]
    expected[market.submitter.address] += -REWARD - FEE + after_fees * 2_500 // 10_000
    for juror in jurors:
        expected[juror] += JUROR_FEE
    fees = _expected_attestation_fees(world, job_id, 1)
    for account, amount in fees.items():
        expected[account] += amount
    expected[market.submitter.address] += FEE - sum(fees.values())
    for account in parties:
        assert world.wealth(account) - before[account] == expected[account], account
    assert p.registry.stake_of(honest.address).locked == 0
    assert all(p.registry.stake_of(a.address).locked == 0 for a in world.accounts.values())
    world.solvency()
