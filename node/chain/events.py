"""Typed contract events: one frozen dataclass per event, fields in the contract's words (snake_case).

Every event carries where it happened (``block_number``, ``log_index``, ``tx_hash``), so a poller can
order them and a daemon can remember how far it has read.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from web3.types import EventData

from node.chain.types import BlockNumber, JobId, Timestamp, Wei


@dataclass(frozen=True)
class ChainEvent:
    block_number: BlockNumber
    log_index: int
    tx_hash: str

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


# --- JobMarket ---


@dataclass(frozen=True)
class JobPosted(ChainEvent):
    job_id: JobId
    submitter: ChecksumAddress
    spec_hash: bytes
    reward: Wei
    verifier_fee: Wei
    steps: int
    checkpoint_every: int
    solve_timeout: int
    sample_rate_bps: int


@dataclass(frozen=True)
class JobCancelled(ChainEvent):
    job_id: JobId


@dataclass(frozen=True)
class JobClaimed(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    attempt: int
    locked_stake: Wei
    solve_deadline: Timestamp
    price: Wei
    """The auction's offer at the claim: the job's reward from then on (docs/MARKET.md)."""


@dataclass(frozen=True)
class JobCommitted(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    attempt: int
    state_root: bytes
    seg_roots_root: bytes
    final_state_hash: bytes
    manifest_hash: bytes
    challenge_deadline: Timestamp


@dataclass(frozen=True)
class JobSolveTimedOut(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    burned: Wei
    new_attempt: int


@dataclass(frozen=True)
class JobFinalized(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    reward: Wei
    refund: Wei


@dataclass(frozen=True)
class JobFrozen(ChainEvent):
    job_id: JobId
    open_disputes: int


@dataclass(frozen=True)
class JobUnfrozen(ChainEvent):
    job_id: JobId
    open_disputes: int
    extension: int
    challenge_deadline: Timestamp


@dataclass(frozen=True)
class JobReopened(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    paid: Wei
    burned: Wei
    new_attempt: int


@dataclass(frozen=True)
class JobAborted(ChainEvent):
    """A Dataset availability claim was upheld: the solver is released and the job reopens."""

    job_id: JobId
    solver: ChecksumAddress
    fees_paid: Wei
    new_attempt: int


@dataclass(frozen=True)
class Credited(ChainEvent):
    account: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class CreditWithdrawn(ChainEvent):
    account: ChecksumAddress
    amount: Wei


JOB_MARKET_EVENTS: dict[str, type[ChainEvent]] = {
    cls.__name__: cls
    for cls in (
        JobPosted,
        JobCancelled,
        JobClaimed,
        JobCommitted,
        JobSolveTimedOut,
        JobFinalized,
        JobFrozen,
        JobUnfrozen,
        JobReopened,
        JobAborted,
        Credited,
        CreditWithdrawn,
    )
}

# --- RoundsMarket (docs/ROUNDS.md) ---


@dataclass(frozen=True)
class RoundsJobPosted(ChainEvent):
    rounds_id: int
    submitter: ChecksumAddress
    spec_hash: bytes
    workers: int
    rounds: int
    quorum: int
    unit_reward: Wei
    unit_verifier_fee: Wei


@dataclass(frozen=True)
class RoundOpened(ChainEvent):
    """Unit (round, w) is job ``first_job_id + w``; the round may close after ``deadline``."""

    rounds_id: int
    round: int
    first_job_id: JobId
    deadline: Timestamp


@dataclass(frozen=True)
class RoundClosed(ChainEvent):
    """Bit w of ``included_mask``: unit (round, w) was final at the close (the outer step's set)."""

    rounds_id: int
    round: int
    included_mask: int

    @property
    def included_slots(self) -> list[int]:
        return slots_of_mask(self.included_mask)


@dataclass(frozen=True)
class RoundReopened(ChainEvent):
    rounds_id: int
    round: int
    deadline: Timestamp


@dataclass(frozen=True)
class RoundsJobFinished(ChainEvent):
    rounds_id: int


@dataclass(frozen=True)
class RoundsJobCancelled(ChainEvent):
    rounds_id: int
    refund: Wei


ROUNDS_MARKET_EVENTS: dict[str, type[ChainEvent]] = {
    cls.__name__: cls
    for cls in (
        RoundsJobPosted,
        RoundOpened,
        RoundClosed,
        RoundReopened,
        RoundsJobFinished,
        RoundsJobCancelled,
    )
}


def slots_of_mask(mask: int) -> list[int]:
    """The slots whose bit is set, in increasing order (the outer step's summation order)."""
    return [w for w in range(mask.bit_length()) if mask >> w & 1]


# --- StakeRegistry ---


@dataclass(frozen=True)
class Staked(ChainEvent):
    account: ChecksumAddress
    amount: Wei
    total_staked: Wei


@dataclass(frozen=True)
class UnstakeRequested(ChainEvent):
    account: ChecksumAddress
    amount: Wei
    release_time: Timestamp


@dataclass(frozen=True)
class Withdrawn(ChainEvent):
    account: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class StakeLocked(ChainEvent):
    account: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class StakeUnlocked(ChainEvent):
    account: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class StakeSlashed(ChainEvent):
    account: ChecksumAddress
    amount: Wei
    recipient: ChecksumAddress


@dataclass(frozen=True)
class StakeBurned(ChainEvent):
    account: ChecksumAddress
    amount: Wei


STAKE_REGISTRY_EVENTS: dict[str, type[ChainEvent]] = {
    cls.__name__: cls
    for cls in (
        Staked,
        UnstakeRequested,
        Withdrawn,
        StakeLocked,
        StakeUnlocked,
        StakeSlashed,
        StakeBurned,
    )
}

# --- CrowdToken ---


@dataclass(frozen=True)
class Transfer(ChainEvent):
    sender: ChecksumAddress
    recipient: ChecksumAddress
    value: Wei


TOKEN_EVENTS: dict[str, type[ChainEvent]] = {"Transfer": Transfer}
_RENAMED = {"from": "sender", "to": "recipient"}

# --- decoding ---

E = TypeVar("E", bound=ChainEvent)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """``segRootsRoot`` → ``seg_roots_root``, ``jobId`` → ``job_id``."""
    return _RENAMED.get(name) or _CAMEL.sub("_", name).lower()


def event_from_data(cls: type[E], data: EventData) -> E:
    """Build the dataclass from web3's decoded log; an unexpected field set raises TypeError."""
    fields: dict[str, Any] = {snake(k): _plain(v) for k, v in data["args"].items()}
    fields["block_number"] = BlockNumber(int(data["blockNumber"]))
    fields["log_index"] = int(data["logIndex"])
    fields["tx_hash"] = "0x" + bytes(data["transactionHash"]).hex()
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in fields.items() if k in names})


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytes) else value
