"""The project's exception tree: every failure a user can meet has one type and a clear message."""

from __future__ import annotations


class CrowdtrainError(Exception):
    """Base of every error crowdtrain raises on purpose; the CLI prints these without a traceback."""


class CompilationError(CrowdtrainError):
    """Raised when the Solidity compiler reports errors (the message lists them as file:line)."""


class CommandError(CrowdtrainError):
    """Raised when a command cannot do what was asked (too little balance or stake, nothing to
    withdraw, a malformed amount); raised before any transaction is sent."""


class ConfigError(CrowdtrainError):
    """Raised when a setting is missing or invalid (RPC URL, key, folders)."""


class SpecError(CrowdtrainError):
    """Raised when a job spec is malformed or names something unknown."""


class DataError(CrowdtrainError):
    """Raised when input text cannot become a dataset (empty, not UTF-8, a missing field…);
    raised before any blob is stored."""


class StorageError(CrowdtrainError):
    """Raised when a blob is missing, or its bytes do not hash to its address."""


class StorageUnavailableError(StorageError):
    """Raised when the blob store cannot be reached, read or written (the API down, the disk
    full): a fault on our side that passes, never a verdict on the blob. Nobody may judge a
    party (claim a blob missing, vote "unavailable") on it: callers retry later instead."""


class TraceError(CrowdtrainError):
    """Raised when a checkpoint, manifest or proof is inconsistent or corrupt."""


class ChainError(CrowdtrainError):
    """Raised when talking to the chain fails: unreachable RPC, timeouts, bad responses."""


class RpcUnreachableError(ChainError):
    """Raised when the RPC endpoint cannot be reached at all."""


class TransactionRevertedError(ChainError):
    """Raised when a transaction or call reverts; ``error_name`` is the decoded custom error."""

    def __init__(
        self, message: str, *, error_name: str | None = None, error_args: tuple[object, ...] = ()
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = error_args


class DeploymentError(ChainError):
    """Raised when no deployment is known for a chain, or it does not match the chain's code."""
