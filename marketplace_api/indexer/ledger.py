"""Per-account payouts and slashes, classified by why they happened.

``Credited`` says only who got how much. Why follows from the event that started the payout in
the same transaction (the latest ``JobFinalized``, ``DisputeResolved`` or ``JobCancelled`` before
it), and the order the contracts credit in: finalize pays the solver's reward, then each attester
``fee * valid segments``, then the submitter's refund; a resolution pays the jurors' fees, then the
winner (its jackpot share, or the bond share of a solver), then the submitter's compensation, then
the equal jackpot share of every other open challenge of the convicted segment (``JackpotShared``
names them before the convicting ``DisputeResolved``). A ``StakeBurned`` of a dispute's challenger
after its ``DisputeResolved`` is its challenge fee. The context is
read from the ``events`` table, which holds this transaction's earlier logs both while indexing
(autoflush) and while replaying after a reorg.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import Attestation, Dispute, JuryVote, Payout, Slash
from marketplace_api.indexer.projections_base import add_wei
from marketplace_api.indexer.records import EventRecord
from marketplace_api.models import Account, Event, Job

CONTEXTS = ("JobFinalized", "DisputeResolved", "JobCancelled", "RoundsJobCancelled")
NOT_EARNINGS = ("refund", "other")
"""Payout kinds that do not count as ``earned`` (a refund is the submitter's own money)."""


def _context(session: Session, r: EventRecord) -> Event | None:
    return session.scalars(
        select(Event)
        .where(
            Event.tx_hash == r.tx_hash,
            Event.log_index < r.log_index,
            Event.name.in_(CONTEXTS),
        )
        .order_by(Event.log_index.desc())
        .limit(1)
    ).first()


def classify_credit(session: Session, r: EventRecord, account: Account) -> None:
    """Record one ``Credited`` as a payout of its kind; earnings also raise ``account.earned``."""
    who, amount = r.args["account"], int(r.args["amount"])
    context = _context(session, r)
    kind, job_id, dispute_id = "other", None, None
    if context is not None and context.name == "JobFinalized":
        job_id = context.job_id
        kind = _finalize_kind(session, context, who, amount)
    elif context is not None and context.name == "DisputeResolved":
        dispute_id = int(context.args["dispute_id"])
        dispute = session.get(Dispute, dispute_id)
        if dispute is not None:
            job_id = dispute.job_id
            kind = _resolution_kind(session, dispute, who, amount)
    elif context is not None and context.name == "JobCancelled":
        job_id, kind = context.job_id, "refund"
    elif context is not None and context.name == "RoundsJobCancelled":
        kind = "refund"  # RoundsMarket's refund of the rounds never opened (docs/ROUNDS.md)
    session.add(
        Payout(
            account=who,
            kind=kind,
            amount=str(amount),
            job_id=job_id,
            dispute_id=dispute_id,
            block_number=r.block_number,
            log_index=r.log_index,
            tx_hash=r.tx_hash,
        )
    )
    if kind not in NOT_EARNINGS:
        account.earned = add_wei(account.earned, amount)


def _finalize_kind(session: Session, context: Event, who: str, amount: int) -> str:
    args = context.args
    paid_before = session.scalars(
        select(Payout).where(Payout.tx_hash == context.tx_hash, Payout.kind == "reward")
    ).first()
    if who == args["solver"] and amount == int(args["reward"]) and paid_before is None:
        return "reward"
    job = session.get(Job, context.job_id) if context.job_id is not None else None
    if job is not None:
        row = session.scalars(
            select(Attestation).where(
                Attestation.job_id == job.job_id,
                Attestation.attempt == job.attempt,
                Attestation.attester == who,
                Attestation.valid_segments > 0,
                Attestation.paid == "0",
            )
        ).first()
        if row is not None:
            row.paid = str(amount)
            return "attestation_fee"
        if who == job.submitter:
            return "refund"
    return "other"


def _resolution_kind(session: Session, dispute: Dispute, who: str, amount: int) -> str:
    vote = session.scalars(
        select(JuryVote)
        .where(
            JuryVote.dispute_id == dispute.dispute_id,
            JuryVote.voter == who,
            JuryVote.role == "juror",
            JuryVote.fee == "0",
        )
        .order_by(JuryVote.round.desc())
    ).first()
    if vote is not None:
        vote.fee = str(amount)
        return "jury_fee"
    if who == dispute.winner and amount == int(dispute.winner_paid):
        return "jackpot" if dispute.outcome == "solver_wrong" else "bond_share"
    if _unpaid_share(session, dispute, who, amount):
        return "jackpot"
    job = session.get(Job, dispute.job_id)
    if job is not None and who == job.submitter:
        return "compensation"
    return "other"


def _unpaid_share(session: Session, dispute: Dispute, who: str, amount: int) -> bool:
    """Whether ``who`` holds a challenge that shared ``dispute``'s conviction for ``amount`` and
    more such shares than jackpot payouts already booked to it in this transaction."""
    shares = session.scalars(
        select(Dispute).where(
            Dispute.convicted_by == dispute.dispute_id,
            Dispute.challenger == who,
            Dispute.winner_paid == str(amount),
        )
    ).all()
    if not shares:
        return False
    paid = session.scalars(
        select(Payout).where(
            Payout.tx_hash == dispute.resolved_tx,
            Payout.account == who,
            Payout.kind == "jackpot",
            Payout.amount == str(amount),
        )
    ).all()
    winner_paid = 1 if who == dispute.winner and amount == int(dispute.winner_paid) else 0
    return len(paid) - winner_paid < len(shares)


def challenge_fee(session: Session, r: EventRecord) -> None:
    """``StakeBurned`` of a challenge's challenger after its ``DisputeResolved`` (the latest in the
    transaction) is its challenge fee, except that a lost challenge first burns the bond's own
    burned share (``burned`` of the resolution, when not 0), which the "bond" slash already counts."""
    burned_from, amount = r.args["account"], int(r.args["amount"])
    resolved = session.scalars(
        select(Event)
        .where(
            Event.tx_hash == r.tx_hash,
            Event.log_index < r.log_index,
            Event.name == "DisputeResolved",
        )
        .order_by(Event.log_index.desc())
        .limit(1)
    ).first()
    if resolved is None:
        return
    dispute = session.get(Dispute, int(resolved.args["dispute_id"]))
    if (
        dispute is None
        or dispute.kind == "availability"
        or dispute.challenger != burned_from
        or dispute.challenge_fee != "0"
    ):
        return
    earlier = session.scalars(
        select(Event).where(
            Event.tx_hash == r.tx_hash,
            Event.log_index > resolved.log_index,
            Event.log_index < r.log_index,
            Event.name == "StakeBurned",
        )
    ).all()
    burns_before = sum(1 for e in earlier if e.args.get("account") == burned_from)
    bond_burn = dispute.outcome == "challenger_wrong" and int(dispute.burned) > 0
    if burns_before == (1 if bond_burn else 0):
        dispute.challenge_fee = str(amount)
        slash(session, r, burned_from, "challenge_fee", amount, dispute.job_id, dispute.dispute_id)


def slash(
    session: Session,
    r: EventRecord,
    account: str,
    kind: str,
    amount: int,
    job_id: int | None = None,
    dispute_id: int | None = None,
) -> None:
    """Record stake ``account`` lost (the registry's own events keep ``accounts.slashed``)."""
    if amount <= 0:
        return
    session.add(
        Slash(
            account=account,
            kind=kind,
            amount=str(amount),
            job_id=job_id if job_id is not None else r.job_id,
            dispute_id=dispute_id,
            block_number=r.block_number,
            log_index=r.log_index,
            tx_hash=r.tx_hash,
        )
    )


def fraud_slash(session: Session, r: EventRecord) -> None:
    """``JobReopened``: the solver's whole lock went (``paid`` credited + ``burned``)."""
    context = _context(session, r)
    dispute_id = (
        int(context.args["dispute_id"])
        if context is not None and context.name == "DisputeResolved"
        else None
    )
    amount = int(r.args["paid"]) + int(r.args["burned"])
    slash(session, r, r.args["solver"], "fraud", amount, r.job_id, dispute_id)
