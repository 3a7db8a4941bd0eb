"""The solver's Dataset availability claim and the submitter's answer, without a chain: the pure
decisions (claim, wait, never claim twice; both parties' jury moves), the fault hook, and the
shared digest code every voter uses (solver, submitter, verifier jurors)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from blake3 import blake3
from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from solver_jobs import CLAIMED_JOB, SOLVER, SUBMITTER

from node import faults
from node.chain.dispute_types import (
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputePhase,
    JuryPhase,
    Panel,
    Target,
)
from node.chain.types import JobStatus, Wei
from node.solver.decide import Action, DatasetClaim, next_action
from node.solver.dispute_decide import SolverDisputeKnowledge, SolverMove, decide_solver_dispute
from node.storage import LocalBlobStore
from node.training.data import digits_blob
from node.training.spec import parse_spec
from node.votes import UNAVAILABLE, dataset_digest, stored_blob_digest, vote_commitment


@pytest.mark.parametrize(
    ("changes", "ok", "claim", "now", "expected"),
    [
        ({}, True, DatasetClaim.NONE, 1000, Action.TRAIN_AND_COMMIT),
        ({}, False, DatasetClaim.NONE, 1000, Action.CLAIM_DATASET),  # before the deadline
        ({}, False, DatasetClaim.NONE, 1001, Action.ABANDON),  # too late to claim
        ({"open_disputes": 1}, False, DatasetClaim.OPEN, 5000, Action.WAIT),  # frozen: the jury
        ({}, False, DatasetClaim.REJECTED, 900, Action.WAIT),  # never a second claim
        ({}, True, DatasetClaim.REJECTED, 900, Action.TRAIN_AND_COMMIT),  # available after all
        ({"attempt": 1, "status": JobStatus.OPEN}, False, DatasetClaim.NONE, 10, Action.ABANDON),
    ],
)
def test_dataset_claim_decision(
    changes: dict[str, object], ok: bool, claim: DatasetClaim, now: int, expected: Action
) -> None:
    job = replace(CLAIMED_JOB, **changes)  # type: ignore[arg-type]
    got = next_action(job, me=SOLVER, attempt=0, now=now, dataset_ok=ok, dataset_claim=claim)
    assert got is expected


def test_false_dataset_claim_fault_lies_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert faults.dataset_available(None, True, claimed_before=False)
    assert not faults.dataset_available(None, False, claimed_before=True)
    monkeypatch.setenv(faults.ENV, "false_dataset_claim")
    plan = faults.active()
    assert not faults.dataset_available(plan, True, claimed_before=False)
    assert faults.dataset_available(plan, True, claimed_before=True)


CLAIM = Dispute(
    dispute_id=4, job_id=1, attempt=0, segment=0, kind=DisputeKind.AVAILABILITY,
    target=Target.DATASET, phase=DisputePhase.JURY, outcome=DisputeOutcome.NONE, solver_clock=120,
    challenger_clock=120, challenger=SOLVER, bond=Wei(10), solver=SUBMITTER, commit_seq=1,
    lo=0, hi=0, checkpoint_every=4, num_segments=3, opened_at=100, last_move_at=100,
    hash_lo=b"\0" * 32, hash_hi=b"\0" * 32, seg_root=b"\0" * 32, split_hash=b"\0" * 32,
    commitment=b"\0" * 32,
)  # fmt: skip
PANEL = Panel(
    phase=JuryPhase.SEED, round=0, size=3, solver=SUBMITTER, challenger=SOLVER, seed_block=50,
    snapshot_block=48, commit_deadline=400, reveal_deadline=460, salt=b"\1" * 32,
    draw_deadline=170, submitter=SUBMITTER,
)  # fmt: skip


@pytest.mark.parametrize("me", [SOLVER, SUBMITTER], ids=["claimant", "respondent"])
def test_both_parties_of_a_dataset_claim_vote(me: str) -> None:
    """Nothing to publish (a blob claim): record seeds, commit, reveal, resolve."""
    known = SolverDisputeKnowledge(me=me, block_number=51)
    assert decide_solver_dispute(CLAIM, PANEL, known, 200) == [SolverMove.RECORD_SEED]
    assert decide_solver_dispute(CLAIM, PANEL, replace(known, block_number=50), 200) == []
    voting = replace(PANEL, phase=JuryPhase.VOTING)
    assert decide_solver_dispute(CLAIM, voting, known, 400) == [SolverMove.COMMIT_VOTE]
    committed = replace(known, vote_committed=True)
    assert decide_solver_dispute(CLAIM, voting, committed, 400) == []
    assert decide_solver_dispute(CLAIM, voting, committed, 401) == [SolverMove.REVEAL_VOTE]
    revealed = replace(committed, vote_revealed=True)
    assert decide_solver_dispute(CLAIM, voting, revealed, 461) == [SolverMove.RESOLVE]


def test_every_voter_digests_the_same_verified_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = digits_blob()
    spec = parse_spec(
        {
            "model": {"architecture": "mlp", "hidden": [16]},
            "dataset": {"address": store.put(data), "format": "classification"},
            "optimizer": {"name": "adamw", "lr": 0.01},
            "batch_size": 16,
            "steps": 12,
            "checkpoint_every": 4,
            "seed": 7,
            "runtime": "repro-v1",
        }
    )
    store.put(spec.canonical_json())
    job = replace(CLAIMED_JOB, spec_hash=spec.spec_hash())
    salt = b"\x07" * 32
    assert dataset_digest(store, job, salt) == blake3(salt + data).digest()
    assert dataset_digest(store, job, salt) != dataset_digest(store, job, b"\x08" * 32)
    store.path(spec.dataset.address).write_bytes(data[:-1])  # corrupt: the name no longer fits
    assert dataset_digest(store, job, salt) == UNAVAILABLE
    store.path(spec.dataset.address).unlink()  # missing
    assert stored_blob_digest(store, spec.dataset.address, salt) == UNAVAILABLE
    assert dataset_digest(store, replace(job, spec_hash=b"\x09" * 32), salt) == UNAVAILABLE


def test_vote_commitment_is_the_jury_preimage() -> None:
    """``keccak256(abi.encode(disputeId, round, voter, digest, salt))``, the voter checksummed."""
    args = (4, 1, SOLVER.lower(), b"\x02" * 32, b"\x03" * 32)
    want = keccak(
        abi_encode(
            ["uint256", "uint256", "address", "bytes32", "bytes32"], [4, 1, SOLVER, *args[3:]]
        )
    )
    assert vote_commitment(*args) == want
