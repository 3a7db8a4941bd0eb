"""False challenges, a silent solver, small and dishonest juries, end to end (docs/PROTOCOL.md §6, §7; docs/SECURITY.md)."""

from __future__ import annotations

import dataclasses

import pytest
from e2e_dispute_kit import (
    FEE,
    REWARD,
    World,
    fake_fraud,
    fake_fraud_at_last_step,
    set_vote,
    tiny_spec,
)
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.deploy import DeploymentParams, deploy_protocol, write_deployment
from node.chain.dispute_events import DisputeResolved, JuryDrawn, JuryWaiting
from node.chain.dispute_types import DisputeOutcome, DisputePhase, JuryPhase
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD
BOND = REWARD // 10
JUROR_FEE = REWARD // 100
JUROR_SLASH = 5 * 10**18


def _setup(
    market: Market, dev: list[LocalAccount], verifiers: int, fault: str | None = None
) -> World:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(verifiers):
        world.add_verifier(f"v{k + 1}", dev[3 + k])
    world.start_solver(world.add_solver(dev[2], LOCK, fault))
    return world


def _resolved(world: World) -> list[DisputeResolved]:
    return [
        e
        for e in world.p.dispute_game.get_events("DisputeResolved")
        if isinstance(e, DisputeResolved)
    ]


def _false_challenge(world: World, liar: str) -> tuple[int, dict[str, int]]:
    """Post a job and make ``liar`` challenge honest segment 2; (job id, wealth before)."""
    parties = [world.market.submitter.address, world.solvers[0].account.address] + [
        a.address for a in world.accounts.values()
    ]
    before = {a: world.wealth(a) for a in parties}
    job_id = world.post(tiny_spec(world.store))
    fake_fraud(world, liar, job_id, 0, 2)
    return job_id, before


def _finish(world: World, job_id: int) -> None:
    p = world.p
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")
    world.round()
    world.round()


