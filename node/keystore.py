"""Encrypted keystores (Web3 Secret Storage v3, scrypt) for the signing key (docs/PROTOCOL.md §3).

A node that runs for days should not keep its key in plain text in its environment or shell
history: ``CROWDTRAIN_KEYSTORE`` names an encrypted JSON keystore (the format geth, Foundry's
``cast wallet`` and eth-account share), and its password comes from ``CROWDTRAIN_KEYSTORE_PASSWORD``
or, better for services, a file named by ``CROWDTRAIN_KEYSTORE_PASSWORD_FILE``. Every error names
the file and what is wrong with it, never the key or the password.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account

from node.errors import ConfigError


def read_password(password: str | None, password_file: Path | None, keystore: Path) -> str:
    """The keystore password: the env value, else the first line of the password file."""
    if password is not None:
        return password
    if password_file is None:
        raise ConfigError(
            f"keystore {keystore} needs a password: set CROWDTRAIN_KEYSTORE_PASSWORD "
            "or CROWDTRAIN_KEYSTORE_PASSWORD_FILE"
        )
    try:
        text = password_file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"cannot read keystore password file {password_file}: {err.strerror}"
        ) from None
    return text.splitlines()[0] if text else ""


def _load(keystore: Path) -> dict[str, Any]:
    try:
        data = json.loads(keystore.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read keystore {keystore}: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"keystore {keystore} is not a JSON keystore file") from None
    if not isinstance(data, dict) or ("crypto" not in data and "Crypto" not in data):
        raise ConfigError(f"keystore {keystore} is not a JSON keystore file (no 'crypto' section)")
    return data


def decrypt_keystore(keystore: Path, password: str) -> str:
    """The hex private key inside ``keystore``; ConfigError on a wrong password or a corrupt file."""
    data = _load(keystore)
    try:
        key: bytes = Account.decrypt(data, password)
    except ValueError:
        raise ConfigError(f"keystore {keystore}: wrong password or corrupt file") from None
    except (KeyError, TypeError):
        raise ConfigError(f"keystore {keystore} is malformed (missing or bad fields)") from None
    return "0x" + key.hex()


def keystore_address(keystore: Path) -> str:
    """The checksummed address a keystore declares (readable without the password)."""
    data = _load(keystore)
    address = data.get("address")
    if not isinstance(address, str):
        raise ConfigError(f"keystore {keystore} declares no address")
    from web3 import Web3

    try:
        return str(Web3.to_checksum_address("0x" + address.removeprefix("0x")))
    except ValueError:
        raise ConfigError(f"keystore {keystore} declares an invalid address") from None


def write_keystore(keystore: Path, private_key: str, password: str, *, overwrite: bool) -> str:
    """Encrypt ``private_key`` into a new file readable by its owner only; returns the address."""
    if not password:
        raise ConfigError("refusing to write a keystore with an empty password")
    try:
        account = Account.from_key(private_key)
    except (ValueError, TypeError):
        raise ConfigError("the private key is not a valid 32-byte hex key") from None
    if keystore.exists() and not overwrite:
        raise ConfigError(f"keystore {keystore} already exists (pass --overwrite to replace it)")
    keystore.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(Account.encrypt(account.key, password))
    tmp = keystore.with_name(keystore.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(blob)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, keystore)
    return str(account.address)
