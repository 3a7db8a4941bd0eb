"""``crowdtrain bench gas --json``: every action measured, the happy path under the bar."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_gas_bench_json() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "bench", "gas", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {
        "actions", "happy_path_total", "bar", "attestation_actions", "dispute_actions",
        "dispute_total", "max_bisection_move", "rounds",
    }  # fmt: skip
    assert result["dispute_total"] == sum(result["dispute_actions"].values()) <= 2_500_000
    assert result["max_bisection_move"] <= 150_000
    actions = result["actions"]
    for name in ("stake", "postJob", "claimJob", "commitTrace", "finalizeJob", "withdraw",
                 "cancelJob", "reclaimTimedOut", "requestUnstake"):  # fmt: skip
        assert actions[name] > 21_000
    happy = ("postJob", "claimJob", "commitTrace", "finalizeJob", "withdraw")
    assert result["happy_path_total"] == sum(actions[name] for name in happy)
    assert result["bar"] == 400_000
    assert result["happy_path_total"] <= result["bar"]
    # rounds jobs (issue 13): a unit's share of the gates plus its own happy path stays under the
    # single job's from the `bench rounds` shape (W=4, R=8) on; tiny jobs pay the fixed costs
    rounds = result["rounds"]
    assert set(rounds) == {"W3xR2", "W3xR4", "W4xR8"}
    for shape in rounds.values():
        own = sum(
            shape["actions"][a] for a in ("claimJob", "commitTrace", "finalizeJob", "withdraw")
        )
        assert shape["gas_per_unit"] > own // 32 > 0
    assert rounds["W4xR8"]["gas_per_unit"] <= result["happy_path_total"]
    assert rounds["W3xR4"]["gas_per_unit"] <= result["happy_path_total"]
