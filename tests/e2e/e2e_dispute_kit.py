"""In-process players on the session Anvil for the dispute end-to-end tests.

Solvers (``node.solver.daemon.Solver``) and verifiers (``verifier.node.VerifierNode``) run their
real code paths in this process, ticked in turn by ``World.drive``; a cheating solver's ticks run
under ``CROWDTRAIN_FAULT``. Chain time only moves through ``evm_increaseTime``/``evm_mine``: a
round in which nobody sent anything advances the clock by ``idle_step`` seconds, so windows and
chess clocks expire exactly when every player is waiting on them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from market_kit import CROWD, Market

from node.chain.protocol import Protocol
from node.solver.daemon import Solver
from node.solver.defense import DatasetDefense
from node.storage import BlobStore, LocalBlobStore
from node.training.data import digits_blob
from node.training.spec import JobSpec, parse_spec
from verifier.node import VerifierNode

REWARD, FEE = 100 * CROWD, 9 * CROWD
VERIFIER_STAKE = 200 * CROWD


def tiny_spec(store: BlobStore, seed: int = 7) -> JobSpec:
    """A 12-step MLP job, K = 4 (N = 3 segments), on the digits dataset, stored with its data."""
    digits = digits_blob()
    address = store.put(digits)
    spec = parse_spec(
        {
            "model": {"architecture": "mlp", "hidden": [16]},
            "dataset": {"address": address, "format": "classification"},
            "optimizer": {"name": "adamw", "lr": 0.01, "grad_clip": 1.0, "weight_decay": 0.01},
            "batch_size": 16,
            "steps": 12,
            "checkpoint_every": 4,
            "seed": seed,
            "runtime": "repro-v1",
        }
    )
    store.put(spec.canonical_json())
    return spec


@contextmanager
def fault_env(fault: str | None) -> Iterator[None]:
    """``CROWDTRAIN_FAULT`` set for the duration (the hooks read it at each use)."""
    before = os.environ.pop("CROWDTRAIN_FAULT", None)
    if fault:
        os.environ["CROWDTRAIN_FAULT"] = fault
    try:
        yield
    finally:
        os.environ.pop("CROWDTRAIN_FAULT", None)
        if before is not None:
            os.environ["CROWDTRAIN_FAULT"] = before


@dataclass
class SolverSlot:
    account: LocalAccount
    fault: str | None
    data_dir: Path
    solver: Solver | None = None


@dataclass
class World:
    market: Market
    store: LocalBlobStore
    solvers: list[SolverSlot] = field(default_factory=list)
    verifiers: dict[str, VerifierNode] = field(default_factory=dict)
    accounts: dict[str, LocalAccount] = field(default_factory=dict)
    idle_step: int = 20
    defenders: list[DatasetDefense] = field(default_factory=list)
    """submitters answering Dataset availability claims (``crowdtrain job defend``)."""

    @property
    def p(self) -> Protocol:
        return self.market.deployer

    def add_solver(self, account: LocalAccount, stake: int, fault: str | None = None) -> SolverSlot:
        self.p.token.mint(account.address, stake)
        self.market.as_(account).stake(stake)
        slot = SolverSlot(account, fault, self.market.root / f"solver-{account.address[:8]}")
        self.solvers.append(slot)
        return slot

    def start_solver(self, slot: SolverSlot) -> None:
        """(Re)create the solver object on its data folder, as a restarted daemon would."""
        with fault_env(slot.fault):
            slot.solver = Solver(self.market.as_(slot.account), self.store, slot.data_dir)

    def add_verifier(self, name: str, account: LocalAccount, *, check_all: bool = False) -> None:
        self.p.token.mint(account.address, VERIFIER_STAKE)
        proto = self.market.as_(account)
        proto.stake(VERIFIER_STAKE)
        proto.registry.register_verifier()
        self.accounts[name] = account
        self.start_verifier(name, check_all=check_all)

    def start_verifier(self, name: str, *, check_all: bool = False) -> None:
        account = self.accounts[name]
        self.verifiers[name] = VerifierNode(
            self.market.as_(account),
            self.store,
            self.market.root / f"verifier-{name}",
            check_all=check_all,
        )

    def add_defender(self, account: LocalAccount) -> DatasetDefense:
        """``account`` (a submitter) answers the Dataset claims on its jobs, ticked each round."""
        defense = DatasetDefense(
            self.market.as_(account),
            self.store,
            self.market.root / f"defender-{account.address[:8]}",
        )
        self.defenders.append(defense)
        return defense

    def post(self, spec: JobSpec, *, reward: int = REWARD, fee: int = FEE) -> int:
        posted = self.market.as_(self.market.submitter).post_job(
            spec_hash=spec.spec_hash(),
            steps=spec.steps,
            checkpoint_every=spec.checkpoint_every,
            reward=reward,
            verifier_fee=fee,
            solve_timeout=3_600,
            sample_rate_bps=1_000,
        )
        return int(posted.job_id)

    def round(self, until: Callable[[], bool] | None = None) -> bool:
        """Tick every player once (stopping early once ``until()``, so a test can act on the
        exact event); True if anyone sent a transaction."""
        moved = False
        for slot in self.solvers:
            if slot.solver is not None:
                with fault_env(slot.fault):
                    moved |= slot.solver.tick()
                if until is not None and until():
                    return True
        for node in self.verifiers.values():
            moved |= node.tick()
            if until is not None and until():
                return True
        for defense in self.defenders:
            moved |= defense.tick()
            if until is not None and until():
                return True
        return moved

    def drive(
        self, until: Callable[[], bool], *, rounds: int = 200, what: str = "condition"
    ) -> None:
        """Play rounds until ``until()``; idle rounds move chain time by ``idle_step``."""
        for _ in range(rounds):
            if until():
                return
            if not self.round(until):
                self.market.advance(self.idle_step)
        raise AssertionError(f"not reached after {rounds} rounds: {what}")

    def solvency(self) -> None:
        """The invariant of docs/PROTOCOL.md §2, exact to the wei."""
        p = self.p
        assert p.token.balance_of(p.market.address) == p.market.total_liabilities()
        assert p.token.balance_of(p.registry.address) == p.registry.total_staked()

    def wealth(self, account: str) -> int:
        """Tokens held plus staked plus unwithdrawn credit: what a party is worth to the protocol."""
        p = self.p
        return (
            p.token.balance_of(account)
            + p.registry.stake_of(account).staked
            + p.market.credit_of(account)
        )


def fake_fraud(world: World, name: str, job_id: int, attempt: int, segment: int) -> None:
    """Make verifier ``name`` dishonest: it "finds" fraud in an honest segment (a false challenge
    through its real code paths: commit, reveal, bisection with made-up hashes, vote)."""
    from verifier.journal import StoredFinding

    k = 4
    made_up = tuple(bytes([0xEE]) * 32 for _ in range(k + 1))
    world.verifiers[name].journal.record_finding(
        StoredFinding(job_id, attempt, segment, "fraud", None, made_up)
    )


def set_vote(world: World, name: str, dispute_id: int, round_: int, digest: bytes) -> None:
    """Make juror ``name`` vote ``digest`` instead of the one it would compute."""
    from verifier.player import digest_key

    world.verifiers[name].journal.plan(digest_key(dispute_id, round_), {"digest": digest.hex()})


def fake_fraud_at_last_step(world: World, name: str, job_id: int, segment: int) -> None:
    """Like ``fake_fraud``, but the made-up hashes agree with the honest trace up to step K-1, so
    the bisection pins the interior step K-1 → K (whose state is not public). Needs the commit."""
    from node.chain.types import Commitment
    from node.training.data import load_dataset
    from node.training.session import TrainingSession
    from node.training.spec import load_spec
    from verifier.evidence import fetch_checkpoint, fetch_manifest
    from verifier.journal import StoredFinding
    from verifier.replay import replay_segment

    p = world.p
    job = p.market.get_job(job_id)
    event = p.market.get_commitment(job_id)
    assert event is not None
    commitment = Commitment(
        event.state_root, event.seg_roots_root, event.final_state_hash, event.manifest_hash
    )
    spec = load_spec(world.store.get("sha256:" + job.spec_hash.hex()))
    manifest = fetch_manifest(world.store, commitment, job_id=job_id, attempt=0, spec=spec)
    start = fetch_checkpoint(spec, world.store, manifest, segment - 1)
    session = TrainingSession(spec, load_dataset(spec, world.store))
    honest = replay_segment(session, start, job_id=job_id, attempt=0, segment=segment)
    made_up = (*honest.state_hashes[:-1], b"\xee" * 32)
    world.verifiers[name].journal.record_finding(
        StoredFinding(job_id, 0, segment, "fraud", None, made_up)
    )


def plant_defender_vote(
    defense: DatasetDefense, dispute_id: int, round_: int, digest: bytes
) -> None:
    """Make a submitter's defender vote ``digest`` (e.g. claim a missing dataset is available):
    its journalled vote is used instead of the one it would compute."""
    import secrets

    defense.journal.put_move(
        f"vote:{dispute_id}:{round_}", secrets.token_bytes(32).hex() + digest.hex()
    )
