"""Rounds jobs as nodes see them (docs/ROUNDS.md): which unit a JobMarket job is, and the unit's
state 0 resolved from committed chain data and the blob store.

Solvers, verifiers and jurors all call ``expected_initial_state``: one function, so the state a
solver trains from is the state its verifiers check and its jurors recompute.
"""

from node.rounds.gates import GateMove, RoundGates, RoundView, gate_moves
from node.rounds.inputs import (
    UnitRef,
    committed_unit_states,
    expected_initial_state,
    job_session,
    resolve_round_inputs,
    unit_of_job,
)

__all__ = [
    "GateMove",
    "RoundGates",
    "RoundView",
    "UnitRef",
    "committed_unit_states",
    "expected_initial_state",
    "gate_moves",
    "job_session",
    "resolve_round_inputs",
    "unit_of_job",
]
