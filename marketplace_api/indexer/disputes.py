"""Projections of ``DisputeGame`` and ``Jury`` events: the dispute row, its moves, the panels and
votes. Every event of a dispute becomes a ``DisputeMove`` with the role that made it (read from
the protocol's rules, e.g. ``chooseRange`` is the challenger's), so the timeline needs no RPC."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import (
    ChallengeCommit,
    Dispute,
    DisputeMove,
    JuryPanel,
    JuryVote,
)
from marketplace_api.indexer import ledger
from marketplace_api.indexer.attestations import attestation_of
from marketplace_api.indexer.projections_base import ZERO_ADDRESS, Handler, account_row, add_wei
from marketplace_api.indexer.records import EventRecord
from marketplace_api.models import Job
from node.chain.dispute_types import DisputeKind, DisputeOutcome, Target


def _name(value: int, kind: type[DisputeKind] | type[DisputeOutcome] | type[Target]) -> str:
    try:
        return kind(value).name.lower()
    except ValueError:
        return str(value)


def _dispute(session: Session, r: EventRecord) -> Dispute | None:
    dispute = session.get(Dispute, int(r.args["dispute_id"]))
    if dispute is not None:
        dispute.updated_block = r.block_number
    return dispute


def _move(session: Session, r: EventRecord, role: str, actor: str | None) -> None:
    session.add(
        DisputeMove(
            dispute_id=int(r.args["dispute_id"]),
            name=r.name,
            contract=r.contract,
            actor=actor,
            role=role,
            block_number=r.block_number,
            log_index=r.log_index,
            tx_hash=r.tx_hash,
            block_time=r.block_time,
            args=dict(r.args),
        )
    )


def _party_move(role: str) -> Handler:
    """A move by the solver or the challenger of the dispute."""

    def handle(session: Session, r: EventRecord) -> None:
        dispute = _dispute(session, r)
        actor = None if dispute is None else getattr(dispute, role)
        _move(session, r, role, actor)
        if dispute is not None:
            _advance(session, dispute, r)

    return handle


def _advance(session: Session, d: Dispute, r: EventRecord) -> None:
    """The phase change a move makes (IDisputeGame.Phase)."""
    a = r.args
    if r.name == "SegmentOpened":
        job = session.get(Job, d.job_id)
        d.seg_root = a["seg_root"]
        d.lo, d.hi = 0, job.checkpoint_every if job is not None else None
        d.phase = "propose"
    elif r.name == "SplitProposed":
        d.phase = "choose"
    elif r.name == "RangeChosen":
        d.lo, d.hi = int(a["lo"]), int(a["hi"])
        d.phase = "confirm" if d.hi - d.lo == 1 else "propose"
    elif r.name == "InitialStateOpened":
        d.phase = "jury"


def challenge_committed(session: Session, r: EventRecord) -> None:
    a = r.args
    if session.get(ChallengeCommit, int(a["commit_seq"])) is None:
        session.add(
            ChallengeCommit(
                commit_seq=int(a["commit_seq"]),
                hash=a["hash"],
                challenger=a["challenger"],
                block_number=r.block_number,
                log_index=r.log_index,
                tx_hash=r.tx_hash,
                block_time=r.block_time,
            )
        )
        session.flush()


def _link_commit(session: Session, dispute_id: int, seq: int) -> None:
    """The revealed challenge's sealed commit becomes the first move of its dispute."""
    commit = session.get(ChallengeCommit, seq)
    if commit is None:  # an availability claim: its sequence number was taken at opening
        return
    commit.dispute_id = dispute_id
    session.add(
        DisputeMove(
            dispute_id=dispute_id,
            name="ChallengeCommitted",
            contract="DisputeGame",
            actor=commit.challenger,
            role="challenger",
            block_number=commit.block_number,
            log_index=commit.log_index,
            tx_hash=commit.tx_hash,
            block_time=commit.block_time,
            args={"hash": commit.hash, "challenger": commit.challenger, "commit_seq": seq},
        )
    )


