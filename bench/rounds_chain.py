"""The chain figures of ``crowdtrain bench rounds``: ``gas_per_unit`` and ``gate_wait_share``.

A rounds job of W slots by R rounds runs on a fresh Anvil with the devnet's deployment parameters
(challenge window, reveal phase), through ``bench.gas_rounds``' happy path (every unit claimed,
committed with a valid final-state proof over synthetic hashes, finalized after its window,
withdrawn; each round closed). Gas of every transaction is read from its receipt:

* ``gas_per_unit``: (``postRoundsJob`` + every ``closeRound`` + each unit's ``claimJob``,
  ``commitTrace``, ``finalizeJob`` and the solver's ``withdraw``) / (W·R), next to the single-job
  happy path (post, claim, commit, finalize, withdraw) measured on the same chain
  (``single_job_happy_path``): the issue's target is ``gas_per_unit`` ≤ that.
* ``gate_wait_share``: a round cannot start before the previous round's units are final, so each
  round waits, after its last commit, for the challenge window and the reveal phase (at the
  devnet's window: the earliest ``finalizeJob`` and so ``closeRound`` can run). Units of a round train
  in parallel on W machines, so a round's wall time is one unit's training time plus that wait;
  the share is wait / (train + wait), with the unit's training time measured by the offline bench
  (its rounds run's seconds / (W·R), every unit on this machine).
"""

from __future__ import annotations

from typing import Any

from bench.gas import _Bench
from bench.gas_rounds import UNIT_ACTIONS, _run_rounds_job
from node.chain.anvil import start_anvil
from node.chain.client import connect
from node.chain.deploy import DeploymentParams, deploy_protocol
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.units import CROWD


def run_rounds_chain_bench(workers: int, rounds: int) -> dict[str, Any]:
    """Gas per unit and per round of a W x R rounds job (``bench.gas_rounds``' happy path), the
    single-job happy path beside it, and the chain seconds each round waits on its gate: the
    earliest a round can close after its last commit, the devnet's challenge window plus reveal
    phase (finalize is valid strictly after), which is what that happy path waits."""
    anvil = start_anvil()
    try:
        w3 = connect(anvil.rpc_url)
        decoder = project_decoder()
        deployer = dev_account(0)
        params = DeploymentParams()
        deployment = deploy_protocol(TxSender(w3, deployer, decoder), params)
        owner = Protocol.from_deployment(w3, deployment, deployer, decoder=decoder)
        single = _Bench(owner)
        for party in (single.submitter, single.solver):
            owner.token.mint(party.address, 1_000_000 * CROWD)
        single.solver.token.approve(single.solver.registry.address, 2**256 - 1)
        single.solver.registry.stake(10_000 * CROWD)
        single.submitter.token.approve(single.submitter.market.address, 2**256 - 1)
        single.submitter.token.approve(single.submitter.rounds_market.address, 2**256 - 1)
        single.happy_path(measure=False)  # warm-up: first writes of the market's slots
        single.happy_path(measure=True)
        _run_rounds_job(single.submitter, single.solver, 2, 1)  # warm-up of the rounds market
        spent = _run_rounds_job(single.submitter, single.solver, workers, rounds)
        total = sum(spent.values())
        assert set(UNIT_ACTIONS) <= set(spent)
        return {
            "gas_per_unit": total // (workers * rounds),
            "gas_per_round": total // rounds,
            "gas_by_action": spent,
            "single_job_happy_path": sum(single.actions.values()),
            "gate_wait_s_per_round": params.challenge_window + params.reveal_phase + 1,
        }
    finally:
        anvil.stop()


def add_chain_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Fill ``bench rounds``'s chain keys (``bench.rounds.CHAIN_KEYS``) in ``report``."""
    config = report["config"]
    workers, rounds = int(config["workers"]), int(config["rounds"])
    chain = run_rounds_chain_bench(workers, rounds)
    unit_train_s = float(report["seconds"]["rounds"]) / (workers * rounds)
    wait = float(chain["gate_wait_s_per_round"])
    report.update(
        gas_per_unit=chain["gas_per_unit"],
        gate_wait_share=round(wait / (unit_train_s + wait), 4),
        chain={
            **{k: v for k, v in chain.items() if k != "gas_per_unit"},
            "unit_train_s": round(unit_train_s, 3),
        },
    )
    return report
