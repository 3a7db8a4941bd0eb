"""``crowdtrain job``: submit, inspect, cancel and download training jobs.

Every check that can fail (spec, dataset availability, amounts, balance, allowance, the
contract's own validation through a dry run) runs before the first transaction, so a rejected
submission never moves a token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.chain_cmds import PrivateKeyOption, RpcUrlOption, fail, open_protocol, parse_amount
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
    from node.chain.types import Job
    from node.storage import BlobStore
    from node.training.spec import JobSpec

app = typer.Typer(help="Submit, inspect, cancel and download training jobs.", no_args_is_help=True)

ON_CHAIN_RUNTIME = "repro-v1"
BlobDirOption = typer.Option(None, "--blob-dir", help="Blob folder (env CROWDTRAIN_BLOB_DIR).")
JsonOption = typer.Option(False, "--json", help="Print one JSON object.")


def _crowd(wei: int) -> str:
    from node.chain.units import format_crowd

    return f"{format_crowd(wei)} CROWD"


def _store(blob_dir: Path | None) -> BlobStore:
    from node.config import load_settings
    from node.storage import open_store

    return open_store(load_settings(blob_dir=blob_dir))


@app.command("submit")
def submit(
    spec_path: Path = typer.Argument(..., help="Job spec (JSON or TOML)."),
    reward: str = typer.Option(..., help="Reward for the solver, CROWD."),
    verifier_fee: str = typer.Option("0", help="Fee for verifiers, CROWD."),
    solve_timeout: int = typer.Option(3600, help="Seconds a solver has from claim to commit."),
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
    """Validate SPEC, store it as a blob, escrow reward + verifier fee and post the job."""
    from node.training.spec import load_spec

    spec = load_spec(spec_path)
    if spec.rounds is not None:
        fail(
            f"{spec_path} is a rounds job (it has a rounds section): post it with `crowdtrain rounds post`"
        )
    reward_wei = parse_amount(reward, "reward")
    fee_wei = parse_amount(verifier_fee, "verifier fee", allow_zero=True)
    terms = parse_price_terms(reward_wei, floor, ramp, min_record)
    store = _store(blob_dir)
    check_spec_inputs(spec, store)
    protocol = open_protocol(rpc_url, private_key)
    me = protocol.address
    escrow = reward_wei + fee_wei
    balance = protocol.token.balance_of(me)
    if balance < escrow:
        fail(f"balance of {me} is {_crowd(balance)}, less than the escrow {_crowd(escrow)}")
    allowance = protocol.token.allowance(me, protocol.market.address)
    if not approve and allowance < escrow:
        fail(
            f"allowance of JobMarket is {_crowd(allowance)}, less than the escrow {_crowd(escrow)}"
            " (drop --no-approve to approve it)"
        )
    args: dict[str, Any] = {
        "spec_hash": spec.spec_hash(),
        "steps": spec.steps,
        "checkpoint_every": spec.checkpoint_every,
        "reward": reward_wei,
        "verifier_fee": fee_wei,
        "solve_timeout": solve_timeout,
        "sample_rate_bps": round(spec.sample_rate * 10_000),
        **terms,
    }
    show_estimate(spec, reward_wei, as_json)
    _dry_run_post(protocol, args)
    address = store.put(spec.canonical_json())
    posted = protocol.post_job(**args)
    if as_json:
        typer.echo(
            json.dumps(
                {"job_id": posted.job_id, "spec": address, "escrow": str(escrow)}
                | terms_json(reward_wei, terms)
            )
        )
    else:
        typer.echo(
            f"posted job {posted.job_id} (spec {address}), escrowed {_crowd(escrow)}"
            f"{describe_terms(reward_wei, terms)}"
        )


def show_estimate(
    spec: JobSpec, reward_wei: int, as_json: bool, floor_wei: int | None = None
) -> None:
    """The job's estimate and its price per PFLOP, shown before anything is sent (on stderr
    under --json, so stdout stays one JSON object)."""
    from cli.estimate import submit_lines

    typer.echo("\n".join(submit_lines(spec, reward_wei, floor_wei)), err=as_json)


@app.command("estimate")
def estimate(
    spec_path: Path = typer.Argument(..., help="Job spec (JSON or TOML)."),
    device: str = typer.Option(
        "cpu", help="Device whose measured throughput gives the expected time: cpu or cuda."
    ),
    as_json: bool = JsonOption,
) -> None:
    """What SPEC costs: parameters, FLOPs, peak memory, checkpoint size, verifier replay, time.

    The expected time comes from a short measurement of this machine (cached under the data
    folder; the first run takes about 10 s).
    """
    from cli.estimate import calibration_dir, estimate_lines, time_line
    from node.training.calibrate import CalibrationError, expected_seconds, load_calibration
    from node.training.estimate import estimate_job
    from node.training.spec import load_spec

    if device not in ("cpu", "cuda"):
        fail(f"--device must be cpu or cuda, got {device!r}")
    spec = load_spec(spec_path)
    result = estimate_job(spec)
    try:
        calibration = load_calibration(calibration_dir(), device, measure=False)
    except CalibrationError:
        typer.echo(f"measuring this {device}'s training throughput (once, about 10 s)", err=True)
        calibration = load_calibration(calibration_dir(), device)
    if as_json:
        out = result.as_dict()
        out["expected_seconds"] = expected_seconds(result, calibration, spec.runtime)
        out["device"] = device
        typer.echo(json.dumps(out))
        return
    kind = f"{spec.model.architecture}, {spec.runtime}" + (", rounds" if spec.rounds else "")
    typer.echo(f"estimate of {spec_path} ({kind})")
    typer.echo(
        "\n".join([*estimate_lines(spec, result), time_line(result, calibration, spec.runtime)])
    )


def check_spec_inputs(spec: JobSpec, store: BlobStore) -> None:
    """What every on-chain job needs before a token moves: the reproducible runtime, and the
    dataset (every token shard) and init weights in the blob store solvers and verifiers read."""
    if spec.runtime != ON_CHAIN_RUNTIME:
        fail(
            f"runtime {spec.runtime!r} is for local comparison only: on-chain jobs must use "
            f"{ON_CHAIN_RUNTIME!r}, the only runtime whose results verifiers can reproduce bit for bit"
        )
    if not store.has(spec.dataset.address):
        fail(
            f"dataset {spec.dataset.address} is not in the blob store {store!r}: "
            "upload it first (e.g. `crowdtrain data prepare digits`)"
        )
    if spec.dataset.format == "token-shards":
        from node.training.data import token_manifest

        token_manifest(spec, store)  # fits the model, every shard uploaded
    if spec.init is not None and not store.has(spec.init.address):
        fail(
            f"init weights {spec.init.address} are not in the blob store {store!r}: "
            "import them first (`crowdtrain model import DIR`)"
        )


def _dry_run_post(protocol: Protocol, args: dict[str, Any]) -> None:
    """Run postJob as an eth_call first, so the contract's own checks (sample rate, solve
    timeout bounds, steps) reject a bad job before the approval transaction is sent.
    A missing allowance is expected at this point and is not an error."""
    from node.chain.job_market import post_job_call
    from node.errors import TransactionRevertedError

    try:
        protocol.market.call_as(protocol.address, *_flat(post_job_call(**args)))
    except TransactionRevertedError as err:
        if err.error_name != "JobMarketInsufficientAllowance":
            raise


def _flat(call: tuple[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    return (call[0], *call[1])


def _job_dict(protocol: Protocol, job: Job) -> dict[str, object]:
    out: dict[str, object] = {
        "job_id": job.job_id,
        "status": job.status.name.lower(),
        "submitter": job.submitter,
        "solver": job.solver,
        "reward": str(job.reward),
        "verifier_fee": str(job.verifier_fee),
        "spec": "sha256:" + job.spec_hash.hex(),
        "steps": job.steps,
        "checkpoint_every": job.checkpoint_every,
        "attempt": job.attempt,
        "deadline": job.deadline,
    }
    commitment = protocol.market.get_commitment(job.job_id)
    if commitment is not None:
        out["final_state_hash"] = "0x" + commitment.final_state_hash.hex()
        out["state_root"] = "0x" + commitment.state_root.hex()
        out["seg_roots_root"] = "0x" + commitment.seg_roots_root.hex()
        out["manifest"] = "sha256:" + commitment.manifest_hash.hex()
    return out


@app.command("status")
def status(
    job_id: int = typer.Argument(..., help="Job id."),
    rpc_url: str | None = RpcUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Show one job: state, parties, amounts, deadline and its commitment once committed."""
    protocol = open_protocol(rpc_url, None, signer=False)
    data = _job_dict(protocol, protocol.market.get_job(job_id))
    if as_json:
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        if key in ("reward", "verifier_fee"):
            value = _crowd(int(str(value)))
        elif key == "solver" and int(str(value), 16) == 0:
            value = "-"
        typer.echo(f"{key:<17} {value}")


