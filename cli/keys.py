"""``crowdtrain keys new|import|address``: encrypted keystores for the signing key (docs/PROTOCOL.md §3).

Use one with ``CROWDTRAIN_KEYSTORE=FILE`` plus ``CROWDTRAIN_KEYSTORE_PASSWORD_FILE`` (or
``CROWDTRAIN_KEYSTORE_PASSWORD``) instead of ``CROWDTRAIN_PRIVATE_KEY``; every command that signs
accepts it. The password comes from the same variables here, else from a hidden prompt. Only the
address is ever printed.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.chain_cmds import PrivateKeyOption

app = typer.Typer(help="Encrypted keystores for the signing key.", no_args_is_help=True)

KeystoreArgument = typer.Argument(..., help="Keystore file (JSON, Web3 Secret Storage v3).")
OverwriteOption = typer.Option(False, "--overwrite", help="Replace an existing keystore file.")


def _new_password(keystore: Path) -> str:
    from node.config import load_settings
    from node.keystore import read_password

    settings = load_settings()
    secret = settings.keystore_password
    if secret is not None or settings.keystore_password_file is not None:
        value = secret.get_secret_value() if secret is not None else None
        return read_password(value, settings.keystore_password_file, keystore)
    password: str = typer.prompt("keystore password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("new")
def new(keystore: Path = KeystoreArgument, overwrite: bool = OverwriteOption) -> None:
    """Generate a fresh key and store it encrypted in KEYSTORE."""
    import secrets

    from node.keystore import write_keystore

    address = write_keystore(
        keystore, "0x" + secrets.token_hex(32), _new_password(keystore), overwrite=overwrite
    )
    typer.echo(f"created keystore {keystore} for {address}")


@app.command("import")
def import_key(
    keystore: Path = KeystoreArgument,
    private_key: str | None = PrivateKeyOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Encrypt an existing key (CROWDTRAIN_PRIVATE_KEY, else a hidden prompt) into KEYSTORE."""
    from node.config import load_settings
    from node.keystore import write_keystore

    settings = load_settings(private_key=private_key)
    if settings.private_key is not None:
        key = settings.private_key.get_secret_value()
    else:
        key = typer.prompt("private key (hex)", hide_input=True)
    address = write_keystore(keystore, key, _new_password(keystore), overwrite=overwrite)
    typer.echo(f"created keystore {keystore} for {address}")


@app.command("address")
def address(keystore: Path = KeystoreArgument) -> None:
    """Print the address KEYSTORE holds (no password needed)."""
    from node.keystore import keystore_address

    typer.echo(keystore_address(keystore))
