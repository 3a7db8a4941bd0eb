"""``crowdtrain bench``: benchmarks, printed as a table or as one JSON object (``--json``)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Benchmarks (gas, reproducible runtime, hashing).", no_args_is_help=True)


def _emit(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            typer.echo(
                f"{key}: {json.dumps(value, indent=2) if isinstance(value, dict) else value}"
            )


@app.command("gas")
def gas(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Gas of each protocol action on a fresh Anvil; `happy_path_total` is post+claim+commit+finalize+withdraw."""
    from bench.gas import run_gas_bench

    _emit(run_gas_bench(), as_json)


@app.command("repro")
def repro(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    repeats: int = typer.Option(5, help="Interleaved repeats per model (the median is reported)."),
    threads: int | None = typer.Option(None, help="Torch threads for both runtimes."),
    model: list[str] | None = typer.Option(
        None, "--model", help="Only these models (repeatable): mlp, cnn, gpt, llama."
    ),
    check: bool = typer.Option(
        True, help="Also compare stateHashes of short runs on 1 and 2 threads."
    ),
) -> None:
    """Step time (and tokens/s) of repro-v1 vs native fp32 per model (ratio of medians) and hash
    equality across threads."""
    from bench.repro import MODELS, run_repro_bench
    from node.errors import ConfigError

    unknown = [m for m in model or [] if m not in MODELS]
    if unknown:
        raise ConfigError(f"--model {unknown[0]!r} is unknown (known: {', '.join(MODELS)})")
    _emit(
        run_repro_bench(repeats=repeats, threads=threads, models=model or None, check=check),
        as_json,
    )


@app.command("hash")
def hash_(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    size_mb: int = typer.Option(512, help="Size of the synthetic training state."),
) -> None:
    """stateHash throughput (GB/s) of node.trace.state on a large state."""
    from bench.hash import run_hash_bench

    _emit(run_hash_bench(size_mb=size_mb), as_json)


@app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    trials: int = typer.Option(1000, help="Random seeds per sample rate."),
    seed: int | None = typer.Option(None, help="Seed of the seed generator (reproducible runs)."),
) -> None:
    """Detection rate vs sampleRate, verifier cost and the best cheat's expected profit (N = 500)."""
    from bench.verify import run_verify_bench

    _emit(run_verify_bench(trials=trials, seed=seed), as_json)


@app.command("data")
def data(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    base_mb: float = typer.Option(8.0, help="Size of the base text corpus (MB)."),
    factor: int = typer.Option(10, help="The larger corpus is this many times the base.", min=2),
    batches: int = typer.Option(200, help="Training batches the loader draws per dataset."),
    repeats: int = typer.Option(3, help="Prepare runs per tokenizer (median reported).", min=1),
) -> None:
    """`data prepare` MB/s (byte and BPE) and the training loader's peak memory, base corpus vs
    FACTOR x larger."""
    from bench.data import run_data_bench

    _emit(run_data_bench(base_mb=base_mb, factor=factor, batches=batches, repeats=repeats), as_json)


@app.command("api")
def api(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    jobs: int = typer.Option(10_000, help="Jobs posted and indexed before the load."),
    duration: float = typer.Option(8.0, help="Seconds of load on GET /jobs?limit=50."),
) -> None:
    """Marketplace API: `req_per_s` for GET /jobs?limit=50 (SQLite, load from a second process) and `index_events_per_s`."""
    from bench.api import run_api_bench

    _emit(run_api_bench(jobs=jobs, duration=duration), as_json)


@app.command("rounds")
def rounds(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    quick: bool = typer.Option(False, "--quick", help="A seconds-long run (W=2, H=4, R=3)."),
    workers: int | None = typer.Option(None, help="W (default 4)."),
    inner_steps: int | None = typer.Option(None, help="H (default 25)."),
    rounds_: int | None = typer.Option(None, "--rounds", help="R (default 8)."),
    outer_lr: float | None = typer.Option(None, help="Outer learning rate (default 0.8)."),
    outer_momentum: float | None = typer.Option(
        None, help="Outer Nesterov momentum (default 0.3)."
    ),
    runtime: str | None = typer.Option(None, help="native (default) | repro-v1."),
    chain: bool = typer.Option(
        True, "--chain/--no-chain", help="Also run the rounds job on a fresh Anvil (gas, gates)."
    ),
) -> None:
    """Rounds job (DiLoCo) vs synchronous data parallel at equal tokens: `loss_ratio`, and
    `bytes_ratio` (all-reduce bytes per worker per round over a rounds worker's, which downloads
    the one published outer blob; `bytes_ratio_self_outer` without an aggregator); with the chain
    (default): `gas_per_unit` and `gate_wait_share` at the devnet window."""
    from bench.rounds import RoundsBenchConfig, run_rounds_bench

    config = RoundsBenchConfig.quick() if quick else RoundsBenchConfig()
    changes = {
        "workers": workers,
        "inner_steps": inner_steps,
        "rounds": rounds_,
        "outer_lr": outer_lr,
        "outer_momentum": outer_momentum,
        "runtime": runtime,
    }
    report = run_rounds_bench(config, **{k: v for k, v in changes.items() if v is not None})
    if chain:
        from bench.rounds_chain import add_chain_figures

        report = add_chain_figures(report)
    _emit(report, as_json)


@app.command("market")
def market(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    chain: bool = typer.Option(
        True,
        "--chain/--no-chain",
        help="Also run a short scenario on a fresh Anvil (chain_agrees).",
    ),
    seed: int = typer.Option(0, help="Seed of the simulated solvers and jobs (reproducible runs)."),
    jobs: int = typer.Option(120, help="Jobs in the simulated stream.", min=1),
    gap_blocks: int = typer.Option(
        150, help="Mean blocks between postings (lower: a busier market).", min=1
    ),
    measure: bool = typer.Option(
        True,
        "--measure/--no-measure",
        help="Measure the estimate against real steps (a minute on a CPU; estimate_* keys).",
    ),
    device: str = typer.Option(
        "cpu", help="Where the estimate is measured: cpu (peak RSS growth) | cuda (peak allocated)."
    ),
) -> None:
    """Auction market simulation through the daemon's decision code: `price_efficiency`,
    `unfit_claims`, `median_blocks_to_claim`, the estimate's FLOPs and memory errors against
    measurement, and (with the chain) `chain_agrees`."""
    from bench.market import run_market_bench
    from node.errors import ConfigError

    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r} is unknown (known: cpu, cuda)")
    _emit(
        run_market_bench(
            seed=seed,
            chain=chain,
            estimate=measure,
            jobs=jobs,
            gap_blocks=gap_blocks,
            device=device,
        ),
        as_json,
    )
