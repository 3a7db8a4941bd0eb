"""An honest job with three attesters: every attester replays its segment, commits and reveals,
and finalize pays ``verifierFee`` per valid segment exactly; the solver is paid its reward."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_dispute_kit import FEE, REWARD, World, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from verifier.assignment import assigned_segments

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_three_attesters_are_paid_per_segment(
    market: Market, dev_accounts: list[LocalAccount], tmp_path: Path
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k, name in enumerate(("v1", "v2", "v3")):
        world.add_verifier(name, dev_accounts[3 + k])
    solver = world.solvers
    slot = world.add_solver(dev_accounts[2], 200 * 10**18)
    world.start_solver(slot)
    spec = tiny_spec(world.store)
    p = world.p
    parties = [market.submitter.address, dev_accounts[2].address] + [
        a.address for a in world.accounts.values()
    ]
    before = {a: world.wealth(a) for a in parties}

    job_id = world.post(spec)
    world.drive(lambda: p.market.get_job(job_id).status is JobStatus.FINALIZED, what="finalized")
    world.drive(lambda: all(p.market.credit_of(a) == 0 for a in parties[1:]), rounds=5)

    job = p.market.get_job(job_id)
    seed = p.attestations.seed_of(job_id, job.attempt)[1]
    drawn = p.attestations.attesters_of(job_id, job.attempt)
    assert len(drawn) == 3 and all(revealed and valid == 1 for _, _, valid, revealed in drawn)
    mirror = assigned_segments(seed, job.num_segments, job.sample_rate_bps, 3)
    for k, (account, *_rest) in enumerate(drawn):
        assert p.attestations.assigned_segments(job_id, account) == mirror[k]
    per_segment = FEE // 3
    for name, account in world.accounts.items():
        assert world.wealth(account.address) - before[account.address] == per_segment, name
    assert world.wealth(dev_accounts[2].address) - before[dev_accounts[2].address] == REWARD
    assert world.wealth(market.submitter.address) - before[market.submitter.address] == (
        -REWARD - FEE + (FEE - 3 * per_segment)
    )
    assert solver and p.registry.stake_of(dev_accounts[2].address).locked == 0
    world.solvency()
