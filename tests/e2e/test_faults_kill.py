"""SIGKILL at the worst moment: a daemon process killed with its transaction sent but not yet
mined (so its journal may lag the chain), the transaction then either mined or lost with the
node's pool, and the daemon restarted on its data folder.

Already covered elsewhere (not repeated here): a solver killed mid-training
(test_solver_restart.py), a solver process killed between its vote commit and reveal
(test_disputes_restart_process.py), an in-process challenger and solver re-created mid-bisection
and mid-vote (test_disputes_restart.py). Added here: a real ``crowdtrain verifier run`` process
killed in the middle of its bisection move, and a ``crowdtrain solver run`` process killed in the
middle of its commit.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from e2e_dispute_kit import FEE, World, tiny_spec
from eth_account.signers.local import LocalAccount
from fault_kit import LOCK, FraudScene, Restartable, paid_job_books
from market_kit import wait_for_status, wait_until

from node.chain.dispute_types import DisputePhase
from node.chain.types import JobStatus
from node.storage import LocalBlobStore

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _land_or_lose(restartable: Restartable, landed: bool) -> None:
    """The killed daemon's pending transaction is mined after its death, or lost with the pool."""
    if not landed:
        restartable.market.w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[arg-type]
    restartable.automine(True)
    restartable.mine()


@pytest.mark.parametrize("landed", [True, False], ids=["move-mined", "move-lost"])
def test_verifier_process_killed_mid_bisection_move_resumes_from_its_journal(
    restartable: Restartable, dev_accounts: list[LocalAccount], tmp_path: Path, landed: bool
) -> None:
    market = restartable.market
    scene = FraudScene.start(market, dev_accounts)
    challenger, name = scene.challenger_must_choose()
    restartable.automine(False)
    proc = market.spawn(
        scene.world.accounts[name],
        "verifier",
        "run",
        "--data-dir",
        str(market.root / f"verifier-{name}"),  # the in-process node's own journal
        log=tmp_path / "verifier.log",
    )
    try:
        wait_until(
            lambda: restartable.pending_tx(challenger), timeout=180, what="move sent", proc=proc
        )
    finally:
        _kill(proc)
    _land_or_lose(restartable, landed)
    assert scene.in_phase(DisputePhase.CHOOSE) is not landed
    scene.world.start_verifier(name)  # restarted on its journal
    scene.finish_and_check(challenger)


@pytest.mark.parametrize("landed", [True, False], ids=["commit-mined", "commit-lost"])
def test_solver_process_killed_mid_commit_is_paid_once(
    restartable: Restartable, tmp_path: Path, landed: bool
) -> None:
    market = restartable.market
    world = World(market, LocalBlobStore(market.root / "blobs"))
    world.add_solver(market.solver, LOCK)
    solver, submitter = market.solver.address, market.submitter.address
    before = {a: world.wealth(a) for a in (solver, submitter)}
    job_id = world.post(tiny_spec(world.store))
    restartable.automine(False)
    first = market.spawn(market.solver, "solver", "run", "--once", log=tmp_path / "first.log")
    try:
        wait_until(lambda: restartable.pending_tx(solver), timeout=120, what="claim", proc=first)
        restartable.mine()
        wait_until(lambda: restartable.pending_tx(solver), timeout=120, what="commit", proc=first)
    finally:
        _kill(first)
    _land_or_lose(restartable, landed)
    status = market.deployer.market.get_job(job_id).status
    assert status is (JobStatus.COMMITTED if landed else JobStatus.CLAIMED)

    log = tmp_path / "second.log"
    second = market.spawn(market.solver, "solver", "run", "--once", log=log)
    try:
        wait_for_status(market, job_id, JobStatus.COMMITTED, second, timeout=180)
        market.advance(
            market.deployer.market.challenge_window() + market.deployer.market.reveal_phase() + 1
        )
        assert second.wait(timeout=180) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
    p = world.p
    assert p.market.get_job(job_id).status is JobStatus.FINALIZED
    assert p.market.get_job(job_id).attempt == 0  # the same claim, never claimed again
    assert len(p.market.get_events("JobCommitted")) == 1
    paid_job_books(world, job_id, before, FEE)
