"""The chain's RPC endpoint goes away and comes back (Anvil stopped, its pending pool lost, and
relaunched from its dumped state) in the middle of a solver's commit and of a verifier's bisection
move. The daemons wait the outage out, send the lost transaction again under its own nonce, and
the job ends with exact books: nothing lost, nothing paid twice, nobody honest slashed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from e2e_dispute_kit import FEE, REWARD, World, tiny_spec
from eth_account.signers.local import LocalAccount
from fault_kit import FraudScene, Restartable, paid_job_books
from market_kit import wait_for_status, wait_until

from node.chain.dispute_types import DisputePhase
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD


def test_rpc_restart_mid_commit_and_mid_window_solver_finishes_and_is_paid(
    restartable: Restartable, tmp_path: Path
) -> None:
    market, anvil = restartable.market, restartable.anvil
    world = World(market, LocalBlobStore(market.root / "blobs"))
    world.add_solver(market.solver, LOCK)  # staked here, runs as a `crowdtrain solver run` process
    solver, submitter = market.solver.address, market.submitter.address
    before = {a: world.wealth(a) for a in (solver, submitter)}
    job_id = world.post(tiny_spec(world.store))
    restartable.automine(False)  # every transaction of the solver waits in the pool for us
    log = tmp_path / "solver.log"
    proc = market.spawn(market.solver, "solver", "run", "--once", log=log)
    try:
        wait_until(lambda: restartable.pending_tx(solver), timeout=120, what="claim", proc=proc)
        restartable.mine()
        assert market.deployer.market.get_job(job_id).status is JobStatus.CLAIMED
        wait_until(lambda: restartable.pending_tx(solver), timeout=120, what="commit", proc=proc)

        anvil.stop()  # the endpoint goes away with the commit in its pool
        wait_until(
            lambda: "RPC unreachable" in log.read_text(), timeout=60, what="outage", proc=proc
        )
        anvil.relaunch()  # back from the dumped state, without the commit
        wait_for_status(market, job_id, JobStatus.COMMITTED, proc, timeout=120)
        assert "the node lost nonce" in log.read_text()  # the same commit was sent again
        wait_until(lambda: "committed job" in log.read_text(), timeout=60, what="commit returned")

        anvil.stop()  # and once more while the solver waits for the challenge window
        wait_until(
            lambda: "chain RPC unavailable" in log.read_text(), timeout=60, what="idle", proc=proc
        )
        anvil.relaunch()
        market.advance(
            market.deployer.market.challenge_window() + market.deployer.market.reveal_phase() + 1
        )
        assert proc.wait(timeout=180) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    p = world.p
    assert p.market.get_job(job_id).status is JobStatus.FINALIZED
    commits = p.market.get_events("JobCommitted")
    assert len(commits) == 1  # committed once
    paid_job_books(world, job_id, before, FEE)


def test_rpc_restart_mid_bisection_move_challenger_still_wins(
    restartable: Restartable, dev_accounts: list[LocalAccount]
) -> None:
    scene = FraudScene.start(restartable.market, dev_accounts)
    world, anvil = scene.world, restartable.anvil
    challenger, name = scene.challenger_must_choose()
    restartable.automine(False)
    moved: list[bool] = []

    def move() -> None:  # the challenger's node, opened on its data folder in this thread
        world.start_verifier(name)
        moved.append(world.verifiers[name].tick())

    mover = threading.Thread(target=move)
    mover.start()
    try:
        wait_until(lambda: restartable.pending_tx(challenger), timeout=120, what="move sent")
        anvil.stop()  # the endpoint goes away with the move in its pool
        time.sleep(1.0)  # the verifier meets a dead endpoint while it waits for the receipt
        anvil.relaunch()  # back from the dumped state, without the move
    finally:
        mover.join(timeout=180)
    assert moved == [True]  # the tick came back with its move mined, no crash
    world.start_verifier(name)  # back on this thread
    assert not scene.in_phase(DisputePhase.CHOOSE)
    scene.finish_and_check(challenger)
