"""Typed on-chain data: ``NewType`` for wei, block numbers and job ids; ``Enum`` for statuses;
frozen dataclasses for the contracts' structs (field names follow the Solidity, in snake_case)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from eth_typing import ChecksumAddress

Wei = NewType("Wei", int)
BlockNumber = NewType("BlockNumber", int)
JobId = NewType("JobId", int)
Timestamp = NewType("Timestamp", int)
"""Chain time in seconds (``block.timestamp``)."""

ZERO_ADDRESS = ChecksumAddress("0x0000000000000000000000000000000000000000")  # type: ignore[arg-type]


class JobStatus(IntEnum):
    """``IJobMarket.JobStatus``, value for value."""

    NONE = 0
    OPEN = 1
    CLAIMED = 2
    COMMITTED = 3
    FINALIZED = 4
    CANCELLED = 5


@dataclass(frozen=True)
class Job:
    """``IJobMarket.Job``: one job as the contract stores it."""

    job_id: JobId
    submitter: ChecksumAddress
    reward: Wei
    solver: ChecksumAddress
    verifier_fee: Wei
    spec_hash: bytes
    num_segments: int
    checkpoint_every: int
    attempt: int
    solve_timeout: int
    sample_rate_bps: int
    open_disputes: int
    status: JobStatus
    deadline: Timestamp
    """Solve deadline while Claimed; end of the challenge window while Committed."""
    commitment: bytes
    commit_block: int = 0
    """Block of the commit (attester seed target = commitBlock + seedDelay)."""

    @property
    def steps(self) -> int:
        return self.num_segments * self.checkpoint_every

    @property
    def escrow(self) -> Wei:
        return Wei(self.reward + self.verifier_fee)


@dataclass(frozen=True)
class JobTerms:
    """``IJobMarket.JobTerms`` (``termsOf``): a job's price terms as they stand. ``cap`` is the job's
    current reward (the price, once claimed); a fixed price has ``floor == cap``, ``ramp`` 0 and
    ``ramp_start`` 0. ``min_finalized`` 0 admits any claimer."""

    floor: Wei
    cap: Wei
    ramp_start: Timestamp
    ramp: int
    min_finalized: int = 0

    @property
    def fixed(self) -> bool:
        return self.ramp == 0 or self.floor == self.cap


@dataclass(frozen=True)
class SolverRecord:
    """``IJobMarket.SolverRecord`` (``recordOf``): what a solver has done, for anyone to read."""

    finalized: int
    """Jobs and rounds units finalized."""
    value: Wei
    """Sum of the rewards paid for them."""
    frauds: int
    timeouts: int


class RoundsStatus(IntEnum):
    """``IRoundsMarket.RoundsStatus``, value for value."""

    NONE = 0
    RUNNING = 1
    FINISHED = 2
    CANCELLED = 3


@dataclass(frozen=True)
class RoundsJob:
    """``IRoundsMarket.RoundsJob``: a rounds job of W slots by R rounds (docs/ROUNDS.md)."""

    rounds_id: int
    submitter: ChecksumAddress
    spec_hash: bytes
    workers: int
    rounds: int
    quorum: int
    inner_steps: int
    checkpoint_every: int
    unit_reward: Wei
    unit_verifier_fee: Wei
    solve_timeout: int
    round_timeout: int
    sample_rate_bps: int
    round: int
    """The current round: open while Running, the last one reached otherwise."""
    round_deadline: Timestamp
    status: RoundsStatus

    @property
    def escrow(self) -> Wei:
        """What posting it escrows: W·R·(unit reward + unit verifier fee)."""
        return Wei(self.workers * self.rounds * (self.unit_reward + self.unit_verifier_fee))


@dataclass(frozen=True)
class Unit:
    """Unit (round, slot) of rounds job ``rounds_id``: one JobMarket job."""

    rounds_id: int
    round: int
    slot: int


@dataclass(frozen=True)
class StakeInfo:
    """``IStakeRegistry.StakeInfo``: all amounts in token wei."""

    staked: Wei
    locked: Wei
    unbonding: Wei
    unbonding_release_time: Timestamp

    @property
    def free(self) -> Wei:
        return Wei(self.staked - self.locked)


@dataclass(frozen=True)
class Commitment:
    """The trace commitment of one attempt, as posted in ``commitTrace`` (docs/PROTOCOL.md §4)."""

    state_root: bytes
    seg_roots_root: bytes
    final_state_hash: bytes
    manifest_hash: bytes
