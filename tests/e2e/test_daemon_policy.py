"""The solver daemon's claim policy on a real chain (issue 15, part 3): a daemon with a small memory
limit leaves a job that does not fit and claims one that does; two daemons with different price
minimums on one auction ramp: the cheaper one wins, at the contract's offer of its claim's block.
No training: each test stops at the claim."""

from __future__ import annotations

import logging

import pytest
from e2e_dispute_kit import FEE, REWARD, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market, json_line

from node.chain.events import JobClaimed
from node.chain.poller import EventPoller
from node.chain.pricing import offer_at, price_per_pflop, time_to_offer
from node.chain.types import JobStatus
from node.solver.capability import Capability, format_memory_size
from node.solver.daemon import Solver
from node.solver.policy import ClaimPolicy, claim_flops, min_offer_wei
from node.storage import LocalBlobStore
from node.training.estimate import estimate_job
from node.training.spec import JobSpec, parse_spec

pytestmark = [pytest.mark.chain]

FAST = {"repro-v1": 1e12, "native": 1e12}
"""Throughput of the test daemons: far above what the tiny jobs need (the time rule is not what these
tests are about; tests/solver/test_claim_policy.py covers it)."""


def _post(market: Market, spec: JobSpec, **terms: int) -> int:
    posted = market.as_(market.submitter).post_job(
        spec_hash=spec.spec_hash(),
        steps=spec.steps,
        checkpoint_every=spec.checkpoint_every,
        reward=REWARD,
        verifier_fee=FEE,
        solve_timeout=600,
        sample_rate_bps=1_000,
        **terms,
    )
    return int(posted.job_id)


def _variant(store: LocalBlobStore, base: JobSpec, **changes: object) -> JobSpec:
    spec = parse_spec({**base.model_dump(mode="json"), **changes})
    store.put(spec.canonical_json())
    return spec


def _daemon(
    market: Market,
    account: LocalAccount,
    store: LocalBlobStore,
    *,
    capability: Capability,
    policy: ClaimPolicy = ClaimPolicy(),
) -> Solver:
    """A staked solver daemon of ``account`` with its own data folder."""
    market.deployer.token.mint(account.address, 3 * REWARD)
    proto = market.as_(account)
    proto.stake(3 * REWARD)
    return Solver(
        proto,
        store,
        market.root / f"solver-{account.address[:8]}",
        capability=capability,
        policy=policy,
    )


