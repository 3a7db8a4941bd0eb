"""A challenger and a cheating solver restarted mid-dispute finish the game correctly: after the
restart each rebuilds its view from the chain and its journal, repeats no move (one challenge,
one vote each) and reveals with the salt it committed to before the restart."""

from __future__ import annotations

import pytest
from e2e_dispute_kit import REWARD, World, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market

from node.chain.dispute_events import ChallengeCommitted, DisputeResolved, VoteCommitted
from node.chain.dispute_types import DisputeOutcome, DisputePhase, JuryPhase
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_challenger_and_solver_restarted_mid_dispute(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev_accounts[3 + k])
    cheater = world.add_solver(dev_accounts[2], 2 * REWARD, "alter_step:2")
    world.start_solver(cheater)
    p = world.p
    job_id = world.post(tiny_spec(world.store))

    def phase(want: DisputePhase) -> bool:
        return p.dispute_game.dispute_count() == 1 and p.dispute_game.get_dispute(1).phase is want

    world.drive(lambda: phase(DisputePhase.CHOOSE), what="split proposed")
    challenger = next(
        n
        for n, a in world.accounts.items()
        if a.address == p.dispute_game.get_dispute(1).challenger
    )
    world.start_verifier(challenger)  # killed while it must choose: restarted on its data dir

    def both_committed() -> bool:
        if not phase(DisputePhase.JURY) or p.jury.panel_of(1).phase is not JuryPhase.VOTING:
            return False
        voters = [cheater.account.address, world.accounts[challenger].address]
        return all(p.jury.vote_of(1, 0, v).commitment != b"\0" * 32 for v in voters)

    world.drive(both_committed, what="both parties committed their votes")
    world.start_solver(cheater)  # killed between commit and reveal: both restarted
    world.start_verifier(challenger)
    world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="fraud proven")

    (resolved,) = [
        e for e in p.dispute_game.get_events("DisputeResolved") if isinstance(e, DisputeResolved)
    ]
    assert resolved.outcome == DisputeOutcome.SOLVER_WRONG
    assert resolved.winner == world.accounts[challenger].address
    commits = [
        e
        for e in p.dispute_game.get_events("ChallengeCommitted")
        if isinstance(e, ChallengeCommitted)
    ]
    assert len(commits) == 1
    votes = [e for e in p.jury.get_events("VoteCommitted") if isinstance(e, VoteCommitted)]
    assert len(votes) == len({e.voter for e in votes}) == 2 + 3  # two parties, three jurors
    assert all(p.jury.vote_of(1, 0, e.voter).revealed for e in votes)
    assert p.market.get_job(job_id).status is JobStatus.OPEN
    world.solvency()
