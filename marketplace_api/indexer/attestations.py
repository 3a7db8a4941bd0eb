"""Projections of ``Attestations`` events: who was drawn, which segments, commit, reveal.

``AttestersDrawn`` carries the seed and the sampled total S, not the segments: they are
recomputed with the verifiers' own mirror of the contract's Feistel assignment
(``verifier.assignment``, tested bit for bit against ``Attestations.assignedSegments``), so the
projection stays a pure function of the event stream.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import Attestation
from marketplace_api.indexer.projections_base import Handler, account_row
from marketplace_api.indexer.records import EventRecord
from marketplace_api.models import Job
from verifier.assignment import segments_of, share


def attestation_of(
    session: Session, job_id: int, attempt: int, attester: str
) -> Attestation | None:
    return session.scalars(
        select(Attestation).where(
            Attestation.job_id == job_id,
            Attestation.attempt == attempt,
            Attestation.attester == attester,
        )
    ).first()


def assigned(
    seed_hex: str, index: int, attesters: int, sampled: int, num_segments: int
) -> list[int]:
    """Attester ``index``'s segments (1-based), its share of the ``sampled`` positions."""
    if num_segments <= 0:
        return []
    seed = bytes.fromhex(seed_hex.removeprefix("0x"))
    return segments_of(seed, num_segments, *share(sampled, attesters, index))


def attesters_drawn(session: Session, r: EventRecord) -> None:
    a = r.args
    job_id, attempt, sampled = int(a["job_id"]), int(a["attempt"]), int(a["sampled"])
    job = session.get(Job, job_id)
    n = job.steps // job.checkpoint_every if job is not None and job.checkpoint_every else 0
    for index, attester in enumerate(a["attesters"]):
        if attestation_of(session, job_id, attempt, attester) is not None:
            continue
        session.add(
            Attestation(
                job_id=job_id,
                attempt=attempt,
                attester=attester,
                draw_index=index,
                segments=assigned(a["seed"], index, len(a["attesters"]), sampled, n),
                seed=a["seed"],
                drawn_block=r.block_number,
                committed=False,
                revealed=False,
                valid_segments=0,
                paid="0",
                slashed="0",
            )
        )
        account_row(session, attester, r.block_number)
    session.flush()


def attestation_committed(session: Session, r: EventRecord) -> None:
    a = r.args
    row = attestation_of(session, int(a["job_id"]), int(a["attempt"]), a["attester"])
    if row is not None:
        row.committed = True
        row.commit_digest = a["digest"]
        row.committed_block = r.block_number


def attestation_revealed(session: Session, r: EventRecord) -> None:
    a = r.args
    row = attestation_of(session, int(a["job_id"]), int(a["attempt"]), a["attester"])
    if row is not None:
        row.revealed = True
        row.revealed_block = r.block_number
        row.seg_roots = list(a["seg_roots"])
        row.valid_segments = int(a["valid_segments"])
    account_row(session, a["attester"], r.block_number).attestations += 1


ATTESTATION_HANDLERS: dict[str, Handler] = {
    "AttestersDrawn": attesters_drawn,
    "AttestationCommitted": attestation_committed,
    "AttestationRevealed": attestation_revealed,
}
