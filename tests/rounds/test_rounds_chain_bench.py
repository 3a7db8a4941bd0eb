"""``bench rounds``'s chain figures on a fresh Anvil: every unit's transactions counted, the gate
wait at least the devnet's challenge window plus reveal phase."""

from __future__ import annotations

import pytest

from bench.gas_rounds import UNIT_ACTIONS
from bench.rounds_chain import run_rounds_chain_bench
from node.chain.deploy import DeploymentParams

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_gas_per_unit_and_gate_wait_of_a_small_rounds_job() -> None:
    figures = run_rounds_chain_bench(workers=2, rounds=2)
    gas = figures["gas_by_action"]
    assert all(gas[name] > 0 for name in ("postRoundsJob", "closeRound", *UNIT_ACTIONS))
    assert figures["gas_per_unit"] == sum(gas.values()) // 4
    assert figures["gas_per_round"] == sum(gas.values()) // 2
    params = DeploymentParams()
    assert figures["gate_wait_s_per_round"] == params.challenge_window + params.reveal_phase + 1
    assert figures["single_job_happy_path"] > 0
