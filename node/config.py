"""One validated settings class for every crowdtrain command and daemon (pydantic-settings).

Each value comes from a CLI flag or from the environment as ``CROWDTRAIN_<NAME>``
(``CROWDTRAIN_RPC_URL``, ``CROWDTRAIN_PRIVATE_KEY``, ``CROWDTRAIN_BLOB_DIR``, ``CROWDTRAIN_THREADS`` …).
The private key is a ``SecretStr`` so it never shows up in a repr, a log line or a dumped config.
Instead of a plain key, ``CROWDTRAIN_KEYSTORE`` may name an encrypted keystore (``node.keystore``)
whose password comes from ``CROWDTRAIN_KEYSTORE_PASSWORD`` or ``CROWDTRAIN_KEYSTORE_PASSWORD_FILE``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from node.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = Path.home() / ".crowdtrain"


class Settings(BaseSettings):
    """Resolved configuration; fails fast with a clear message on an invalid value."""

    model_config = SettingsConfigDict(env_prefix="CROWDTRAIN_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    private_key: SecretStr | None = None
    keystore: Path | None = None
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None
    blob_dir: Path = DEFAULT_HOME / "blobs"
    data_dir: Path = DEFAULT_HOME / "data"
    deployments_dir: Path = REPO_ROOT / "deployments"
    api_url: str | None = None
    threads: int | None = Field(default=None, ge=1)
    confirmations: int = Field(default=0, ge=0)
    poll_interval: float = Field(default=0.5, gt=0)
    database_url: str | None = None
    """Marketplace API database (SQLAlchemy URL); None means SQLite under ``data_dir``."""
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    blob_max_bytes: int = Field(default=1 << 30, ge=1)
    upload_quota_bytes: int = Field(default=256 << 20, ge=0)
    """Bytes any address may upload to the marketplace API (a first-time submitter's dataset)."""
    staked_upload_quota_bytes: int = Field(default=16 << 30, ge=0)
    """Bytes a staked address may upload (solver checkpoints, verifier states)."""

    @field_validator("rpc_url")
    @classmethod
    def _rpc_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError(f"RPC URL must start with http(s):// or ws(s)://, got {value!r}")
        return value

    def require_private_key(self) -> str:
        """The signing key (a plain key wins over a keystore); ConfigError, never echoing a secret,
        when neither is configured or the keystore cannot be opened."""
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.keystore is not None:
            from node.keystore import decrypt_keystore, read_password

            password = read_password(
                self.keystore_password.get_secret_value() if self.keystore_password else None,
                self.keystore_password_file,
                self.keystore,
            )
            key = decrypt_keystore(self.keystore, password)
            self.private_key = SecretStr(key)  # decrypt (scrypt, ~1 s) once per process
            return key
        raise ConfigError(
            "no private key: set CROWDTRAIN_KEYSTORE to an encrypted keystore "
            "(crowdtrain keys new|import) or CROWDTRAIN_PRIVATE_KEY"
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from env, with non-None CLI overrides on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as err:
        # One line per setting, without pydantic's dump of every input value (the key sits among them).
        parts = [
            f"CROWDTRAIN_{'_'.join(str(p) for p in item['loc']).upper()}: "
            f"{item['msg'].removeprefix('Value error, ')}"
            for item in err.errors(include_input=False, include_url=False)
        ]
        raise ConfigError(f"invalid setting: {'; '.join(parts)}") from None
