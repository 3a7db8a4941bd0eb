"""Helpers of the RoundsMarket tests: post a rounds job, solve and finalize its units (docs/ROUNDS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol_kit import CHALLENGE_WINDOW, ETHER, REVEAL_PHASE
from protocol_world import SPEC_HASH, Trace, World
from web3.types import TxReceipt

UNIT_REWARD = 10 * ETHER
UNIT_FEE = 2 * ETHER
UNIT = UNIT_REWARD + UNIT_FEE
INNER_STEPS, CHECKPOINT_EVERY = 32, 4  # N = 8 segments per unit
SOLVE_TIMEOUT = 3_600
ROUND_TIMEOUT = 7_200  # >= solve timeout + challenge window + reveal phase
SAMPLE_RATE_BPS = 1_000


class Rounds:
    """``IRoundsMarket.RoundsStatus``."""

    NONE, RUNNING, FINISHED, CANCELLED = 0, 1, 2, 3


@dataclass(frozen=True)
class RoundsJob:
    """``IRoundsMarket.RoundsJob`` in field order."""

    submitter: str
    spec_hash: bytes
    workers: int
    rounds: int
    quorum: int
    inner_steps: int
    checkpoint_every: int
    unit_reward: int
    unit_verifier_fee: int
    solve_timeout: int
    round_timeout: int
    sample_rate_bps: int
    round: int
    round_deadline: int
    status: int


def post_args(
    *,
    workers: int = 3,
    rounds: int = 2,
    quorum: int = 2,
    round_timeout: int = ROUND_TIMEOUT,
    inner_steps: int = INNER_STEPS,
    unit_reward: int = UNIT_REWARD,
    sample_rate_bps: int = SAMPLE_RATE_BPS,
    unit_floor: int | None = None,
    unit_ramp: int = 0,
    unit_min_finalized: int = 0,
) -> tuple[Any, ...]:
    """postRoundsJob's arguments; the unit price terms default to a fixed price (floor = reward)."""
    floor = unit_reward if unit_floor is None else unit_floor
    return (
        SPEC_HASH,
        workers,
        rounds,
        quorum,
        inner_steps,
        CHECKPOINT_EVERY,
        unit_reward,
        UNIT_FEE,
        SOLVE_TIMEOUT,
        round_timeout,
        sample_rate_bps,
        (floor, unit_ramp, unit_min_finalized),
    )


def post_rounds(world: World, submitter: str, **kw: Any) -> tuple[int, TxReceipt]:
    """Fund and approve exactly the escrow W·R·(reward + fee), post; return the id and receipt."""
    args = post_args(**kw)
    escrow = args[1] * args[2] * (args[6] + args[7])
    world.fund(submitter, escrow)
    world.send(world.token.functions.approve(world.rounds.address, escrow), submitter)
    receipt = world.send(world.rounds.functions.postRoundsJob(*args), submitter)
    return int(world.rounds.functions.roundsJobCount().call()), receipt


def rounds_job(world: World, rounds_id: int) -> RoundsJob:
    return RoundsJob(*world.rounds.functions.getRoundsJob(rounds_id).call())


def units(world: World, rounds_id: int, round_: int) -> list[int]:
    """Job ids of the round's units, slot order."""
    workers = rounds_job(world, rounds_id).workers
    return [
        int(world.rounds.functions.unitJob(rounds_id, round_, w).call()) for w in range(workers)
    ]


def claim(world: World, job_id: int, solver: str) -> None:
    """Stake the unit's lock for ``solver`` and claim the unit."""
    world.stake(solver, int(world.market.functions.solverLockOf(job_id).call()))
    world.send(world.market.functions.claimJob(job_id), solver)


def solve(world: World, job_id: int, solver: str, tag: str = "") -> Trace:
    """Claim and commit a valid trace for the unit's current attempt."""
    claim(world, job_id, solver)
    job = world.job(job_id)
    trace = Trace.make(job_id, job.attempt, job.num_segments, tag)
    world.send(world.market.functions.commitTrace(*trace.args(job_id)), solver)
    return trace


def finalize(world: World, *job_ids: int) -> None:
    """Wait out the challenge window and reveal phase of the latest commit, finalize each unit."""
    world.advance(CHALLENGE_WINDOW + REVEAL_PHASE + 1)
    for job_id in job_ids:
        world.send(world.market.functions.finalizeJob(job_id), world.owner)


def close(world: World, rounds_id: int) -> list[tuple[str, dict[str, Any]]]:
    """Close (or reopen) the current round; the decoded logs of the transaction."""
    return world.logs(world.send(world.rounds.functions.closeRound(rounds_id), world.owner))


def rounds_events(logs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    names = {
        "RoundsJobPosted",
        "RoundOpened",
        "RoundClosed",
        "RoundReopened",
        "RoundsJobFinished",
        "RoundsJobCancelled",
    }
    return [(name, args) for name, args in logs if name in names]