def _fees(world: World, job_id: int) -> dict[str, int]:
    accounts, valid, total = world.p.attestations.payouts_of(job_id, 0)
    return {a: FEE // total * v for a, v in zip(accounts, valid, strict=True)}


def _check(world: World, before: dict[str, int], expected: dict[str, int]) -> None:
    for account, start in before.items():
        assert world.wealth(account) - start == expected.get(account, 0), account
    assert all(world.p.registry.stake_of(a).locked == 0 for a in before)
    world.solvency()


def _check_challenger_lost(world: World, job_id: int, before: dict[str, int], jury: int) -> None:
    """The liar lost its bond (jury fees, then half to the solver, half burned); job paid."""
    (lost,) = _resolved(world)
    assert lost.outcome == DisputeOutcome.CHALLENGER_WRONG
    liar = world.accounts["v1"].address
    solver = world.solvers[0].account.address
    jurors = world.p.jury.jurors_of(lost.dispute_id, 0)
    assert len(jurors) == jury and liar not in jurors
    rest = BOND - JUROR_FEE * len(jurors)
    assert lost.jury_fees == JUROR_FEE * jury and lost.winner == solver
    assert lost.winner_paid == rest * 5_000 // 10_000
    fee = world.p.dispute_game.challenge_fee_of(job_id)  # burned per revealed challenge
    expected = {liar: -BOND - fee, solver: REWARD + rest * 5_000 // 10_000}
    for juror in jurors:
        expected[juror] = expected.get(juror, 0) + JUROR_FEE
    fees = _fees(world, job_id)
    for account, amount in fees.items():
        expected[account] = expected.get(account, 0) + amount
    expected[world.market.submitter.address] = -REWARD - sum(fees.values())
    _check(world, before, expected)


def test_false_challenge_loses_its_bond_and_the_job_finalizes(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = _setup(market, dev_accounts, 4)
    job_id, before = _false_challenge(world, "v1")
    _finish(world, job_id)
    _check_challenger_lost(world, job_id, before, jury=3)


@pytest.mark.parametrize("fault", ["silent", "withhold_step_state"])
def test_unresponsive_solver_loses(
    market: Market, dev_accounts: list[LocalAccount], fault: str
) -> None:
    """Commit, then go silent (the challenger times it out, no jury), or never make the disputed
    step state available (the jurors vote unavailable): either way the lock is slashed."""
    world = _setup(market, dev_accounts, 4, fault=fault)
    p = world.p
    job_id, before = _false_challenge(world, "v1")
    if fault == "withhold_step_state":  # the pinned state must be an interior (unpublished) one
        world.drive(lambda: p.market.get_job(job_id).status is JobStatus.COMMITTED)
        fake_fraud_at_last_step(world, "v1", job_id, 2)
    world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="solver lost")
    (won,) = _resolved(world)
    jurors = p.jury.jurors_of(won.dispute_id, 0) if fault != "silent" else []
    assert won.outcome == DisputeOutcome.SOLVER_WRONG
    assert won.jury_fees == JUROR_FEE * len(jurors) and len(jurors) == (
        0 if fault == "silent" else 3
    )
    rest = LOCK - won.jury_fees
    liar = world.accounts["v1"].address
    assert won.winner == liar and won.winner_paid == rest // 2
    world.round()
    world.round()
    solver = world.solvers[0].account.address
    expected = {
        solver: -LOCK,
        liar: rest // 2 - p.dispute_game.challenge_fee_of(job_id),  # jackpot less its fee
        world.market.submitter.address: rest * 2_500 // 10_000 - REWARD - FEE,
    }
    for juror in jurors:
        expected[juror] = expected.get(juror, 0) + JUROR_FEE
    assert p.market.get_job(job_id).status is JobStatus.OPEN  # escrow intact, open again
    assert p.market.total_liabilities() >= REWARD + FEE
    _check(world, before, expected)


def test_too_few_eligible_jurors_void_the_dispute_and_the_job_still_ends(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    """Two verifiers: with the challenger excluded one juror could sit, fewer than minJurors = 3.
    The panel waits, still finds too few by its draw deadline, and the dispute is void: the bond
    comes back, nobody is paid or slashed for it, and timeouts alone finalize the job."""
    world = _setup(market, dev_accounts, 2)
    for node in world.verifiers.values():
        node.players.check_all = True
    job_id, before = _false_challenge(world, "v1")
    _finish(world, job_id)
    assert not [e for e in world.p.jury.get_events("JuryDrawn") if isinstance(e, JuryDrawn)]
    waits = [e for e in world.p.jury.get_events("JuryWaiting") if isinstance(e, JuryWaiting)]
    assert waits and {(e.seatable, e.min_jurors) for e in waits} == {(1, 3)}
    (void,) = _resolved(world)
    assert (void.outcome, void.jury_fees) == (DisputeOutcome.VOID, 0)
    fees = _fees(world, job_id)
    expected = {world.solvers[0].account.address: REWARD}
    for account, amount in fees.items():
        expected[account] = expected.get(account, 0) + amount
    expected[world.market.submitter.address] = -REWARD - sum(fees.values())
    _check(world, before, expected)


def test_dishonest_and_lazy_jurors_are_outvoted_and_slashed(
    chain: object, anvil: object, dev_accounts: list[LocalAccount], market: Market
) -> None:
    """M = 5: three honest jurors, one voting garbage, one copying the solver's public
    stateHash(j+1) (useless: the vote is a salted digest of the state). The majority wins."""
    sender = TxSender(market.w3, dev_accounts[0], project_decoder())
    deployment = deploy_protocol(sender, dataclasses.replace(DeploymentParams(), jury_size=5))
    write_deployment(deployment, market.root / "deployments")
    deployer = Protocol.from_deployment(market.w3, deployment, dev_accounts[0])
    deployer.token.mint(market.submitter.address, 1_000 * 10**18)
    market = dataclasses.replace(market, deployer=deployer)
    world = _setup(market, dev_accounts, 6)
    job_id, before = _false_challenge(world, "v1")
    p = world.p

    def pinned() -> bool:
        n = p.dispute_game.dispute_count()
        return n > 0 and p.dispute_game.get_dispute(1).phase is DisputePhase.JURY

    world.drive(pinned, what="step pinned")
    d = p.dispute_game.get_dispute(1)
    set_vote(world, "v5", 1, 0, b"\x66" * 32)  # dishonest
    set_vote(world, "v6", 1, 0, d.hash_hi)  # lazy: the public stateHash
    world.drive(lambda: p.jury.panel_of(1).phase is JuryPhase.DONE, what="jury decided")
    _finish(world, job_id)
    (lost,) = _resolved(world)
    assert lost.outcome == DisputeOutcome.CHALLENGER_WRONG
    slashed = {e.juror: e.amount for e in p.dispute_game.get_events("JurorSlashed")}  # type: ignore[attr-defined]
    bad = {world.accounts["v5"].address, world.accounts["v6"].address}
    assert slashed == dict.fromkeys(bad, JUROR_SLASH)
    jurors = p.jury.jurors_of(1, 0)
    good = [j for j in jurors if j not in bad]
    assert len(jurors) == 5 and len(good) == 3
    liar, solver = world.accounts["v1"].address, world.solvers[0].account.address
    rest = BOND - JUROR_FEE * len(good)
    fee = p.dispute_game.challenge_fee_of(job_id)  # burned per revealed challenge
    expected = {liar: -BOND - fee, solver: REWARD + rest * 5_000 // 10_000}
    for juror in good:
        expected[juror] = JUROR_FEE
    for juror in bad:
        expected[juror] = -JUROR_SLASH
    fees = _fees(world, job_id)
    for account, amount in fees.items():
        expected[account] = expected.get(account, 0) + amount
    expected[world.market.submitter.address] = -REWARD - sum(fees.values())
    _check(world, before, expected)
