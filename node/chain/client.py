"""Connect to an EVM JSON-RPC endpoint, failing fast and clearly when it is not there."""

from __future__ import annotations

from typing import Any, cast

import requests
from web3 import Web3
from web3.exceptions import Web3Exception

from node.chain.types import BlockNumber, Timestamp
from node.errors import ChainError, RpcUnreachableError

CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 60.0


def connect(rpc_url: str, *, timeout: float = REQUEST_TIMEOUT_S) -> Web3:
    """A ``Web3`` on ``rpc_url`` that has answered ``eth_chainId``.

    No automatic retries: a dead endpoint fails within ``CONNECT_TIMEOUT_S``.

    Raises:
        RpcUnreachableError: nothing answers JSON-RPC at ``rpc_url``.
    """
    if rpc_url.startswith(("ws://", "wss://")):
        raise RpcUnreachableError(f"websocket RPC is not supported yet, use http(s): {rpc_url}")
    provider = Web3.HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": (CONNECT_TIMEOUT_S, timeout)},
        exception_retry_configuration=None,
    )
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the probe
    except (requests.RequestException, Web3Exception, ValueError, OSError) as err:
        raise RpcUnreachableError(
            f"cannot reach the RPC endpoint {rpc_url}: {_short(err)}"
        ) from err
    return w3


def _short(err: BaseException) -> str:
    if isinstance(err, requests.ConnectionError):
        return "connection refused or host unreachable"
    if isinstance(err, requests.Timeout):
        return "timed out"
    return f"{type(err).__name__}: {err}"


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """A raw JSON-RPC call (``evm_mine``, ``anvil_…``); an error response raises ChainError."""
    try:
        response = w3.provider.make_request(cast(Any, method), list(params))
    except (requests.RequestException, OSError) as err:
        raise RpcUnreachableError(f"RPC {method} failed: {_short(err)}") from err
    if response.get("error"):
        raise ChainError(f"RPC {method} failed: {response['error']}")
    return response.get("result")


def block_number(w3: Web3) -> BlockNumber:
    return BlockNumber(w3.eth.block_number)


def chain_time(w3: Web3) -> Timestamp:
    """``block.timestamp`` of the latest block: the clock every on-chain deadline uses."""
    return Timestamp(int(w3.eth.get_block("latest")["timestamp"]))


def increase_time(w3: Web3, seconds: int) -> Timestamp:
    """Dev chains only (Anvil): move chain time forward and mine a block; returns the new time."""
    rpc(w3, "evm_increaseTime", seconds)
    rpc(w3, "evm_mine")
    return chain_time(w3)


def mine(w3: Web3, blocks: int = 1) -> BlockNumber:
    """Dev chains only (Anvil): mine ``blocks`` empty blocks."""
    for _ in range(blocks):
        rpc(w3, "evm_mine")
    return block_number(w3)
