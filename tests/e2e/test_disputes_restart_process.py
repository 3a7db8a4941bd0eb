"""A real ``crowdtrain solver run`` process killed with SIGKILL mid-dispute and restarted on the same
data folder finishes the game correctly (docs/PROTOCOL.md §3: no repeated or forgotten move).

The dispute is the solver's own Dataset availability claim (no training, so the test is short):
the job's dataset blob is corrupt, the solver claims the job, finds the blob bad and opens the
claim. The submitter lies — its defender votes a made-up digest, as if the dataset were available
— so the claimant's reveal decides the game: by ``Jury.resolve`` a claimant that does not reveal
loses its bond. The solver is killed the moment its vote commitment is on-chain (an event, not a
timer) and restarted; it must reveal with the salt journalled before the kill, the jurors (real
verifier nodes, in-process) find the blob unavailable, and the claim is upheld: the job aborted
with the jury fees paid from its escrow, the solver's lock and bond released, nothing repeated.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from e2e_dispute_kit import FEE, REWARD, World, plant_defender_vote, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market, wait_until

from node.chain.dispute_events import DisputeOpened, DisputeResolved, VoteCommitted, VoteRevealed
from node.chain.dispute_types import DisputeOutcome, JuryPhase
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK, BOND, JUROR_FEE = 2 * REWARD, REWARD // 10, REWARD // 100
ZERO = b"\0" * 32


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


def test_solver_process_killed_mid_dispute_finishes_it_after_restart(
    market: Market, dev_accounts: list[LocalAccount], tmp_path: Path
) -> None:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev_accounts[3 + k])
    slot = world.add_solver(market.solver, LOCK + BOND)  # runs as a process, not in-process
    defense = world.add_defender(market.submitter)
    p = world.p
    solver, submitter = market.solver.address, market.submitter.address
    parties = [solver, submitter, *(a.address for a in world.accounts.values())]
    before = {a: world.wealth(a) for a in parties}
    spec = tiny_spec(world.store)
    world.store.path(spec.dataset.address).write_bytes(b"not the dataset")
    job_id = world.post(spec)

    def solver_vote(attr: str) -> bool:
        panel = p.jury.panel_of(1)
        if panel.phase is not JuryPhase.VOTING:
            return False
        vote = p.jury.vote_of(1, 0, solver)
        return vote.revealed if attr == "revealed" else vote.commitment != ZERO

    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = market.spawn(slot.account, "solver", "run", "--once", log=logs[0])
    try:
        wait_until(
            lambda: p.dispute_game.dispute_count() == 1, timeout=180, what="claim", proc=first
        )
        plant_defender_vote(defense, 1, 0, b"\x42" * 32)  # "the dataset is available"
        world.drive(lambda: p.jury.panel_of(1).phase is JuryPhase.VOTING, what="voting opened")
        world.round()  # jurors and the defender commit (chain time does not move here)
        wait_until(lambda: solver_vote("committed"), timeout=50, what="solver commit", proc=first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        _stop(first)
    assert not p.jury.vote_of(1, 0, solver).revealed

    second = market.spawn(
        slot.account, "solver", "run", "--once", log=logs[1], PYTHONUNBUFFERED="1"
    )
    try:
        wait_until(lambda: "solver 0x" in logs[1].read_text(), timeout=120, what="restarted")
        panel = p.jury.panel_of(1)
        market.advance(panel.commit_deadline - int(p.w3.eth.get_block("latest")["timestamp"]) + 1)
        world.round()  # jurors and the defender reveal
        wait_until(lambda: solver_vote("revealed"), timeout=50, what="solver reveal", proc=second)
        world.drive(lambda: p.market.get_job(job_id).attempt == 1, what="claim upheld")
        assert second.wait(timeout=120) == 0, logs[1].read_text()
    finally:
        _stop(second)

    opened = [e for e in p.dispute_game.get_events("DisputeOpened") if isinstance(e, DisputeOpened)]
    assert [(e.challenger, e.solver) for e in opened] == [(solver, submitter)]  # one claim
    commits = [e.voter for e in p.jury.get_events("VoteCommitted") if isinstance(e, VoteCommitted)]
    assert sorted(commits) == sorted(set(commits)) and solver in commits  # no vote repeated
    votes = {
        e.voter: e.digest for e in p.jury.get_events("VoteRevealed") if isinstance(e, VoteRevealed)
    }
    jurors = p.jury.jurors_of(1, 0)
    assert votes == {solver: ZERO, submitter: b"\x42" * 32, **dict.fromkeys(jurors, ZERO)}
    (resolved,) = [
        e for e in p.dispute_game.get_events("DisputeResolved") if isinstance(e, DisputeResolved)
    ]
    assert resolved.outcome == DisputeOutcome.SOLVER_WRONG  # the respondent (submitter) lost
    assert resolved.jury_fees == JUROR_FEE * len(jurors) and len(jurors) == 3
    job = p.market.get_job(job_id)
    assert job.status is JobStatus.OPEN  # the restarted solver did not claim the bad job again
    assert job.reward + job.verifier_fee == REWARD + FEE - resolved.jury_fees
    p.as_account(market.submitter).market.cancel_job(job_id)

    expected = {submitter: -resolved.jury_fees, **dict.fromkeys(jurors, JUROR_FEE)}
    for account, start in before.items():
        assert world.wealth(account) - start == expected.get(account, 0), account
    assert all(p.registry.stake_of(a).locked == 0 for a in parties)
    world.solvency()
