"""End to end on a real Anvil: a job is posted with the CLI, solved by the solver daemon, paid
after the challenge window, and its model downloaded and checked against finalStateHash."""

from __future__ import annotations

from pathlib import Path

import pytest
from market_kit import CROWD, Market, json_line, submit_example, wait_for_status

from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.trace.state import hash_blob

pytestmark = [pytest.mark.chain, pytest.mark.slow]

REWARD, FEE = 100 * CROWD, 10 * CROWD


def test_paid_job_end_to_end(market: Market, tmp_path: Path) -> None:
    submitter, solver = market.as_(market.submitter), market.as_(market.solver)
    market.cli(market.submitter, "data", "prepare", "digits")
    market.cli(market.solver, "stake", "500")

    sub_before = submitter.token.balance_of(market.submitter.address)
    solver_before = solver.token.balance_of(market.solver.address)

    job_id = submit_example(market, "mlp_digits", "--reward", "100", "--verifier-fee", "10")
    assert submitter.token.balance_of(market.submitter.address) == sub_before - REWARD - FEE
    assert market.deployer.market.total_liabilities() == REWARD + FEE

    proc = market.spawn(market.solver, "solver", "run", "--once", log=tmp_path / "solver.log")
    try:
        wait_for_status(market, job_id, JobStatus.COMMITTED, proc)
        # The window is still open: nobody can finalize yet, the solver waits.
        assert market.deployer.market.get_job(job_id).status is JobStatus.COMMITTED
        market.advance(
            market.deployer.market.challenge_window() + market.deployer.market.reveal_phase() + 1
        )
        assert proc.wait(timeout=120) == 0, (tmp_path / "solver.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()

    job = market.deployer.market.get_job(job_id)
    assert job.status is JobStatus.FINALIZED
    # The solver's balance rose by exactly the reward; its whole stake is free again.
    assert solver.token.balance_of(market.solver.address) == solver_before + REWARD
    assert solver.registry.stake_of(market.solver.address).locked == 0
    # The escrow is empty: the unpaid verifier fee is the submitter's credit (no attesters yet).
    assert market.deployer.market.credit_of(market.submitter.address) == FEE
    market.cli(market.submitter, "withdraw")
    assert submitter.token.balance_of(market.submitter.address) == sub_before - REWARD
    assert market.deployer.market.total_liabilities() == 0
    assert market.deployer.token.balance_of(market.deployer.market.address) == 0

    out = tmp_path / "model"
    downloaded = json_line(
        market.cli(
            market.submitter, "job", "download", str(job_id), "--out", str(out), "--json"
        ).stdout
    )
    commitment = market.deployer.market.get_commitment(job_id)
    assert commitment is not None
    assert hash_blob((out / "model.safetensors").read_bytes()) == commitment.final_state_hash
    assert downloaded["state_hash"] == "0x" + commitment.final_state_hash.hex()


def test_download_rejects_a_tampered_model(market: Market, tmp_path: Path) -> None:
    """A final checkpoint whose bytes were swapped in storage never reaches the submitter."""
    market.cli(market.submitter, "data", "prepare", "digits")
    market.cli(market.solver, "stake", "500")
    job_id = submit_example(market, "mlp_digits", "--reward", "100")
    proc = market.spawn(market.solver, "solver", "run", log=tmp_path / "solver.log")
    try:
        wait_for_status(market, job_id, JobStatus.COMMITTED, proc)
    finally:
        proc.kill()
        proc.wait()
    store = LocalBlobStore(market.root / "blobs")
    commitment = market.deployer.market.get_commitment(job_id)
    assert commitment is not None
    from node.trace.manifest import parse_manifest

    manifest = parse_manifest(store.get("sha256:" + commitment.manifest_hash.hex()))
    final = store.path(manifest.checkpoints[-1].address)
    final.chmod(0o644)
    data = bytearray(final.read_bytes())
    data[-1] ^= 0xFF
    final.write_bytes(bytes(data))
    done = market.cli(
        market.submitter, "job", "download", str(job_id), "--out", str(tmp_path / "m"), check=False
    )
    assert done.returncode == 1
    assert "error:" in done.stderr and manifest.checkpoints[-1].address in done.stderr
    assert not (tmp_path / "m" / "model.safetensors").exists()
