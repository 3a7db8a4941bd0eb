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
    from node.bench.gas import run_gas_bench

    _emit(run_gas_bench(), as_json)
