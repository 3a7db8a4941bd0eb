"""The ``crowdtrain`` command: one sub-command module per concern, imported lazily.

Heavy imports (torch, web3) stay inside the commands so ``--help`` answers at once.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException

from cli import (
    api,
    bench,
    chain_cmds,
    data,
    devnet,
    jobs,
    keys,
    market,
    model,
    rounds,
    solver,
    train,
    verifier,
)
from node.errors import CrowdtrainError

app = typer.Typer(
    name="crowdtrain",
    help="A marketplace for bit-reproducible ML training compute.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command("compile")
def compile_cmd(
    force: bool = typer.Option(False, help="Recompile even if nothing changed."),
) -> None:
    """Compile the Solidity contracts into build/contracts (skipped when sources are unchanged)."""
    from node.chain.compile import compile_contracts

    names = compile_contracts(force=force)
    typer.echo(f"compiled {len(names)} contracts: {', '.join(names)}")


app.add_typer(devnet.app, name="devnet")
app.add_typer(jobs.app, name="job")
app.add_typer(rounds.app, name="rounds")
app.add_typer(solver.app, name="solver")
app.add_typer(verifier.app, name="verifier")
app.add_typer(data.app, name="data")
app.add_typer(bench.app, name="bench")
app.add_typer(api.app, name="api")
app.add_typer(keys.app, name="keys")
app.add_typer(model.app, name="model")
chain_cmds.register(app)
train.register(app)
market.register(app)


def main() -> None:
    """Entry point: CrowdtrainError becomes one clear line on stderr and exit code 1."""
    try:
        code = app(standalone_mode=False)
    except CrowdtrainError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except ClickException as err:  # usage errors: a missing argument, a bad option value
        err.show()
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
