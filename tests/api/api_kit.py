"""A deployed marketplace on the session Anvil, API states over SQLite or PostgreSQL, a live
uvicorn server in a thread, and helpers that drive a job through its life on-chain."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from sqlalchemy import func, select
from web3 import Web3

from marketplace_api.api.main import create_app
from marketplace_api.api.state import AppState
from marketplace_api.config import ApiConfig, sqlite_url
from marketplace_api.indexer import Indexer, indexed_adapters
from marketplace_api.models import Blob, UploadNonce
from node.chain.anvil import free_port
from node.chain.client import increase_time
from node.chain.deploy import DeploymentParams, deploy_protocol, write_deployment
from node.chain.events import JobPosted
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import Commitment
from node.storage.base import address_of
from node.trace.manifest import Manifest, ManifestCheckpoint
from node.trace.merkle import MerkleTree, checkpoint_leaf
from node.training.spec import JobSpec

CROWD = 10**18
REPO = Path(__file__).resolve().parents[2]
SEGMENTS, CHECKPOINT_EVERY = 4, 2
EXAMPLE_SPEC = REPO / "examples" / "specs" / "mlp_digits.json"


@dataclass
class Market:
    w3: Web3
    rpc_url: str
    root: Path
    deployer: Protocol
    submitter: Protocol
    solver: Protocol
    solver_account: LocalAccount
    submitter_account: LocalAccount

    def indexer(self, state: AppState, **kwargs: object) -> Indexer:
        return Indexer(
            self.w3,
            indexed_adapters(self.deployer),
            state.sessions,
            start_block=self.deployer.deployment.deployment_block,
            on_commit=state.indexed,
            **kwargs,  # type: ignore[arg-type]
        )

    def post(self, n: int = 1, *, reward: int = 10 * CROWD) -> list[int]:
        ids = []
        for _ in range(n):
            count = self.submitter.market.job_count()
            posted = self.submitter.post_job(
                spec_hash=hashlib.sha256(f"spec-{count}-{time.time_ns()}".encode()).digest(),
                steps=SEGMENTS * CHECKPOINT_EVERY,
                checkpoint_every=CHECKPOINT_EVERY,
                reward=reward,
                verifier_fee=CROWD,
                solve_timeout=600,
                sample_rate_bps=1_000,
            )
            ids.append(int(posted.job_id))
        return ids

    def post_auction(
        self, spec: JobSpec, *, cap: int, floor: int, ramp: int, min_finalized: int = 0
    ) -> JobPosted:
        """A job of ``spec``'s shape priced by the ascending auction (docs/MARKET.md, "Pricing"):
        the offer rises from ``floor`` to ``cap`` over ``ramp`` seconds from its posting."""
        return self.submitter.post_job(
            spec_hash=spec.spec_hash(),
            steps=spec.steps,
            checkpoint_every=spec.checkpoint_every,
            reward=cap,
            verifier_fee=CROWD,
            solve_timeout=600,
            sample_rate_bps=round(spec.sample_rate * 10_000),
            floor=floor,
            ramp=ramp,
            min_finalized=min_finalized,
        )

    def post_rounds(self, *, workers: int = 3, rounds: int = 2, quorum: int = 2) -> int:
        """A rounds job of ``workers`` by ``rounds`` units of the kit's shape (docs/ROUNDS.md),
        unit reward 10 + fee 1 CROWD; round 0's units are posted with it."""
        posted = self.submitter.post_rounds_job(
            spec_hash=hashlib.sha256(f"rounds-spec-{time.time_ns()}".encode()).digest(),
            workers=workers,
            rounds=rounds,
            quorum=quorum,
            inner_steps=SEGMENTS * CHECKPOINT_EVERY,
            checkpoint_every=CHECKPOINT_EVERY,
            unit_reward=10 * CROWD,
            unit_verifier_fee=CROWD,
            solve_timeout=600,
            round_timeout=1_000,
            sample_rate_bps=1_000,
        )
        return int(posted.rounds_id)

    def stake_solver(self, amount: int = 1_000 * CROWD) -> None:
        self.solver.stake(amount)

    def claim_and_commit(self, job_id: int, upload: Callable[[bytes], None]) -> Manifest:
        """Claim, build a manifest with falling training and validation losses, upload it, and
        commit the trace."""
        claimed = self.solver.market.claim_job(job_id)
        manifest, commitment, proof = fake_trace(job_id, claimed.attempt)
        upload(manifest.canonical_json())
        self.solver.market.commit_trace(job_id, commitment, proof)
        return manifest

    def finalize(self, job_id: int) -> None:
        """Past the challenge window and any reveal phase (a day is longer than both), finalize."""
        increase_time(self.w3, max(self.solver.market.challenge_window() + 1, 86_400))
        self.solver.market.finalize_job(job_id)
        self.solver.market.withdraw()