def dispute_opened(session: Session, r: EventRecord) -> None:
    a = r.args
    kind = _name(int(a["kind"]), DisputeKind)
    session.add(
        Dispute(
            dispute_id=int(a["dispute_id"]),
            job_id=int(a["job_id"]),
            attempt=int(a["attempt"]),
            kind=kind,
            target=_name(int(a["target"]), Target),
            segment=int(a["segment"]),
            challenger=a["challenger"],
            solver=a["solver"],
            bond=str(a["bond"]),
            commit_seq=int(a["commit_seq"]) if "commit_seq" in a else None,
            phase="jury" if kind == "availability" else "opening",
            outcome="none",
            winner_paid="0",
            jury_fees="0",
            burned="0",
            opened_block=r.block_number,
            opened_tx=r.tx_hash,
            opened_at=r.block_time,
            updated_block=r.block_number,
        )
    )
    account_row(session, a["challenger"], r.block_number).challenges += 1
    if "commit_seq" in a:
        _link_commit(session, int(a["dispute_id"]), int(a["commit_seq"]))
    _move(session, r, "challenger", a["challenger"])


def step_pinned(session: Session, r: EventRecord) -> None:
    dispute = _dispute(session, r)
    role = "challenger" if dispute is not None and dispute.kind == "availability" else "solver"
    _move(session, r, role, None if dispute is None else getattr(dispute, role))
    if dispute is not None:
        dispute.phase = "jury"
        dispute.pinned_step = int(r.args["step"])
        dispute.hash_before = r.args["hash_before"]
        dispute.hash_after = r.args["hash_after"]


def dispute_timed_out(session: Session, r: EventRecord) -> None:
    _move(session, r, "anyone", None)
    if (dispute := _dispute(session, r)) is not None:
        dispute.timed_out = r.args["party"]


def dispute_resolved(session: Session, r: EventRecord) -> None:
    a = r.args
    _move(session, r, "protocol", None)
    if (d := _dispute(session, r)) is None:
        return
    d.phase = "resolved"
    d.outcome = _name(int(a["outcome"]), DisputeOutcome)
    d.winner = None if a["winner"] == ZERO_ADDRESS else a["winner"]
    d.winner_paid, d.jury_fees, d.burned = (
        str(a[k]) for k in ("winner_paid", "jury_fees", "burned")
    )
    d.resolved_block, d.resolved_tx, d.resolved_at = r.block_number, r.tx_hash, r.block_time
    if d.outcome == "challenger_wrong":
        ledger.slash(session, r, d.challenger, "bond", int(d.bond), d.job_id, d.dispute_id)


def jackpot_shared(session: Session, r: EventRecord) -> None:
    """An open challenge of a convicted segment ends with an equal share of the jackpot; the share
    is credited by the convicting dispute's ``reopenJob`` (see ``ledger``)."""
    _move(session, r, "protocol", r.args["challenger"])
    if (d := _dispute(session, r)) is not None:
        d.convicted_by = int(r.args["convicted_by"])


def juror_slashed(session: Session, r: EventRecord) -> None:
    juror, amount = r.args["juror"], int(r.args["amount"])
    _move(session, r, "protocol", juror)
    dispute = _dispute(session, r)
    vote = session.scalars(
        select(JuryVote)
        .where(JuryVote.dispute_id == int(r.args["dispute_id"]), JuryVote.voter == juror)
        .order_by(JuryVote.round.desc())
    ).first()
    if vote is not None:
        vote.slashed = add_wei(vote.slashed, amount)
    job_id = dispute.job_id if dispute is not None else None
    ledger.slash(session, r, juror, "juror", amount, job_id, int(r.args["dispute_id"]))


def attesters_slashed(session: Session, r: EventRecord) -> None:
    _move(session, r, "protocol", None)
    if (d := _dispute(session, r)) is None:
        return
    for attester, amount in zip(r.args["attesters"], r.args["amounts"], strict=True):
        row = attestation_of(session, d.job_id, d.attempt, attester)
        if row is not None:
            row.slashed = add_wei(row.slashed, int(amount))
        ledger.slash(session, r, attester, "attester", int(amount), d.job_id, d.dispute_id)


# --- Jury ---


def _vote(session: Session, dispute_id: int, round_: int, voter: str, role: str) -> JuryVote:
    vote = session.get(JuryVote, (dispute_id, round_, voter))
    if vote is None:
        vote = JuryVote(
            dispute_id=dispute_id,
            round=round_,
            voter=voter,
            role=role,
            committed=False,
            revealed=False,
            fee="0",
            slashed="0",
        )
        session.add(vote)
        session.flush()
    return vote


