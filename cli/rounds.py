"""``crowdtrain rounds``: post, watch, close and cancel rounds jobs (docs/ROUNDS.md).

A rounds job is ``W`` slots times ``R`` rounds of units, each an ordinary JobMarket job posted by
RoundsMarket; posting escrows ``W·R·(unit reward + unit verifier fee)`` at once. Like ``job
submit``, every check that can fail (spec, blobs, amounts, balance, allowance, the contract's own
validation through a dry run) runs before the first transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.chain_cmds import PrivateKeyOption, RpcUrlOption, fail, open_protocol, parse_amount
from cli.jobs import BlobDirOption, JsonOption, _crowd, _store, check_spec_inputs
from cli.price_terms import (
    FloorOption,
    MinRecordOption,
    RampOption,
    describe_terms,
    parse_price_terms,
    terms_json,
)

if TYPE_CHECKING:
    from node.chain.protocol import Protocol
    from node.chain.types import RoundsJob
    from node.storage import BlobStore

app = typer.Typer(help="Post, watch, close and cancel rounds jobs.", no_args_is_help=True)


@app.command("post")
def post(
    spec_path: Path = typer.Argument(
        ..., help="Rounds job spec (JSON or TOML, with a rounds section)."
    ),
    unit_reward: str = typer.Option(..., help="Reward per unit (one slot, one round), CROWD."),
    unit_verifier_fee: str = typer.Option("0", help="Verifier fee per unit, CROWD."),
    solve_timeout: int = typer.Option(
        3600, help="Seconds a solver has from claiming a unit to commit."
    ),
    round_timeout: int = typer.Option(
        7200, help="Seconds a round may run before it closes with a quorum or reopens."
    ),
    floor: str | None = FloorOption,
    ramp: int = RampOption,
    min_record: int = MinRecordOption,
    approve: bool = typer.Option(
        True, help="Approve the escrow first (--no-approve: use the existing allowance)."
    ),
    blob_dir: Path | None = BlobDirOption,
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate SPEC, store it as a blob, escrow W·R·(unit reward + unit verifier fee) and post
    the rounds job; round 0's W units are posted with it."""
    from node.training.spec import load_spec

    spec = load_spec(spec_path)
    if spec.rounds is None:
        fail(f"{spec_path} has no rounds section: post a single job with `crowdtrain job submit`")
    reward_wei = parse_amount(unit_reward, "unit reward")
    fee_wei = parse_amount(unit_verifier_fee, "unit verifier fee", allow_zero=True)
    terms = parse_price_terms(reward_wei, floor, ramp, min_record)  # per unit, each round
    store = _store(blob_dir)
    check_spec_inputs(spec, store)
    protocol = open_protocol(rpc_url, private_key)
    rounds_market = protocol.rounds_market
    me = protocol.address
    units = spec.rounds.workers * spec.rounds.rounds
    escrow = units * (reward_wei + fee_wei)
    balance = protocol.token.balance_of(me)
    if balance < escrow:
        fail(
            f"balance of {me} is {_crowd(balance)}, less than the escrow {_crowd(escrow)} "
            f"({units} units x {_crowd(reward_wei + fee_wei)})"
        )
    allowance = protocol.token.allowance(me, rounds_market.address)
    if not approve and allowance < escrow:
        fail(
            f"allowance of RoundsMarket is {_crowd(allowance)}, less than the escrow "
            f"{_crowd(escrow)} (drop --no-approve to approve it)"
        )
    args: dict[str, Any] = {
        "spec_hash": spec.spec_hash(),
        "workers": spec.rounds.workers,
        "rounds": spec.rounds.rounds,
        "quorum": spec.rounds.quorum,
        "inner_steps": spec.steps,
        "checkpoint_every": spec.checkpoint_every,
        "unit_reward": reward_wei,
        "unit_verifier_fee": fee_wei,
        "solve_timeout": solve_timeout,
        "round_timeout": round_timeout,
        "sample_rate_bps": round(spec.sample_rate * 10_000),
        **{f"unit_{key}": value for key, value in terms.items()},
    }
    _dry_run_post(protocol, args)
    address = store.put(spec.canonical_json())
    posted = protocol.post_rounds_job(**args)
    rounds_id = posted.rounds_id
    if as_json:
        typer.echo(
            json.dumps(
                {"rounds_id": rounds_id, "spec": address, "escrow": str(escrow)}
                | terms_json(reward_wei, terms)
            )
        )
    else:
        typer.echo(
            f"posted rounds job {rounds_id} (W={spec.rounds.workers}, R={spec.rounds.rounds}, "
            f"spec {address}), escrowed {_crowd(escrow)}{describe_terms(reward_wei, terms)}"
        )


