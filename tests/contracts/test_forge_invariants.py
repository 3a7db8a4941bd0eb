"""The Forge invariant suite over the whole protocol holds, and each of its negative controls is caught.

``fuzz/`` holds a handler that drives the deployed contracts with random actors (issue #11
§2). Profile ``ci`` runs every invariant for at least 256 runs at depth 100 (``make fuzz`` runs the
deeper ``deep`` profile). Each negative control breaks the system in one way; the matching invariant
must fail on it, or the invariant could not fail at all. Forge comes from node_modules and compiles
offline through scripts/solc.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
FORGE = REPO_ROOT / "node_modules" / ".bin" / "forge"
INVARIANTS = {
    "invariant_tokenConservation()",
    "invariant_lockedWithinStake()",
    "invariant_nobodyPaidTwice()",
    "invariant_jobStateMachine()",
    "invariant_timeoutsReleaseAllEscrow()",
}
# control contract -> (the invariant it must break, a pattern of the failure it must report)
CONTROLS = {
    "ControlConservation": (
        "invariant_tokenConservation()",
        "JobMarket balance differs from its liabilities",
    ),
    "ControlLockedWithinStake": ("invariant_lockedWithinStake()", "locked stake exceeds stake"),
    "ControlNobodyPaidTwice": ("invariant_nobodyPaidTwice()", "more than it was credited"),
    "ControlJobStateMachine": ("invariant_jobStateMachine()", r"status [45] -> 1,"),
    "ControlTimeoutsReleaseAllEscrow": ("invariant_timeoutsReleaseAllEscrow()", "not terminal"),
}
MIN_RUNS = 256
MIN_DEPTH = 100


def run_forge(profile: str, *selection: str) -> dict[str, dict[str, Any]]:
    """Run ``forge test`` on ``selection`` (forge filter options) with ``profile``; return
    {contract name: {test signature: result}}."""
    assert FORGE.exists(), f"{FORGE} is missing: run `make setup` (npm ci installs Forge)"
    env = {**os.environ, "FOUNDRY_PROFILE": profile, "FOUNDRY_OFFLINE": "true"}
    done = subprocess.run(
        [str(FORGE), "test", *selection, "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1_200,
    )
    start = done.stdout.find("{")
    assert start >= 0, f"forge printed no JSON (exit {done.returncode}): {done.stderr[-2_000:]}"
    suites: dict[str, Any] = json.loads(done.stdout[start:])
    results: dict[str, dict[str, Any]] = {}
    for suite_id, suite in suites.items():
        results[suite_id.rsplit(":", 1)[-1]] = suite["test_results"]
    return results


def invariant_stats(result: dict[str, Any]) -> dict[str, int]:
    kind = result.get("kind", {})
    stats: dict[str, int] = kind.get("Invariant", {})
    return stats


def test_every_invariant_holds_for_256_runs_at_depth_100() -> None:
    results = run_forge("ci", "--match-path", "fuzz/*", "--no-match-path", "fuzz/controls/*")
    assert set(results) == {"ProtocolInvariantsTest", "HandlerPathsTest"}
    suite = results["ProtocolInvariantsTest"]
    assert set(suite) == INVARIANTS
    failures = {
        name: (r.get("reason"), r.get("counterexample"))
        for s in results.values()
        for name, r in s.items()
        if r["status"] != "Success"
    }
    assert not failures, f"violations: {failures}"
    for name in INVARIANTS:
        stats = invariant_stats(suite[name])
        assert stats["runs"] >= MIN_RUNS, f"{name}: {stats}"
        assert stats["calls"] >= MIN_RUNS * MIN_DEPTH, f"{name}: {stats}"
    # the handler's scripted paths (honest finalize, caught liar, every deep action reached) ran too
    assert all(r["status"] == "Success" for r in results["HandlerPathsTest"].values())
    assert len(results["HandlerPathsTest"]) >= 3


def test_each_negative_control_is_caught_by_its_invariant() -> None:
    results = run_forge("controls", "--match-path", "fuzz/controls/*")
    assert set(results) == set(CONTROLS)
    for control, (invariant, reason) in CONTROLS.items():
        outcome = results[control][invariant]
        assert outcome["status"] == "Failure", f"{control}: the broken system passed {invariant}"
        assert re.search(reason, outcome.get("reason") or ""), f"{control}: {outcome.get('reason')}"