def _role_of(session: Session, dispute_id: int, voter: str) -> str:
    dispute = session.get(Dispute, dispute_id)
    if dispute is not None and voter == dispute.solver:
        return "solver"
    if dispute is not None and voter == dispute.challenger:
        return "challenger"
    return "juror"


def jury_drawn(session: Session, r: EventRecord) -> None:
    a = r.args
    dispute_id, round_ = int(a["dispute_id"]), int(a["round"])
    _move(session, r, "anyone", None)
    _dispute(session, r)
    if session.get(JuryPanel, (dispute_id, round_)) is None:
        session.add(
            JuryPanel(
                dispute_id=dispute_id,
                round=round_,
                requested=int(a["requested"]),
                drawn=int(a["drawn"]),
                jurors=list(a["jurors"]),
                drawn_block=r.block_number,
            )
        )
    for juror in a["jurors"]:
        _vote(session, dispute_id, round_, juror, "juror")
        account_row(session, juror, r.block_number)


def _latest_panel(session: Session, dispute_id: int) -> JuryPanel | None:
    return session.scalars(
        select(JuryPanel)
        .where(JuryPanel.dispute_id == dispute_id)
        .order_by(JuryPanel.round.desc())
        .limit(1)
    ).first()


def jury_salt_recorded(session: Session, r: EventRecord) -> None:
    _move(session, r, "anyone", None)
    if (panel := _latest_panel(session, int(r.args["dispute_id"]))) is not None:
        panel.salt = r.args["salt"]
        panel.commit_deadline = int(r.args["commit_deadline"])
        panel.reveal_deadline = int(r.args["reveal_deadline"])


def vote_committed(session: Session, r: EventRecord) -> None:
    dispute_id, voter = int(r.args["dispute_id"]), r.args["voter"]
    role = _role_of(session, dispute_id, voter)
    _move(session, r, role, voter)
    _dispute(session, r)
    vote = _vote(session, dispute_id, int(r.args["round"]), voter, role)
    vote.committed, vote.committed_block = True, r.block_number


def vote_revealed(session: Session, r: EventRecord) -> None:
    dispute_id, voter = int(r.args["dispute_id"]), r.args["voter"]
    role = _role_of(session, dispute_id, voter)
    _move(session, r, role, voter)
    _dispute(session, r)
    vote = _vote(session, dispute_id, int(r.args["round"]), voter, role)
    vote.revealed, vote.revealed_block, vote.digest = True, r.block_number, r.args["digest"]


def jury_tied(session: Session, r: EventRecord) -> None:
    _move(session, r, "protocol", None)
    panel = session.get(JuryPanel, (int(r.args["dispute_id"]), int(r.args["round"])))
    if panel is not None:
        panel.tied_next_size = int(r.args["next_size"])


def jury_decided(session: Session, r: EventRecord) -> None:
    _move(session, r, "protocol", None)
    if (dispute := _dispute(session, r)) is not None:
        dispute.jury_verdict = "solver_wrong" if r.args["solver_wrong"] else "challenger_wrong"


def _plain_move(role: str) -> Handler:
    def handle(session: Session, r: EventRecord) -> None:
        _move(session, r, role, None)
        _dispute(session, r)

    return handle


DISPUTE_HANDLERS: dict[str, Handler] = {
    "ChallengeCommitted": challenge_committed,
    "DisputeOpened": dispute_opened,
    "SegmentOpened": _party_move("solver"),
    "InitialStateOpened": _party_move("solver"),
    "SplitProposed": _party_move("solver"),
    "RangeChosen": _party_move("challenger"),
    "StepPinned": step_pinned,
    "DisputeTimedOut": dispute_timed_out,
    "DisputeResolved": dispute_resolved,
    "JackpotShared": jackpot_shared,
    "JurorSlashed": juror_slashed,
    "AttestersSlashed": attesters_slashed,
    "JurySeedMoved": _plain_move("anyone"),
    "JuryWaiting": _plain_move("anyone"),
    "JuryNotSeated": _plain_move("anyone"),
    "JuryDrawn": jury_drawn,
    "JurySaltRecorded": jury_salt_recorded,
    "VoteCommitted": vote_committed,
    "VoteRevealed": vote_revealed,
    "JuryTied": jury_tied,
    "JuryDecided": jury_decided,
}