def _dry_run_post(protocol: Protocol, args: dict[str, Any]) -> None:
    """postRoundsJob as an eth_call first: the contract's own checks reject a bad rounds job
    before the approval transaction. A missing allowance is expected here and is not an error."""
    from node.chain.rounds_market import post_rounds_args
    from node.errors import TransactionRevertedError

    try:
        protocol.rounds_market.call_as(protocol.address, "postRoundsJob", *post_rounds_args(**args))
    except TransactionRevertedError as err:
        if "Allowance" not in (err.error_name or ""):
            raise


@app.command("show")
def show(
    rounds_id: int = typer.Argument(..., help="Rounds job id."),
    blob_dir: Path | None = BlobDirOption,
    rpc_url: str | None = RpcUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """The rounds-by-slots grid from the chain: each unit's job id, solver, state, revealed
    attestations, disputes (convicted solvers) and final loss (from its committed manifest, when
    the blob store holds it); the mean loss of each round's included units."""
    protocol = open_protocol(rpc_url, None, signer=False)
    data = rounds_grid(protocol, _store(blob_dir), rounds_id)
    if as_json:
        typer.echo(json.dumps(data))
        return
    typer.echo(
        f"rounds job {rounds_id}: {data['status']}, W={data['workers']} R={data['rounds']} "
        f"quorum {data['quorum']}, round {data['current_round']}, "
        f"unit reward {_crowd(int(data['unit_reward']))} + fee {_crowd(int(data['unit_verifier_fee']))}"
    )
    typer.echo(
        f"{'round':>5} {'slot':>4} {'job':>5}  {'status':<10} {'att':>3} {'disp':>4}  {'loss':>8}  solver"
    )
    for row in data["grid"]:
        for unit in row["units"]:
            mark = {True: "in", False: "out", None: ""}[unit["included"]]
            conv = f"  convicted: {', '.join(unit['convicted'])}" if unit["convicted"] else ""
            typer.echo(
                f"{row['round']:>5} {unit['slot']:>4} {unit['job_id']:>5}  {unit['status']:<10} "
                f"{unit['attestations']:>3} {unit['disputes']:>4}  {_loss(unit['loss']):>8}  "
                f"{unit['solver'] or '-'} {mark}{conv}"
            )
    typer.echo(
        "loss per round: " + ", ".join(f"{r['round']}: {_loss(r['loss'])}" for r in data["grid"])
    )


def _mean(values: list[float | None]) -> float | None:
    """The mean loss of a round's included units; None while one is unknown (a partial mean
    would mislead)."""
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known and len(known) == len(values) else None


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def rounds_grid(protocol: Protocol, store: BlobStore, rounds_id: int) -> dict[str, Any]:
    """The grid as one JSON-able dict, read from the chain (and manifests from the blob store)."""
    from node.chain.dispute_types import DisputeOutcome
    from node.chain.types import RoundsStatus

    market = protocol.rounds_market
    job = _get(protocol, rounds_id)
    disputes: dict[int, list[Any]] = {}
    for dispute_id in range(1, protocol.dispute_game.dispute_count() + 1):
        d = protocol.dispute_game.get_dispute(dispute_id)
        disputes.setdefault(d.job_id, []).append(d)
    grid = []
    for round_ in range(min(job.round + 1, job.rounds)):
        job_ids = market.round_jobs(rounds_id, round_)
        if not job_ids:
            break
        included = market.included_slots(rounds_id, round_)
        closed = round_ < job.round or job.status is RoundsStatus.FINISHED
        units: list[dict[str, Any]] = []
        for slot, job_id in enumerate(job_ids):
            unit = protocol.market.get_job(job_id)
            attesters = protocol.attestations.attesters_of(job_id, unit.attempt)
            unit_disputes = disputes.get(job_id, [])
            units.append(
                {
                    "slot": slot,
                    "job_id": job_id,
                    "status": unit.status.name.lower(),
                    "solver": None if int(unit.solver, 16) == 0 else unit.solver,
                    "attempt": unit.attempt,
                    "attestations": sum(1 for a in attesters if a[3]),
                    "disputes": len(unit_disputes),
                    "convicted": [
                        d.solver for d in unit_disputes if d.outcome is DisputeOutcome.SOLVER_WRONG
                    ],
                    "included": (slot in included) if closed else None,
                    "loss": _final_loss(protocol, store, job_id),
                }
            )
        counted: list[float | None] = [u["loss"] for u in units if u["included"]]
        grid.append(
            {
                "round": round_,
                "status": "closed" if closed else "open",
                "included": included,
                "loss": _mean(counted),
                "units": units,
            }
        )
    return {
        "rounds_id": rounds_id,
        "status": job.status.name.lower(),
        "submitter": job.submitter,
        "spec": "sha256:" + job.spec_hash.hex(),
        "workers": job.workers,
        "rounds": job.rounds,
        "quorum": job.quorum,
        "current_round": job.round,
        "unit_reward": str(job.unit_reward),
        "unit_verifier_fee": str(job.unit_verifier_fee),
        "round_deadline": job.round_deadline,
        "grid": grid,
    }


def _final_loss(protocol: Protocol, store: BlobStore, job_id: int) -> float | None:
    from node.errors import CrowdtrainError
    from node.trace.manifest import parse_manifest

    commitment = protocol.market.get_commitment(job_id)
    if commitment is None:
        return None
    address = "sha256:" + commitment.manifest_hash.hex()
    if not store.has(address):
        return None
    try:
        losses = parse_manifest(store.get(address)).losses
    except CrowdtrainError:
        return None
    return losses[-1] if losses else None


@app.command("close")
def close(
    rounds_id: int = typer.Argument(..., help="Rounds job id."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Close the current round (anyone may): with all units final, or past its deadline with a
    quorum, it records the included slots and opens the next round (or finishes the job); past
    its deadline without a quorum it reopens the round."""
    protocol = open_protocol(rpc_url, private_key)
    market = protocol.rounds_market
    before = _get(protocol, rounds_id)
    if before.status.name.lower() != "running":
        fail(
            f"rounds job {rounds_id} is {before.status.name.lower()}, only a running one has a round to close"
        )
    from node.chain.events import RoundClosed

    event = market.close_round(rounds_id)
    after = market.get_rounds_job(rounds_id)
    if isinstance(event, RoundClosed):
        nxt = (
            "the rounds job finished"
            if after.status.name.lower() == "finished"
            else f"round {after.round} opened"
        )
        typer.echo(
            f"closed round {event.round} of rounds job {rounds_id} with slots "
            f"{event.included_slots}; {nxt}"
        )
    else:
        typer.echo(
            f"round {event.round} of rounds job {rounds_id} lacked its quorum of {before.quorum}: "
            f"reopened until chain time {event.deadline}"
        )


@app.command("cancel")
def cancel(
    rounds_id: int = typer.Argument(..., help="Rounds job id."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Cancel a running rounds job you posted: open units are cancelled and rounds never opened
    refunded (credited; `crowdtrain withdraw`); claimed units run on and are paid if they finalize."""
    protocol = open_protocol(rpc_url, private_key)
    job = _get(protocol, rounds_id)
    if job.status.name.lower() != "running":
        fail(
            f"rounds job {rounds_id} is {job.status.name.lower()}, only a running one can be cancelled"
        )
    if job.submitter != protocol.address:
        fail(f"rounds job {rounds_id} was submitted by {job.submitter}, not by {protocol.address}")
    cancelled = protocol.rounds_market.cancel_rounds_job(rounds_id)
    typer.echo(
        f"cancelled rounds job {rounds_id}; {_crowd(cancelled.refund)} of rounds never opened "
        "refunded and the open units' escrow credited: withdraw with `crowdtrain withdraw`"
    )


def _get(protocol: Protocol, rounds_id: int) -> RoundsJob:
    """The rounds job, or one clear line when there is none."""
    from node.errors import TransactionRevertedError

    try:
        return protocol.rounds_market.get_rounds_job(rounds_id)
    except TransactionRevertedError as err:
        if err.error_name == "RoundsMarketUnknownRoundsJob":
            fail(f"rounds job {rounds_id} does not exist")
        raise
