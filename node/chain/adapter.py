"""Base of the typed contract adapters: reads through ``eth_call``, writes through a ``TxSender``,
web3 errors turned into the project's own exceptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import requests
from eth_typing import ChecksumAddress
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3Exception, Web3RPCError
from web3.types import EventData, LogReceipt, TxReceipt

from node.chain.compile import load_artifact
from node.chain.events import ChainEvent, event_from_data
from node.chain.reverts import RevertDecoder, project_decoder
from node.chain.tx import SentTx, TxSender, raise_for_revert
from node.errors import ChainError, RpcUnreachableError

E = TypeVar("E", bound=ChainEvent)


class ContractAdapter:
    """One deployed contract. Subclasses set ``CONTRACT`` (artifact name) and ``EVENTS``."""

    CONTRACT: ClassVar[str]
    EVENTS: ClassVar[Mapping[str, type[ChainEvent]]] = {}

    def __init__(
        self,
        w3: Web3,
        address: str,
        *,
        sender: TxSender | None = None,
        decoder: RevertDecoder | None = None,
        abi: Sequence[Mapping[str, Any]] | None = None,
        from_block: int = 0,
    ) -> None:
        self.w3 = w3
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(
            address=self.address,
            abi=list(abi) if abi is not None else load_artifact(self.CONTRACT).abi,
        )
        self.sender = sender
        self.decoder = decoder or (sender.decoder if sender else project_decoder())
        self.from_block = from_block
        """Where log searches start (the deployment block)."""
        self._topics: dict[bytes, str] = {}
        for item in self.contract.abi:
            if item.get("type") == "event" and item.get("name") in self.EVENTS:
                self._topics[event_abi_to_log_topic(item)] = str(item.get("name"))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    # --- reads and writes ---

    def _call(self, function: str, *args: Any) -> Any:
        return self._read(function, args, None)

    def call_as(self, sender: str, function: str, *args: Any) -> Any:
        """Dry-run a write as ``sender`` (eth_call): its revert, decoded, before any tx is sent."""
        return self._read(function, args, {"from": Web3.to_checksum_address(sender)})

    def _read(self, function: str, args: tuple[Any, ...], tx: dict[str, Any] | None) -> Any:
        label = f"{self.CONTRACT}.{function}"
        try:
            return getattr(self.contract.functions, function)(*args).call(tx)
        except (ContractLogicError, Web3RPCError) as err:
            raise_for_revert(err, self.decoder, label)
            raise ChainError(f"{label} failed: {err}") from err
        except (requests.RequestException, OSError) as err:
            raise RpcUnreachableError(f"{label}: RPC unreachable: {err}") from err
        except Web3Exception as err:
            raise ChainError(f"{label} failed: {err}") from err

    def _transact(self, function: str, *args: Any) -> SentTx:
        if self.sender is None:
            raise ChainError(f"{self.CONTRACT}.{function}: this adapter has no signer (read-only)")
        data = self.contract.encode_abi(function, args=list(args))
        return self.sender.send(self.address, data, label=f"{self.CONTRACT}.{function}")

    # --- events ---

    def decode_log(self, log: LogReceipt) -> ChainEvent | None:
        """The typed event of one log of this contract, or None for an event we do not model."""
        if not log["topics"] or Web3.to_checksum_address(log["address"]) != self.address:
            return None
        name = self._topics.get(bytes(log["topics"][0]))
        if name is None:
            return None
        data: EventData = getattr(self.contract.events, name)().process_log(log)
        return event_from_data(self.EVENTS[name], data)

    def events_in(self, receipt: TxReceipt) -> list[ChainEvent]:
        """Every modelled event this contract emitted in one transaction."""
        decoded = (self.decode_log(log) for log in receipt["logs"])
        return [event for event in decoded if event is not None]

    def get_events(
        self,
        name: str,
        *,
        from_block: int | None = None,
        to_block: int | str = "latest",
        filters: Mapping[str, Any] | None = None,
    ) -> list[ChainEvent]:
        """All ``name`` events in a block range (indexed arguments may be filtered on)."""
        event = getattr(self.contract.events, name)
        try:
            found = event.get_logs(
                argument_filters=dict(filters) if filters else None,
                from_block=self.from_block if from_block is None else from_block,
                to_block=to_block,
            )
        except (requests.RequestException, OSError) as err:
            raise RpcUnreachableError(f"eth_getLogs failed: {err}") from err
        return [event_from_data(self.EVENTS[name], data) for data in found]


def first_event(events: Sequence[ChainEvent], kind: type[E]) -> E:
    """The first event of type ``kind``; ChainError when the transaction did not emit it."""
    for event in events:
        if isinstance(event, kind):
            return event
    raise ChainError(
        f"expected a {kind.__name__} event, found {[type(e).__name__ for e in events]}"
    )
