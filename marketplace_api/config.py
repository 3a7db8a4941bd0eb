"""``ApiConfig``: what the service needs, resolved once from the shared ``Settings``.

The service keeps its own folder (``<data_dir>/marketplace``) for the SQLite file and the blob files,
so an API running beside a solver never mixes its store with the solver's local blob folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.config import Settings


@dataclass(frozen=True)
class ApiConfig:
    """Resolved service configuration (tests build one directly)."""

    database_url: str
    blob_dir: Path
    blob_max_bytes: int = 1 << 30
    upload_quota_bytes: int = 256 << 20
    staked_upload_quota_bytes: int = 16 << 30
    spec_max_bytes: int = 64 << 10
    max_signature_lifetime_s: int = 3_600
    """An upload signature may not expire later than this from now, so used nonces can be pruned."""
    cache_ttl_s: float = 1.0
    """How long a list response may be served from memory when no in-process indexer says otherwise."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiConfig:
        home = settings.data_dir / "marketplace"
        url = settings.database_url or sqlite_url(home / "marketplace.sqlite3")
        return cls(
            database_url=url,
            blob_dir=home / "blobs",
            blob_max_bytes=settings.blob_max_bytes,
            upload_quota_bytes=settings.upload_quota_bytes,
            staked_upload_quota_bytes=settings.staked_upload_quota_bytes,
        )


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file (its folder is created by ``db.make_engine``)."""
    return f"sqlite:///{path}"
