"""Keyword-only queries over the verification projections: attestations, disputes with their moves
and juries, and the per-account payout and slash ledgers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import (
    Attestation,
    Dispute,
    DisputeMove,
    JuryPanel,
    JuryVote,
    Payout,
    Slash,
)

OUTCOMES = ("none", "solver_wrong", "challenger_wrong", "void")


def job_attestations(session: Session, *, job_id: int) -> Sequence[Attestation]:
    return session.scalars(
        select(Attestation)
        .where(Attestation.job_id == job_id)
        .order_by(Attestation.attempt, Attestation.draw_index)
    ).all()


def list_disputes(
    session: Session,
    *,
    job_id: int | None = None,
    kind: str | None = None,
    phase: str | None = None,
    outcome: str | None = None,
    account: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
) -> tuple[Sequence[Dispute], int]:
    """A page of disputes and the total matching the filters; ``account`` is either party."""
    query = select(Dispute)
    for column, value in (
        (Dispute.job_id, job_id),
        (Dispute.kind, kind),
        (Dispute.phase, phase),
        (Dispute.outcome, outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if account is not None:
        query = query.where(or_(Dispute.challenger == account, Dispute.solver == account))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = Dispute.dispute_id.desc() if newest_first else Dispute.dispute_id.asc()
    rows = session.scalars(query.order_by(order).limit(limit).offset(offset)).all()
    return rows, int(total or 0)


def get_dispute(session: Session, *, dispute_id: int) -> Dispute | None:
    return session.get(Dispute, dispute_id)


def moves_of(session: Session, dispute_ids: Iterable[int]) -> dict[int, list[DisputeMove]]:
    """Every move of the given disputes, in chain order, by dispute id."""
    ids = list(dispute_ids)
    found: dict[int, list[DisputeMove]] = defaultdict(list)
    if ids:
        for move in session.scalars(
            select(DisputeMove)
            .where(DisputeMove.dispute_id.in_(ids))
            .order_by(DisputeMove.block_number, DisputeMove.log_index)
        ):
            found[move.dispute_id].append(move)
    return found


def panels_of(session: Session, *, dispute_id: int) -> list[tuple[JuryPanel, Sequence[JuryVote]]]:
    panels = session.scalars(
        select(JuryPanel).where(JuryPanel.dispute_id == dispute_id).order_by(JuryPanel.round)
    ).all()
    return [
        (
            panel,
            session.scalars(
                select(JuryVote)
                .where(JuryVote.dispute_id == dispute_id, JuryVote.round == panel.round)
                .order_by(JuryVote.role.desc(), JuryVote.voter)
            ).all(),
        )
        for panel in panels
    ]


def ledger(
    session: Session,
    *,
    account: str | None = None,
    dispute_id: int | None = None,
) -> tuple[Sequence[Payout], Sequence[Slash]]:
    """Payouts and slashes of one account or one dispute, in chain order."""
    payouts = select(Payout)
    slashes = select(Slash)
    if account is not None:
        payouts = payouts.where(Payout.account == account)
        slashes = slashes.where(Slash.account == account)
    if dispute_id is not None:
        payouts = payouts.where(Payout.dispute_id == dispute_id)
        slashes = slashes.where(Slash.dispute_id == dispute_id)
    return (
        session.scalars(payouts.order_by(Payout.block_number, Payout.log_index)).all(),
        session.scalars(slashes.order_by(Slash.block_number, Slash.log_index)).all(),
    )


def breakdowns(
    session: Session, addresses: Sequence[str]
) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """(earnings by kind, slashes by kind) per address, summed exactly in Python (wei strings)."""
    sums: dict[str, tuple[dict[str, int], dict[str, int]]] = {
        a: (defaultdict(int), defaultdict(int)) for a in addresses
    }
    if addresses:
        for payout in session.scalars(select(Payout).where(Payout.account.in_(addresses))):
            sums[payout.account][0][payout.kind] += int(payout.amount)
        for cut in session.scalars(select(Slash).where(Slash.account.in_(addresses))):
            sums[cut.account][1][cut.kind] += int(cut.amount)
    return {
        a: ({k: str(v) for k, v in e.items()}, {k: str(v) for k, v in s.items()})
        for a, (e, s) in sums.items()
    }


def dispute_stats(session: Session) -> dict[str, object]:
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    for outcome, count in session.execute(
        select(Dispute.outcome, func.count()).group_by(Dispute.outcome)
    ):
        by_outcome[str(outcome)] = int(count)
    revealed = session.scalar(
        select(func.count()).select_from(Attestation).where(Attestation.revealed.is_(True))
    )
    return {
        "disputes_total": sum(by_outcome.values()),
        "disputes_by_outcome": by_outcome,
        "attestations_revealed": int(revealed or 0),
    }
