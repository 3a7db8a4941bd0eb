"""``crowdtrain market``: the open jobs as a solver shopping for work sees them — the auction's
offer now, its price per PFLOP, floor and cap, the time left in the ramp, the record a claimer
needs, the spec's requirements and estimate (docs/MARKET.md, "Market view").

Read straight from the chain and the blob store, and built by the same function as the API's
``GET /market``, so both print the same numbers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.chain_cmds import RpcUrlOption, open_protocol

if TYPE_CHECKING:
    from marketplace_api.market_schemas import MarketJob, MarketPage
    from node.storage import BlobStore
    from node.training.spec import JobSpec

BlobDirOption = typer.Option(None, "--blob-dir", help="Blob folder (env CROWDTRAIN_BLOB_DIR).")


def register(app: typer.Typer) -> None:
    """Add ``market`` to the top-level app."""
    app.command("market")(market_cmd)


def market_cmd(
    rpc_url: str | None = RpcUrlOption,
    blob_dir: Path | None = BlobDirOption,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List the open jobs, best paid per PFLOP first, priced at the chain's latest block."""
    from marketplace_api.market_schemas import MarketPage
    from marketplace_api.market_view import EstimateCache, load_estimate, market_job, order_book
    from node.chain.types import JobStatus
    from node.config import load_settings
    from node.storage import open_store

    protocol = open_protocol(rpc_url, None, signer=False)
    store = open_store(load_settings(blob_dir=blob_dir))
    chain = protocol.market
    now = int(protocol.w3.eth.get_block("latest")["timestamp"])
    estimates = EstimateCache()
    items = []
    for job_id in range(1, chain.job_count() + 1):
        job = chain.get_job(job_id)
        if job.status is not JobStatus.OPEN:
            continue
        address = "sha256:" + job.spec_hash.hex()
        known = estimates.get(address, load_estimate(partial(_spec, store, address)))
        items.append(
            market_job(
                job_id=job_id,
                submitter=job.submitter,
                spec_hash=job.spec_hash.hex(),
                attempt=job.attempt,
                steps=job.steps,
                verifier_fee=job.verifier_fee,
                solve_timeout=job.solve_timeout,
                terms=chain.terms_of(job_id),
                now=now,
                spec=known[0] if known else None,
                estimate=known[1] if known else None,
            )
        )
    page = MarketPage(now=now, live=True, items=order_book(items), total=len(items))
    if as_json:
        typer.echo(page.model_dump_json())
        return
    _print(page)


def _spec(store: BlobStore, address: str) -> JobSpec | None:
    """The job's spec from the blob store, validated (a submitter wrote it); None when the store
    lacks it or it is not a valid spec: the job is still listed, without an estimate."""
    from node.errors import CrowdtrainError
    from node.training.spec import load_spec

    try:
        return load_spec(store.get(address))
    except CrowdtrainError:
        return None


def _print(page: MarketPage) -> None:
    from node.chain.units import format_crowd

    typer.echo(f"{page.total} open jobs, priced at chain time {page.now}")
    if not page.items:
        return
    head = f"{'job':>5}  {'price now':>14} {'per PFLOP':>10} {'floor':>12} {'cap':>12} {'ramp left':>9} {'PFLOP':>9}  needs"
    typer.echo(head)
    for j in page.items:
        per = f"{j.price_per_pflop:.4g}" if j.price_per_pflop is not None else "-"
        pflop = f"{j.estimate.pflop:.3g}" if j.estimate is not None else "-"
        typer.echo(
            f"{j.job_id:>5}  {format_crowd(int(j.price)):>14} {per:>10} "
            f"{format_crowd(int(j.floor)):>12} {format_crowd(int(j.cap)):>12} "
            f"{_left(j.ramp_left):>9} {pflop:>9}  {_needs(j)}"
        )


def _left(seconds: int) -> str:
    return "-" if seconds <= 0 else f"{seconds}s" if seconds < 120 else f"{seconds // 60}min"


def _needs(job: MarketJob) -> str:
    """The spec's requirements, else the estimate's memory; plus the record gate."""
    gate = f", record >= {job.min_finalized}" if job.min_finalized else ""
    needs = job.needs
    if needs is None:
        return f"unknown (spec not in the blob store){gate}"
    memory = ""
    if needs.memory_bytes is not None:
        memory = (
            f" {'>=' if needs.memory_from == 'spec' else '~'}{needs.memory_bytes / 2**30:.2f}GiB"
        )
    source = " (estimate)" if needs.memory_from == "estimate" else ""
    return f"{needs.device}{memory}{source}{gate}"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n / 2**10:.3g}KiB"
