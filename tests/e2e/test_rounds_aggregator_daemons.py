"""The bonded outer-step aggregator end to end on Anvil (docs/ROUNDS.md, "Aggregator"): real
solvers train round 1 from the one published blob; a withholding liar costs only bytes (solvers
fall back to the full path) and loses its bond to the verifier that disproves it; exact balances
and a bit-for-bit replay of every unit."""

from __future__ import annotations

import hashlib

import pytest
from e2e_dispute_kit import FEE, REWARD, World
from eth_account.signers.local import LocalAccount
from market_kit import Market
from test_rounds import (
    LOCK,
    R,
    RoundsRun,
    W,
    check_books,
    new_world,
    pay_finalized_units,
    post_rounds,
    replay_every_unit,
    rounds_spec,
    settle,
)

from cli.rounds import rounds_grid
from node.chain.types import JobStatus
from node.rounds.aggregator import OuterAggregator

pytestmark = [pytest.mark.chain, pytest.mark.slow]

BURN = "0x000000000000000000000000000000000000dEaD"


def start(market: Market, dev: list[LocalAccount]) -> tuple[World, OuterAggregator, int]:
    """Three solvers, four verifiers; verifier v1 aggregates (with a bond's worth more stake)."""
    world = new_world(market, dev)
    bond = int(world.p.rounds_market.outer_bond())
    account = world.accounts["v1"]
    world.p.token.mint(account.address, bond)
    market.as_(account).stake(bond)
    node = world.verifiers["v1"]
    node.aggregator = OuterAggregator(node.protocol, world.store, node.gates)
    for k in (7, 8, 9):
        world.start_solver(world.add_solver(dev[k], LOCK))
    return world, node.aggregator, bond


def run_round_zero(world: World, run: RoundsRun) -> None:
    """Drive until round 0 closes, stopping at once (before anyone claims a round-1 unit)."""
    world.drive(lambda: run.round_closed(0), rounds=400, what="round 0 closed")


def parties_of(world: World, market: Market) -> set[str]:
    parties = {market.submitter.address} | {s.account.address for s in world.solvers}
    return parties | {a.address for a in world.accounts.values()}


def published_starts(world: World) -> set[int]:
    return {j for s in world.solvers if s.solver for j in s.solver.stats.published_starts}


def test_round_one_trains_from_the_published_outer_step(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world, aggregator, _ = start(market, dev_accounts)
    before = {a: world.wealth(a) for a in parties_of(world, market)}
    run = post_rounds(world, rounds_spec(world))
    run_round_zero(world, run)
    aggregator.tick()  # publishes (if its own node's pass did not) before solvers see round 1
    assert aggregator.published == [(run.rounds_id, 0)]
    published = world.p.rounds_market.outer_publication(run.rounds_id, 0)
    assert published is not None and published.publisher == world.accounts["v1"].address
    grid = rounds_grid(world.p, world.store, run.rounds_id)["grid"]  # `crowdtrain rounds show`
    assert grid[0]["outer"] == {
        "publisher": published.publisher,
        "outer_hash": published.outer_hash.hex(),
    }
    assert world.store.has("sha256:" + published.outer_hash.hex())
    world.drive(lambda: run.status() == "FINISHED", rounds=400, what="the rounds job finished")
    round_one = {run.unit_job(1, w) for w in range(W)}
    assert published_starts(world) == round_one  # each downloaded the one blob, none fell back

    market.advance(run.rm.get_rounds_job(run.rounds_id).round_timeout)
    settle(world)  # the aggregator's bond is released a round timeout after publishing
    assert aggregator.released == [(run.rounds_id, 0)]
    expected = dict.fromkeys(before, 0)
    expected[market.submitter.address] = -W * R * (REWARD + FEE)
    pay_finalized_units(world, run, expected)
    check_books(world, before, expected)  # also: nobody's stake is still locked
    replay_every_unit(world, run)


def test_a_withholding_liar_costs_bytes_only_and_is_disproved(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world, aggregator, bond = start(market, dev_accounts)
    world.verifiers["v1"].aggregator = None  # offline through round 0
    liar = world.market.as_(dev_accounts[2])
    world.p.token.mint(liar.address, bond)
    liar.stake(bond)
    before = {a: world.wealth(a) for a in parties_of(world, market) | {liar.address, BURN}}
    run = post_rounds(world, rounds_spec(world))
    run_round_zero(world, run)
    # the liar front-runs the honest aggregator with a blob it never serves and made-up states 0
    withheld = hashlib.sha256(b"never served").digest()
    lies = [hashlib.sha256(f"lie {w}".encode()).digest() for w in range(W)]
    liar.rounds_market.publish_outer(run.rounds_id, 0, withheld, lies)
    world.verifiers["v1"].aggregator = aggregator  # the honest aggregator comes online

    world.drive(lambda: run.status() == "FINISHED", rounds=400, what="the rounds job finished")
    assert published_starts(world) == set()  # every solver fell back to the full path
    assert all(
        world.p.market.get_job(run.unit_job(1, w)).status is JobStatus.FINALIZED for w in range(W)
    )
    assert aggregator.disproved == [(run.rounds_id, 0)]
    # had the disproof come while round 1 still ran, the honest aggregator republished: its bond is
    # released a round timeout later (either way no publication stands and no stake stays locked)
    market.advance(run.rm.get_rounds_job(run.rounds_id).round_timeout)
    settle(world)
    assert world.p.rounds_market.outer_publication(run.rounds_id, 0) is None

    expected = dict.fromkeys(before, 0)
    expected[market.submitter.address] = -W * R * (REWARD + FEE)
    expected[liar.address] = -bond
    expected[world.accounts["v1"].address] = bond // 2
    expected[BURN] = bond - bond // 2
    pay_finalized_units(world, run, expected)
    check_books(world, before, expected)
    replay_every_unit(world, run)