@app.command("list")
def list_jobs(
    status_filter: str | None = typer.Option(
        None, "--status", help="Only jobs in this state (open, claimed, …)."
    ),
    rpc_url: str | None = RpcUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """List every job with its state and reward."""
    protocol = open_protocol(rpc_url, None, signer=False)
    jobs = [protocol.market.get_job(i) for i in range(1, protocol.market.job_count() + 1)]
    if status_filter:
        jobs = [job for job in jobs if job.status.name.lower() == status_filter.lower()]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "job_id": j.job_id,
                        "status": j.status.name.lower(),
                        "reward": str(j.reward),
                        "solver": j.solver,
                    }
                    for j in jobs
                ]
            )
        )
        return
    typer.echo(f"{'job':>5}  {'status':<10} {'reward':>22}  solver")
    for job in jobs:
        typer.echo(
            f"{job.job_id:>5}  {job.status.name.lower():<10} {_crowd(job.reward):>22}  {job.solver}"
        )


@app.command("cancel")
def cancel(
    job_id: int = typer.Argument(..., help="Job id."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Cancel an open job you submitted; its escrow becomes your credit (`crowdtrain withdraw`)."""
    from node.chain.types import JobStatus

    protocol = open_protocol(rpc_url, private_key)
    job = protocol.market.get_job(job_id)
    if job.status is not JobStatus.OPEN:
        fail(f"job {job_id} is {job.status.name.lower()}, only open jobs can be cancelled")
    if job.submitter != protocol.address:
        fail(f"job {job_id} was submitted by {job.submitter}, not by {protocol.address}")
    protocol.market.cancel_job(job_id)
    typer.echo(
        f"cancelled job {job_id}; {_crowd(job.escrow)} credited, withdraw with `crowdtrain withdraw`"
    )


@app.command("download")
def download(
    job_id: int = typer.Argument(..., help="Job id."),
    out: Path = typer.Option(..., "--out", help="Folder for the model and manifest."),
    fmt: str = typer.Option(
        "state",
        "--format",
        help="state: the final checkpoint as committed; hf: a Hugging Face folder (llama jobs).",
    ),
    blob_dir: Path | None = BlobDirOption,
    rpc_url: str | None = RpcUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Fetch the committed final model, check it hashes to finalStateHash, and save it."""
    from node.trace.manifest import parse_manifest
    from node.training.checkpoint import verify_final_model
    from node.training.spec import load_spec

    if fmt not in ("state", "hf"):
        fail(f"unknown --format {fmt!r} (known: state, hf)")
    protocol = open_protocol(rpc_url, None, signer=False)
    job = protocol.market.get_job(job_id)
    commitment = protocol.market.get_commitment(job_id)
    if commitment is None:
        fail(f"job {job_id} is {job.status.name.lower()} and has no committed trace yet")
    store = _store(blob_dir)
    spec = load_spec(store.get("sha256:" + job.spec_hash.hex()))
    manifest = parse_manifest(store.get("sha256:" + commitment.manifest_hash.hex()))
    final = manifest.checkpoints[-1]
    blob = store.get(final.address)
    state = verify_final_model(spec, blob, commitment.final_state_hash)
    extras = {"manifest.json": manifest.canonical_json(), "spec.json": spec.canonical_json()}
    if fmt == "hf":
        from node.hf.export import export_model

        export_model(spec, state.params, store, out, extra_files=extras)
        model_path = out
    else:
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.safetensors").write_bytes(blob)
        for name, data in extras.items():
            (out / name).write_bytes(data)
        model_path = out / "model.safetensors"
    result = {
        "job_id": job_id,
        "model": str(model_path),
        "format": fmt,
        "state_hash": "0x" + commitment.final_state_hash.hex(),
        "verified": True,
    }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"model of job {job_id} verified (stateHash {result['state_hash']}) → {result['model']}"
        )


@app.command("defend")
def defend(
    job_ids: list[int] = typer.Argument(..., help="Your job ids to watch."),
    once: bool = typer.Option(
        False,
        "--once",
        help="Stop once every job is committed, finalized or cancelled and no claim is open.",
    ),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after this long."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Journal folder for vote salts (env CROWDTRAIN_DATA_DIR)."
    ),
    blob_dir: Path | None = BlobDirOption,
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Answer Dataset availability claims on your jobs: a solver that claims your dataset is
    unavailable wins against a submitter that does not vote, so this commits and reveals the
    salted digest of the dataset as the store serves it in the jury. Restart-safe."""
    import logging

    from node.config import load_settings
    from node.solver.defense import DatasetDefense
    from node.storage import open_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s defend %(message)s")
    settings = load_settings(
        rpc_url=rpc_url, private_key=private_key, data_dir=data_dir, blob_dir=blob_dir
    )
    protocol = open_protocol(settings.rpc_url, settings.require_private_key())
    for job_id in job_ids:
        job = protocol.market.get_job(job_id)
        if job.submitter != protocol.address:
            fail(f"job {job_id} was submitted by {job.submitter}, not by {protocol.address}")
    defense = DatasetDefense(protocol, open_store(settings), settings.data_dir, jobs=job_ids)
    typer.echo(f"defending the datasets of jobs {job_ids} as {protocol.address}")
    defense.run(once=once, max_seconds=max_seconds, poll_interval=settings.poll_interval)
    typer.echo("done")
