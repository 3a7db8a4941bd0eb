"""Row → public model conversions of the verification projections (shared by ``/jobs/{id}``,
``/disputes`` and ``/accounts``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from marketplace_api import dispute_crud
from marketplace_api.dispute_models import Dispute, JuryPanel, JuryVote, Payout, Slash
from marketplace_api.dispute_schemas import (
    DisputeDetail,
    DisputeMovePublic,
    DisputePublic,
    JuryPanelPublic,
    JuryVotePublic,
    LedgerEntryPublic,
)

_DISPUTE_COLUMNS = [
    "dispute_id",
    "job_id",
    "attempt",
    "kind",
    "target",
    "segment",
    "challenger",
    "solver",
    "bond",
    "commit_seq",
    "phase",
    "lo",
    "hi",
    "seg_root",
    "pinned_step",
    "hash_before",
    "hash_after",
    "timed_out",
    "jury_verdict",
    "outcome",
    "winner",
    "winner_paid",
    "jury_fees",
    "burned",
    "convicted_by",
    "challenge_fee",
    "opened_block",
    "opened_tx",
    "opened_at",
    "resolved_block",
    "resolved_tx",
    "resolved_at",
]


def disputes_public(session: Session, rows: Sequence[Dispute]) -> list[DisputePublic]:
    """Disputes with their moves (one query for all the moves)."""
    moves = dispute_crud.moves_of(session, (d.dispute_id for d in rows))
    return [
        DisputePublic(
            **{c: getattr(d, c) for c in _DISPUTE_COLUMNS},
            status="resolved" if d.phase == "resolved" else "open",
            moves=[DisputeMovePublic.model_validate(m) for m in moves.get(d.dispute_id, [])],
        )
        for d in rows
    ]


def dispute_detail(session: Session, row: Dispute) -> DisputeDetail:
    (summary,) = disputes_public(session, [row])
    payouts, slashes = dispute_crud.ledger(session, dispute_id=row.dispute_id)
    return DisputeDetail(
        **summary.model_dump(),
        jury=[
            _panel(panel, votes, row.solver)
            for panel, votes in dispute_crud.panels_of(session, dispute_id=row.dispute_id)
        ],
        payouts=ledger_public(payouts),
        slashes=ledger_public(slashes),
    )


def _panel(panel: JuryPanel, votes: Sequence[JuryVote], solver: str) -> JuryPanelPublic:
    solver_digest = next((v.digest for v in votes if v.voter == solver and v.revealed), None)
    return JuryPanelPublic(
        round=panel.round,
        requested=panel.requested,
        drawn=panel.drawn,
        jurors=list(panel.jurors),
        salt=panel.salt,
        commit_deadline=panel.commit_deadline,
        reveal_deadline=panel.reveal_deadline,
        tied_next_size=panel.tied_next_size,
        votes=[
            JuryVotePublic(
                voter=v.voter,
                role=v.role,
                committed=v.committed,
                revealed=v.revealed,
                digest=v.digest,
                matches_solver=(
                    v.digest == solver_digest if v.revealed and solver_digest is not None else None
                ),
                fee=v.fee,
                slashed=v.slashed,
            )
            for v in votes
        ],
    )


def ledger_public(rows: Sequence[Payout | Slash]) -> list[LedgerEntryPublic]:
    return [LedgerEntryPublic.model_validate(r) for r in rows]
