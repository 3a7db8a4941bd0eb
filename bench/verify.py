"""``crowdtrain bench verify``: does sampling catch cheaters, at what verifier cost, and does
cheating pay, at the default parameters (docs/PROTOCOL.md §8)?

Runs the protocol's own segment assignment (``verifier.assignment``) over many random seeds for a
job of N = 500 segments. A cheater fakes a fraction f of the segments (which ones does not matter:
the seed is drawn after its commit); it is caught when any faked segment is assigned to an
attester (each replays its segments and challenges a mismatch, and the dispute game then convicts
the solver). Reported:

- detection rate vs sampleRate and f;
- verifier compute, all attesters together, as a fraction of the solver's: replayed steps over
  trained steps (both sides run the same step function and hash every state);
- the blanket-sybil strategy (issue 11, docs/DISPUTES.md "Jackpot"): the cheater's sybil
  commits a challenge for every segment at the commit block and, once caught, reveals ``k`` of them
  on the caught segment beside the honest challenger. A conviction splits the jackpot
  ``J = jackpotBps·(L - jury fees)`` equally among the open challenges of the segment and every
  revealed challenge burns its fee ``c = challengeFeeBps·bond``; the sybil picks the k (0..31) that
  maximises its recovery ``k·J/(k+1) - k·c``. Reported: the honest challenger's profit
  ``J/(k+1) - c - (replay of one segment)`` and the cheater's recovery, both in units of R, for
  each k and at the sybil's best k;
- the expected profit of the best cheating strategy, in units of the reward R, over the honest
  strategy: faking f saves ``f·C`` of compute but loses the reward and the lock ``L`` when caught,
  less what its sybil recovers, so the gain is ``f·C - p(f)·(R + L - recovery)``. C is the honest
  compute cost, taken at its worst case C = R (a solver would not work for less than its cost);
  L = max(minSolverStake, 2R) ≥ 2R, taken at 2R. ``max_cheat_profit`` charges the cheater the
  recovery of the blanket sybil; ``max_cheat_profit_whole_jackpot`` the old worst case, a sybil that
  recovers the whole jackpot. Only attesters are counted; voluntary challengers make cheating worse
  still.
"""

from __future__ import annotations

import os
import random
from math import comb

from node.chain.deploy import DeploymentParams
from verifier.assignment import BPS, assigned_segments, sampled_segments

SEGMENTS = 500
ATTESTERS = 3
SAMPLE_RATE_BPS = 1_000
LOCK_OVER_REWARD = 2.0
_PARAMS = DeploymentParams()
JACKPOT_SHARE = _PARAMS.jackpot_bps / BPS
JURY_FEES_OVER_REWARD = _PARAMS.jury_size * _PARAMS.juror_fee_bps / BPS
BOND_OVER_REWARD = 0.1  # max(minChallengeBond, R / 10), taken at R / 10
CHALLENGE_FEE_OVER_REWARD = BOND_OVER_REWARD * _PARAMS.challenge_fee_bps / BPS
MAX_OPEN_PER_SEGMENT = 32  # DisputeGame: the honest challenger takes one slot
SYBIL_COUNTS = (0, 1, 2, 3, 5, 10, 31)
COST_OVER_REWARD = 1.0
RATES_BPS = (200, 500, 1_000, 1_500, 2_000)
FRACTIONS = (0.002, 0.01, 0.05, 0.1, 0.2)


def _draws(trials: int, rate_bps: int, rng: random.Random) -> list[set[int]]:
    return [
        {
            s
            for segs in assigned_segments(rng.randbytes(32), SEGMENTS, rate_bps, ATTESTERS)
            for s in segs
        }
        for _ in range(trials)
    ]


def _cost(rate_bps: int) -> float:
    """Replayed over trained steps: S segments of K steps each (all attesters), against N·K."""
    return sampled_segments(SEGMENTS, rate_bps, ATTESTERS) / SEGMENTS


def _detection(draws: list[set[int]], faked: int) -> float:
    cheat = set(range(1, faked + 1))
    return sum(1 for d in draws if d & cheat) / len(draws)


