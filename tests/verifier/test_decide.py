"""The verifier's attestation decisions, every deadline branch with a fake clock."""

from __future__ import annotations

from dataclasses import replace

from node.chain.types import JobStatus
from verifier.actions import (
    CommitAttestation,
    CommitChallenge,
    OpenAvailabilityClaim,
    RecordSeed,
    Replay,
    RevealAttestation,
    RevealChallenge,
)
from verifier.decide import JobView, Knowledge, Outcome, decide_job

VIEW = JobView(
    job_id=1,
    attempt=0,
    status=JobStatus.COMMITTED,
    deadline=1_000,
    reveal_phase=60,
    open_disputes=0,
    block_number=50,
    seed_target=40,
    seed_recorded=True,
    my_segments=(2, 5),
    committed=False,
    revealed=False,
    any_revealed=False,
)
MATCHED = Knowledge(outcomes={2: Outcome.MATCH, 5: Outcome.MATCH})


def test_seed_recorded_once_its_block_is_mined() -> None:
    unseeded = replace(VIEW, seed_recorded=False, block_number=40)
    assert decide_job(unseeded, Knowledge(), 10) == []  # blockhash(40) is readable from block 41
    assert decide_job(replace(unseeded, block_number=41), Knowledge(), 10) == [RecordSeed(1, 0)]


def test_replay_assigned_and_extra_segments_first() -> None:
    known = Knowledge(outcomes={2: Outcome.MATCH}, extra_segments=(5, 7))
    assert decide_job(VIEW, known, 10) == [Replay(1, 0, 5), Replay(1, 0, 7)]


def test_attest_in_window_when_all_match() -> None:
    assert decide_job(VIEW, MATCHED, 1_000) == [CommitAttestation(1, 0, (2, 5))]
    assert decide_job(replace(VIEW, committed=True), MATCHED, 999) == []
    assert decide_job(replace(VIEW, any_revealed=True), MATCHED, 999) == []


def test_reveal_only_in_reveal_phase_without_disputes() -> None:
    committed = replace(VIEW, committed=True)
    assert decide_job(committed, MATCHED, 1_000) == []
    assert decide_job(committed, MATCHED, 1_001) == [RevealAttestation(1, 0, (2, 5))]
    assert decide_job(committed, MATCHED, 1_060) == [RevealAttestation(1, 0, (2, 5))]
    assert decide_job(committed, MATCHED, 1_061) == []
    assert decide_job(replace(committed, open_disputes=1), MATCHED, 1_010) == []
    assert decide_job(replace(committed, revealed=True), MATCHED, 1_010) == []


def test_fraud_is_challenged_not_attested() -> None:
    known = Knowledge(outcomes={2: Outcome.FRAUD, 5: Outcome.MATCH})
    assert decide_job(VIEW, known, 500) == [CommitChallenge(1, 0, 2)]
    known = replace(known, challenges_committed=frozenset({2}))
    assert decide_job(VIEW, known, 500) == [RevealChallenge(1, 0, 2)]
    known = replace(known, challenges_revealed=frozenset({2}))
    assert decide_job(VIEW, known, 500) == []
    assert decide_job(VIEW, known, 1_001) == []


def test_unavailable_checkpoint_opens_one_claim() -> None:
    known = Knowledge(
        outcomes={2: Outcome.UNAVAILABLE, 5: Outcome.MATCH}, unavailable_checkpoint={2: 2}
    )
    assert decide_job(VIEW, known, 500) == [OpenAvailabilityClaim(1, 0, 2)]
    assert decide_job(VIEW, replace(known, claims_opened=frozenset({2})), 500) == []


def test_not_committed_means_nothing_to_do() -> None:
    for status in (JobStatus.OPEN, JobStatus.CLAIMED, JobStatus.FINALIZED):
        assert decide_job(replace(VIEW, status=status), MATCHED, 10) == []


def test_fraud_found_after_the_window_is_still_challenged_in_the_reveal_phase() -> None:
    known = Knowledge(outcomes={2: Outcome.FRAUD, 5: Outcome.MATCH})
    late = VIEW.deadline + 1
    assert decide_job(VIEW, known, late) == [CommitChallenge(1, 0, 2)]
    assert decide_job(VIEW, known, VIEW.deadline + VIEW.reveal_phase + 1) == []
