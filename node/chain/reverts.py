"""Decode revert data into the custom error's name and arguments.

Selectors come from the ABIs of every compiled project contract (OpenZeppelin's ERC-6093 errors
and SafeERC20's are in the token and registry ABIs), plus Solidity's ``Error(string)`` and
``Panic(uint256)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import (
    abi_to_signature,
    function_signature_to_4byte_selector,
    get_abi_input_names,
    get_abi_input_types,
)
from eth_utils.address import to_checksum_address
from eth_utils.conversions import to_bytes
from hexbytes import HexBytes

PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]


@dataclass(frozen=True)
class DecodedRevert:
    """A decoded revert; ``name`` is None when the selector is unknown (``data`` keeps the bytes)."""

    name: str | None
    args: tuple[Any, ...]
    arg_names: tuple[str, ...]
    data: bytes

    def describe(self) -> str:
        if self.name is None:
            return f"unknown error 0x{self.data.hex()}" if self.data else "reverted without data"
        if self.name == "Error" and self.args:
            return f"Error({self.args[0]!r})"
        if self.name == "Panic" and self.args:
            code = int(self.args[0])
            return f"Panic(0x{code:02x}: {PANIC_REASONS.get(code, 'unknown panic code')})"
        parts = [
            f"{n}={_show(v)}" if n else _show(v)
            for n, v in zip(self.arg_names, self.args, strict=True)
        ]
        return f"{self.name}({', '.join(parts)})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class RevertDecoder:
    """Maps 4-byte selectors to error specs gathered from contract ABIs."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]] = ()) -> None:
        self._errors: dict[bytes, ErrorSpec] = {
            function_signature_to_4byte_selector("Error(string)"): ErrorSpec(
                "Error", ("reason",), ("string",)
            ),
            function_signature_to_4byte_selector("Panic(uint256)"): ErrorSpec(
                "Panic", ("code",), ("uint256",)
            ),
        }
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: Sequence[Mapping[str, Any]]) -> None:
        for item in abi:
            if item.get("type") != "error":
                continue
            selector = function_signature_to_4byte_selector(abi_to_signature(item))  # type: ignore[arg-type]
            self._errors[selector] = ErrorSpec(
                name=str(item["name"]),
                arg_names=tuple(get_abi_input_names(item)),  # type: ignore[arg-type]
                arg_types=tuple(get_abi_input_types(item)),  # type: ignore[arg-type]
            )

    @property
    def error_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self._errors.values())

    def decode(self, data: bytes | str | None) -> DecodedRevert:
        raw = _as_bytes(data)
        spec = self._errors.get(raw[:4]) if len(raw) >= 4 else None
        if spec is None:
            return DecodedRevert(None, (), (), raw)
        try:
            values = abi_decode(list(spec.arg_types), raw[4:])
        except (DecodingError, ValueError, TypeError):
            return DecodedRevert(spec.name, (), (), raw)
        args = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(spec.arg_types, values, strict=True)
        )
        return DecodedRevert(spec.name, args, spec.arg_names, raw)


def _as_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return bytes(data)
    text = data.strip()
    if text.startswith("Reverted "):
        text = text.split(" ", 1)[1]
    try:
        return bytes(HexBytes(to_bytes(hexstr=text)))
    except ValueError:
        return b""


def revert_data_of(err: BaseException) -> bytes | str | None:
    """Revert bytes carried by a web3 exception (ContractLogicError.data or an RPC error's data)."""
    data = getattr(err, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str | bytes):
        return data
    response = getattr(err, "rpc_response", None)
    if isinstance(response, dict):
        error = response.get("error")
        if isinstance(error, dict) and isinstance(error.get("data"), str):
            return str(error["data"])
    return None


def project_decoder() -> RevertDecoder:
    """A decoder over every compiled contract under ``build/contracts`` (compiling if stale)."""
    import json

    from node.chain.compile import BUILD_DIR, compile_contracts

    names = compile_contracts()
    return RevertDecoder(
        json.loads((BUILD_DIR / f"{name}.json").read_text())["abi"] for name in names
    )
