"""`crowdtrain verifier register` and `crowdtrain verifier run --once` as real subprocesses against a
fresh deployment on the session Anvil: the verifier records the attester seed, replays its assigned
segment of an honest job, commits and reveals its attestation, and once the job is finalized
withdraws exactly its per-segment fee and exits. Chain time moves only on observed effects."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from verifier_kit import tiny_spec
from web3 import Web3

from node.chain.anvil import AnvilProcess
from node.chain.deploy import DeploymentParams, deploy_protocol, write_deployment
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import Commitment, JobStatus
from node.storage import LocalBlobStore
from node.training.data import digits_blob
from node.training.trainer import train

pytestmark = [pytest.mark.chain, pytest.mark.slow]

CROWD = 10**18
REWARD, FEE = 100 * CROWD, 9 * CROWD
VERIFIER_STAKE = 200
REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "cli.main"]


def _env(rpc_url: str, root: Path, account: LocalAccount) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
    env.update(
        CROWDTRAIN_RPC_URL=rpc_url,
        CROWDTRAIN_DEPLOYMENTS_DIR=str(root / "deployments"),
        CROWDTRAIN_BLOB_DIR=str(root / "blobs"),
        CROWDTRAIN_DATA_DIR=str(root / "verifier-data"),
        CROWDTRAIN_THREADS="1",
        CROWDTRAIN_POLL_INTERVAL="0.2",
        CROWDTRAIN_PRIVATE_KEY=account.key.hex(),
    )
    return env


def _wait(
    predicate: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    """Poll an on-chain effect; fail early (with the verifier's log) if the process dies."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"verifier exited {proc.returncode} before {what}:\n{log.read_text()}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def _advance(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _wealth(p: Protocol, account: str) -> tuple[int, int, int, int]:
    info = p.registry.stake_of(account)
    return p.token.balance_of(account), p.market.credit_of(account), info.staked, info.locked


def test_verifier_run_attests_an_honest_job_and_withdraws_its_fee(
    chain: Web3, anvil: AnvilProcess, dev_accounts: list[LocalAccount], tmp_path: Path
) -> None:
    deployer_account, submitter, solver, verifier = dev_accounts[:4]
    deployment = deploy_protocol(
        TxSender(chain, deployer_account, project_decoder()), DeploymentParams()
    )
    write_deployment(deployment, tmp_path / "deployments")
    p = Protocol.from_deployment(chain, deployment, deployer_account)
    for account in (submitter, solver, verifier):
        p.token.mint(account.address, 1_000 * CROWD)
    env = _env(anvil.rpc_url, tmp_path, verifier)

    # register through the CLI (before the commit: the attester draw reads the stake then)
    done = subprocess.run(
        [*CLI, "verifier", "register", "--stake", str(VERIFIER_STAKE)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"verifier {verifier.address} registered" in done.stdout
    assert p.registry.contract.functions.isVerifier(verifier.address).call()
    assert p.registry.stake_of(verifier.address).staked == VERIFIER_STAKE * CROWD

    # an honest tiny job (N = 3 segments of K = 4), trained and committed in-process
    store = LocalBlobStore(tmp_path / "blobs")
    digits = digits_blob()
    store.put(digits)
    spec = tiny_spec(digits)
    store.put(spec.canonical_json())
    as_submitter, as_solver = p.as_account(submitter), p.as_account(solver)
    job_id = int(
        as_submitter.post_job(
            spec_hash=spec.spec_hash(),
            steps=spec.steps,
            checkpoint_every=spec.checkpoint_every,
            reward=REWARD,
            verifier_fee=FEE,
            solve_timeout=3_600,
            sample_rate_bps=1_000,
        ).job_id
    )
    lock = p.market.solver_lock_of(job_id)
    as_solver.stake(lock)
    as_solver.market.claim_job(job_id)
    result = train(spec, store=store, work_dir=tmp_path / "work", job_id=job_id, attempt=0)
    as_solver.market.commit_trace(
        job_id,
        Commitment(
            result.state_root, result.seg_roots_root, result.final_state_hash, result.manifest_hash
        ),
        result.final_state_proof,
    )
    # the seed's target block, and one on top so its blockhash is readable (automine: no blocks
    # come unless someone sends a transaction)
    chain.provider.make_request("anvil_mine", [p.attestations.seed_delay() + 1])  # type: ignore[arg-type]
    parties = (submitter.address, solver.address, verifier.address)
    before = {a: _wealth(p, a) for a in parties}

    log = tmp_path / "verifier.log"
    proc = subprocess.Popen(
        [*CLI, "verifier", "run", "--once", "--max-seconds", "400"],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:

        def mine() -> tuple[str, bytes, int, bool] | None:
            rows = p.attestations.attesters_of(job_id, 0)
            return next((r for r in rows if r[0] == verifier.address), None)

        _wait(lambda: (mine() or ("", b"\0" * 32))[1] != b"\0" * 32, proc, log, "its commit")
        assigned = p.attestations.assigned_segments(job_id, verifier.address)
        assert assigned and [r[0] for r in p.attestations.attesters_of(job_id, 0)] == [
            verifier.address
        ]  # the only verifier is the only attester
        job = p.market.get_job(job_id)
        _advance(chain, job.deadline - int(chain.eth.get_block("latest")["timestamp"]) + 1)
        _wait(lambda: bool((mine() or ("", b"", 0, False))[3]), proc, log, "its reveal")
        row = mine()
        assert row is not None and row[2] == len(assigned)  # every assigned segment valid
        _advance(chain, deployment.params.reveal_phase + 1)
        as_submitter.market.finalize_job(job_id)
        assert proc.wait(timeout=180) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()

    _, _, total_assigned = p.attestations.payouts_of(job_id, 0)
    paid = FEE // total_assigned * len(assigned)
    assert f"withdrew {paid} wei" in output, output
    assert p.market.get_job(job_id).status is JobStatus.FINALIZED
    after = {a: _wealth(p, a) for a in parties}

    def delta(a: str) -> tuple[int, ...]:
        return tuple(x - y for x, y in zip(after[a], before[a], strict=True))

    assert delta(verifier.address) == (paid, 0, 0, 0)  # withdrawn to its wallet; stake untouched
    assert delta(solver.address) == (0, REWARD, 0, -lock)
    assert delta(submitter.address) == (0, FEE - paid, 0, 0)
    assert p.token.balance_of(p.market.address) == p.market.total_liabilities()
    assert p.token.balance_of(p.registry.address) == p.registry.total_staked()
    assert (tmp_path / "verifier-data" / "verifier.sqlite").exists()  # its restart journal
