"""``crowdtrain bench verify``: does sampling catch cheaters, at what verifier cost, and does
cheating pay, at the §9 defaults?

Runs the protocol's own segment assignment (``verifier.assignment``) over many random seeds for a
job of N = 500 segments. A cheater fakes a fraction f of the segments (which ones does not matter:
the seed is drawn after its commit); it is caught when any faked segment is assigned to an
attester (each replays its segments and challenges a mismatch, and the dispute game then convicts
the solver). Reported:

- detection rate vs sampleRate and f;
- verifier compute, all attesters together, as a fraction of the solver's: replayed steps over
  trained steps (both sides run the same step function and hash every state);
- the expected profit of the best cheating strategy, in units of the reward R, over the honest
  strategy: faking f saves ``f·C`` of compute but loses the reward and the lock ``L`` when caught,
  so the gain is ``f·C - p(f)·(R + L·(1 - j))``. C is the honest compute cost, taken at its worst
  case C = R (a solver would not work for less than its cost); L = max(minSolverStake, 2R) ≥ 2R,
  taken at 2R. j = jackpotBps: the best strategy includes a sybil of the cheater that opens an
  availability claim (or front-runs the challenge commit) the moment it is caught and so collects
  the jackpot of its own slash, which the contracts cannot tell from an honest claimant. Only
  attesters are counted; voluntary challengers make cheating worse still.
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
JACKPOT_SHARE = DeploymentParams().jackpot_bps / BPS  # recovered by the cheater's sybil
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
    profits = {}
    for faked in range(1, SEGMENTS + 1):
        p = _exact_detection(sampled, faked)
        f = faked / SEGMENTS
        profits[faked] = f * COST_OVER_REWARD - p * (1 + LOCK_OVER_REWARD * (1 - JACKPOT_SHARE))
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
        "best_cheat_fraction": best / SEGMENTS,
        "detection_vs_sample_rate": table,
        "verifier_cost_vs_sample_rate": costs,
        "assumptions": {
            "lock_over_reward": LOCK_OVER_REWARD,
            "jackpot_recovered_by_cheater": JACKPOT_SHARE,
            "solver_cost_over_reward": COST_OVER_REWARD,
        },
    }
