"""``crowdtrain api serve|migrate``: the marketplace API (indexer + read API + blobs + dashboard)
in one process."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The marketplace API: indexer, blob store, read API, dashboard.", no_args_is_help=True
)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Listen address (env CROWDTRAIN_API_HOST)."),
    port: int | None = typer.Option(None, help="Listen port (env CROWDTRAIN_API_PORT)."),
    rpc_url: str | None = typer.Option(
        None, "--rpc-url", help="JSON-RPC URL (env CROWDTRAIN_RPC_URL)."
    ),
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL (env CROWDTRAIN_DATABASE_URL; default SQLite in the data dir)."
    ),
    confirmations: int | None = typer.Option(
        None, help="Blocks on top before an event is indexed."
    ),
    indexer: bool = typer.Option(True, help="Run the chain indexer in this process."),
) -> None:
    """Serve the API and the dashboard, indexing the deployment's events as blocks arrive."""
    import uvicorn

    from marketplace_api.serve import build_app
    from node.config import load_settings

    settings = load_settings(
        api_host=host,
        api_port=port,
        rpc_url=rpc_url,
        database_url=database_url,
        confirmations=confirmations,
    )
    web = build_app(settings, with_indexer=indexer)
    typer.echo(f"dashboard: http://{settings.api_host}:{settings.api_port}/", err=True)
    uvicorn.run(
        web,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
    )


@app.command("migrate")
def migrate(
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL (env CROWDTRAIN_DATABASE_URL)."
    ),
) -> None:
    """Bring the database schema to the newest Alembic revision."""
    from marketplace_api.config import ApiConfig
    from marketplace_api.db import make_engine
    from marketplace_api.db import migrate as run_migrations
    from node.config import load_settings

    config = ApiConfig.from_settings(load_settings(database_url=database_url))
    run_migrations(make_engine(config.database_url))
    typer.echo("database schema is up to date")