def test_a_daemon_leaves_a_job_its_memory_cannot_hold_and_claims_one_it_can(
    market: Market, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalBlobStore(market.root / "blobs")
    small = tiny_spec(store)
    wide = _variant(store, small, model={"architecture": "mlp", "hidden": [8192, 8192, 8192]})
    stated = _variant(store, small, requirements={"min_memory_bytes": 1 << 40})
    need_small = estimate_job(small).peak_memory_bytes["repro-v1"]
    limit = 2 * need_small
    assert estimate_job(wide).peak_memory_bytes["repro-v1"] > limit
    daemon = _daemon(market, market.solver, store, capability=Capability("cpu", limit, FAST))

    too_wide, too_demanding = _post(market, wide), _post(market, stated)
    with caplog.at_level(logging.INFO, logger="crowdtrain.solver"):
        assert not daemon.tick()
        assert not daemon.tick()  # left at this attempt: not judged or logged again
    skips = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping job")]
    assert len(skips) == 2, skips
    assert skips[0].startswith(f"skipping job {too_wide} (attempt 0): needs ")
    assert skips[0].endswith(f" of memory, this node has {format_memory_size(limit)}")
    assert skips[1] == (
        f"skipping job {too_demanding} (attempt 0): needs 1.0 TiB of memory, "
        f"this node has {format_memory_size(limit)}"
    )

    veterans_only = _post(market, small, min_finalized=1)
    fits = _post(market, small)
    with caplog.at_level(logging.INFO, logger="crowdtrain.solver"):
        assert daemon.tick()
    assert daemon.stats.claimed == [fits]
    assert (
        f"skipping job {veterans_only} (attempt 0): needs a record of 1 finalized, ours is 0"
        in caplog.messages
    )
    p = market.deployer
    assert p.market.get_job(fits).status is JobStatus.CLAIMED
    assert p.market.get_job(fits).solver == market.solver.address
    for left in (too_wide, too_demanding, veterans_only):
        assert p.market.get_job(left).status is JobStatus.OPEN


def test_two_daemons_on_one_ramp_the_cheaper_claims_at_its_price(
    market: Market, dev_accounts: list[LocalAccount], caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalBlobStore(market.root / "blobs")
    spec = tiny_spec(store)
    flops = claim_flops(spec, estimate_job(spec))
    floor, cap, ramp = REWARD // 4, REWARD, 1_000
    # minimums worth 40% and 70% of the cap: the offer crosses them at 200 s and 600 s
    cheap_policy = ClaimPolicy(min_price_per_pflop=price_per_pflop(2 * REWARD // 5, flops / 1e15))
    dear_policy = ClaimPolicy(min_price_per_pflop=price_per_pflop(7 * REWARD // 10, flops / 1e15))
    roomy = Capability("cpu", 1 << 34, FAST)
    cheap = _daemon(market, market.solver, store, capability=roomy, policy=cheap_policy)
    dear = _daemon(market, dev_accounts[9], store, capability=roomy, policy=dear_policy)
    p = market.deployer
    job_id = _post(market, spec, floor=floor, ramp=ramp)
    terms = p.market.terms_of(job_id)
    assert (terms.floor, terms.cap, terms.ramp) == (floor, cap, ramp)
    cheap_target = min_offer_wei(cheap_policy, flops)
    cheap_from = time_to_offer(floor, cap, terms.ramp_start, ramp, cheap_target)
    assert cheap_from is not None and abs(cheap_from - terms.ramp_start - 200) <= 1  # float minimum
    credit = p.market.credit_of(market.submitter.address)
    assert p.registry.stake_of(market.solver.address).locked == 0

    with caplog.at_level(logging.INFO, logger="crowdtrain.solver"):
        assert not dear.tick() and not cheap.tick()  # both wait: the offer is near the floor
        _mine_at(market, cheap_from - 1)
        assert not dear.tick() and not cheap.tick()  # one second short of the cheap one's minimum
        _mine_at(market, cheap_from)
        assert not dear.tick()  # still below the dear one's minimum
        assert cheap.tick()  # the cheap one claims
    assert cheap.stats.claimed == [job_id] and dear.stats.claimed == []
    # each logged its wait once, until the exact second its minimum is offered
    dear_from = time_to_offer(floor, cap, terms.ramp_start, ramp, min_offer_wei(dear_policy, flops))
    assert [m for m in caplog.messages if m.startswith("skipping job")] == [
        f"skipping job {job_id} (attempt 0): offer below our minimum "
        f"{policy.min_price_per_pflop:.6g} per PFLOP until t={until}"
        for policy, until in ((dear_policy, dear_from), (cheap_policy, cheap_from))
    ]

    (claim,) = [
        event
        for event in EventPoller(
            market.w3, [p.market], start_block=p.deployment.deployment_block
        ).poll()
        if isinstance(event, JobClaimed)
    ]
    claimed_at = int(market.w3.eth.get_block(claim.block_number)["timestamp"])
    price = offer_at(floor, cap, terms.ramp_start, ramp, claimed_at)
    assert claim.solver == market.solver.address and claim.price == price
    assert cheap_target <= price < min_offer_wei(dear_policy, flops)
    job = p.market.get_job(job_id)
    assert job.status is JobStatus.CLAIMED and job.reward == price
    assert p.market.credit_of(market.submitter.address) == credit + cap - price
    assert p.registry.stake_of(market.solver.address).locked == max(
        p.market.min_solver_stake(), 2 * price
    )
    assert not dear.tick()  # nothing left to claim


def _mine_at(market: Market, timestamp: int) -> None:
    market.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
    market.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_the_cli_shows_requirements_and_runs_a_daemon_within_its_memory_limit(
    market: Market,
) -> None:
    store = LocalBlobStore(market.root / "blobs")  # the CLI users' blob folder
    plain = tiny_spec(store)
    gpu = _variant(store, plain, requirements={"device": "cuda", "min_memory_bytes": 8 << 30})
    plain_id, gpu_id = _post(market, plain), _post(market, gpu)

    shown = market.cli(None, "job", "status", str(gpu_id)).stdout
    assert "requirements      cuda, >= 8.0 GiB memory" in shown.splitlines()
    data = json_line(market.cli(None, "job", "status", str(gpu_id), "--json").stdout)
    assert data["requirements"] == {"device": "cuda", "min_memory_bytes": 8 << 30}
    listed = market.cli(None, "job", "list").stdout.splitlines()
    assert listed[1:] == [
        line
        for job_id, text in ((plain_id, "any device, memory from the estimate"),
                             (gpu_id, "cuda, >= 8.0 GiB memory"))
        for line in (
            f"{job_id:>5}  open       {'100 CROWD':>22}  0x0000000000000000000000000000000000000000",
            f"{'':>5}  requires {text}",
        )
    ]  # fmt: skip

    bad = market.cli(market.solver, "solver", "run", "--memory-limit", "8 gigs", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "error: --memory-limit: expected bytes or a size such as 8GiB, 512MiB or 16GB, got '8 gigs'"
    )

    bad = market.cli(market.solver, "solver", "run", "--min-price-per-pflop", "-1", check=False)
    assert (bad.returncode, bad.stderr.strip()) == (
        1,
        "error: --min-price-per-pflop: min price per PFLOP must be a finite number >= 0, got -1.0",
    )

    market.as_(market.solver).stake(3 * REWARD)
    ran = market.cli(market.solver, "solver", "run", "--memory-limit", "1KiB", "--max-seconds", "3")
    out = ran.stdout + ran.stderr
    assert "capability: cpu, 1.0 KiB memory" in out
    for job_id in (plain_id, gpu_id):
        assert out.count(f"skipping job {job_id} (attempt 0): ") == 1, out
        assert market.deployer.market.get_job(job_id).status is JobStatus.OPEN
    assert f"skipping job {gpu_id} (attempt 0): needs a cuda device, this node trains on cpu" in out
    assert "claimed [], committed []" in out


def test_a_job_wanting_a_record_is_claimed_once_the_daemon_has_earned_it(market: Market) -> None:
    store = LocalBlobStore(market.root / "blobs")
    spec = tiny_spec(store)
    daemon = _daemon(market, market.solver, store, capability=Capability("cpu", 1 << 34, FAST))
    p = market.deployer
    veterans_only, first = _post(market, spec, min_finalized=1), _post(market, spec)

    assert daemon.tick() and daemon.stats.claimed == [first]  # the newcomer takes the open one
    assert daemon.tick() and daemon.stats.committed == [first]  # trains it and commits
    market.advance(p.market.challenge_window() + p.market.reveal_phase() + 1)
    while not daemon.stats.finalized:  # finalize, then collect
        assert daemon.tick()
    assert p.market.record_of(market.solver.address).finalized == 1

    assert daemon.tick()  # its record now admits it: judged again, claimed
    assert daemon.stats.claimed == [first, veterans_only]
    assert p.market.get_job(veterans_only).solver == market.solver.address
