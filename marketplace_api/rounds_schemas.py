"""Public API models of rounds jobs (docs/ROUNDS.md): the rounds-by-slots grid and the loss per round.

Wei amounts are decimal strings, like every other API model.
"""

from __future__ import annotations

from marketplace_api.schemas import _Public


class RoundsJobPublic(_Public):
    rounds_id: int
    status: str
    submitter: str
    spec_hash: str
    spec_address: str
    workers: int
    rounds: int
    quorum: int
    unit_reward: str
    unit_verifier_fee: str
    escrow: str
    """``workers · rounds · (unit_reward + unit_verifier_fee)``, what posting escrowed."""
    current_round: int
    refund: str
    posted_block: int
    posted_tx: str
    updated_block: int


class RoundsPage(_Public):
    items: list[RoundsJobPublic]
    total: int
    limit: int
    offset: int


class UnitPublic(_Public):
    """One cell of the grid: unit (round, slot), an ordinary JobMarket job."""

    slot: int
    job_id: int
    status: str
    """The unit job's state (``open``, ``claimed``, ``committed``, ``finalized``, ``cancelled``);
    ``unposted`` when the indexer has not seen the job yet."""
    solver: str | None
    attempt: int
    attestations: int
    """Attesters that revealed an attestation of the current attempt."""
    disputes: int
    convicted: list[str]
    """Solvers of this unit convicted of fraud (their lock slashed, the unit reopened)."""
    included: bool | None
    """Whether the round's outer step used this unit; None while the round is open."""
    loss: float | None
    """The final training loss of the committed trace (from its manifest, when the API holds it)."""
    validation_loss: float | None


class RoundPublic(_Public):
    round: int
    status: str
    first_job_id: int
    deadline: int
    reopened: int
    included: list[int]
    loss: float | None
    """Mean final loss of the included units (of the committed units while the round is open)."""
    validation_loss: float | None
    units: list[UnitPublic]


class RoundsJobDetail(RoundsJobPublic):
    grid: list[RoundPublic]
    """One row per opened round, in round order; each row's units in slot order."""