def fake_trace(job_id: int, attempt: int) -> tuple[Manifest, Commitment, list[bytes]]:
    """A self-consistent manifest and commitment (not a real training run: the API only reads)."""
    states = [
        hashlib.sha256(f"state-{job_id}-{attempt}-{i}".encode()).digest()
        for i in range(SEGMENTS + 1)
    ]
    leaves = [checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(states)]
    tree = MerkleTree.build(leaves)
    seg_leaves = [hashlib.sha256(f"seg-{i}".encode()).digest() for i in range(SEGMENTS)]
    seg_root = hashlib.sha256(b"".join(seg_leaves)).digest()
    steps = SEGMENTS * CHECKPOINT_EVERY
    manifest = Manifest(
        spec_hash="0x" + hashlib.sha256(b"spec").hexdigest(),
        job_id=job_id,
        attempt=attempt,
        steps=steps,
        checkpoint_every=CHECKPOINT_EVERY,
        checkpoints=[
            ManifestCheckpoint(
                index=i,
                step=i * CHECKPOINT_EVERY,
                address=address_of(f"ckpt-{i}".encode()),
                state_hash="0x" + h.hex(),
                validation_loss=round(2.8 / (1 + i), 6),
            )
            for i, h in enumerate(states)
        ],
        checkpoint_leaves=["0x" + v.hex() for v in leaves],
        segment_leaves=["0x" + v.hex() for v in seg_leaves],
        state_root="0x" + tree.root.hex(),
        seg_roots_root="0x" + seg_root.hex(),
        final_state_hash="0x" + states[-1].hex(),
        losses=[round(2.5 / (1 + t), 6) for t in range(steps)],
    )
    commitment = Commitment(
        state_root=tree.root,
        seg_roots_root=seg_root,
        final_state_hash=states[-1],
        manifest_hash=manifest.manifest_hash(),
    )
    return manifest, commitment, list(tree.proof(SEGMENTS))


def deploy_market(w3: Web3, rpc_url: str, accounts: list[LocalAccount], root: Path) -> Market:
    deployer_account, submitter, solver = accounts[0], accounts[1], accounts[2]
    sender = TxSender(w3, deployer_account, project_decoder())
    deployment = deploy_protocol(sender, DeploymentParams())
    write_deployment(deployment, root / "deployments")
    deployer = Protocol.from_deployment(w3, deployment, deployer_account)
    for account in (submitter, solver):
        deployer.token.mint(account.address, 100_000 * CROWD)
    return Market(
        w3=w3,
        rpc_url=rpc_url,
        root=root,
        deployer=deployer,
        submitter=deployer.as_account(submitter),
        solver=deployer.as_account(solver),
        solver_account=solver,
        submitter_account=submitter,
    )


def open_state(database_url: str, root: Path, **config: object) -> AppState:
    return AppState.open(
        ApiConfig(database_url=database_url, blob_dir=root / "api-blobs", **config)  # type: ignore[arg-type]
    )


def sqlite_database(root: Path) -> str:
    return sqlite_url(root / "api.sqlite3")


def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the throwaway PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port, in a thread (stopped by ``stop``)."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {what}")


def make_app(state: AppState) -> FastAPI:
    return create_app(state)


def nothing_stored(state: AppState) -> bool:
    """No blob row, no spent nonce and no file (not even a temporary one) in the API's store."""
    with state.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Blob))
        nonces = session.scalar(select(func.count()).select_from(UploadNonce))
    files = list(state.config.blob_dir.iterdir())
    return rows == 0 and nonces == 0 and files == []


def requires_ci_or_skip(reason: str) -> None:
    """Skip with ``reason``, except under CI=true where the dependency must be there."""
    import os

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires it: {reason}")
    pytest.skip(reason)