def _exact_detection(sampled: int, faked: int) -> float:
    """Hypergeometric P(at least one faked segment among `sampled` distinct ones)."""
    return 1 - comb(SEGMENTS - faked, sampled) / comb(SEGMENTS, sampled)


def _jackpot() -> float:
    """J in units of R: jackpotBps of the lock after the jury fees (a jury of the default size)."""
    return JACKPOT_SHARE * (LOCK_OVER_REWARD - JURY_FEES_OVER_REWARD)


def sybil_split(sybils: int) -> tuple[float, float]:
    """(honest challenger's profit, cheater's recovery) in units of R when the cheater's sybil
    holds ``sybils`` of the open challenges of the caught segment beside one honest challenger."""
    jackpot, fee = _jackpot(), CHALLENGE_FEE_OVER_REWARD
    share = jackpot / (sybils + 1)
    replay = COST_OVER_REWARD / SEGMENTS  # the honest challenger replays the segment
    return share - fee - replay, sybils * (share - fee)


def best_sybil_count() -> int:
    """The sybil's k that maximises the cheater's recovery (0: no sybil at all)."""
    return max(range(MAX_OPEN_PER_SEGMENT), key=lambda k: sybil_split(k)[1])


def run_verify_bench(*, trials: int = 1_000, seed: int | None = None) -> dict[str, object]:
    rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8), "big"))
    table: dict[str, dict[str, float]] = {}
    costs: dict[str, float] = {}
    default_draws: list[set[int]] = []
    for rate in RATES_BPS:
        draws = _draws(trials, rate, rng)
        if rate == SAMPLE_RATE_BPS:
            default_draws = draws
        costs[f"{rate / BPS:.2f}"] = round(_cost(rate), 4)
        table[f"{rate / BPS:.2f}"] = {
            f"f={f}": round(_detection(draws, round(f * SEGMENTS)), 4) for f in FRACTIONS
        }
    sampled = sampled_segments(SEGMENTS, SAMPLE_RATE_BPS, ATTESTERS)
    sybils = best_sybil_count()
    honest_profit, recovery = sybil_split(sybils)
    profits, whole_jackpot = {}, {}
    for faked in range(1, SEGMENTS + 1):
        p = _exact_detection(sampled, faked)
        f = faked / SEGMENTS
        profits[faked] = f * COST_OVER_REWARD - p * (1 + LOCK_OVER_REWARD - recovery)
        whole_jackpot[faked] = f * COST_OVER_REWARD - p * (1 + LOCK_OVER_REWARD - _jackpot())
    best = max(profits, key=lambda k: profits[k])
    key = f"{SAMPLE_RATE_BPS / BPS:.2f}"
    return {
        "segments": SEGMENTS,
        "attesters": ATTESTERS,
        "sample_rate": SAMPLE_RATE_BPS / BPS,
        "trials_per_rate": trials,
        "segments_sampled": sampled,
        "detection_at_f10": _detection(default_draws, round(0.1 * SEGMENTS)),
        "detection_at_f10_exact": round(_exact_detection(sampled, round(0.1 * SEGMENTS)), 6),
        "verifier_cost_fraction": costs[key],
        "max_cheat_profit": round(profits[best], 4),
        "max_cheat_profit_whole_jackpot": round(max(whole_jackpot.values()), 4),
        "best_cheat_fraction": best / SEGMENTS,
        "sybil_challenges_best": sybils,
        "honest_challenger_profit_vs_sybil": round(honest_profit, 4),
        "cheater_recovery_vs_sybil": round(recovery, 4),
        "blanket_sybil_vs_k": {
            f"k={k}": {
                "honest_challenger_profit": round(sybil_split(k)[0], 4),
                "cheater_recovery": round(sybil_split(k)[1], 4),
            }
            for k in SYBIL_COUNTS
        },
        "detection_vs_sample_rate": table,
        "verifier_cost_vs_sample_rate": costs,
        "assumptions": {
            "lock_over_reward": LOCK_OVER_REWARD,
            "jackpot_over_reward": round(_jackpot(), 4),
            "challenge_fee_over_reward": CHALLENGE_FEE_OVER_REWARD,
            "solver_cost_over_reward": COST_OVER_REWARD,
        },
    }
