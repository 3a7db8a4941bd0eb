"""Test kit for the contract tests: deployment, transactions, revert and event decoding, solvency.

Kept independent of ``node.chain`` on purpose: these tests check the contracts, not the adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import TxReceipt

from node.chain.compile import load_artifact

ETHER = 10**18
DEAD = Web3.to_checksum_address("0x000000000000000000000000000000000000dEaD")

# Deployment parameters of the contract tests (docs/PROTOCOL.md §7 devnet defaults where it names one).
UNBONDING_PERIOD = 3_600
MIN_SOLVER_STAKE = 100 * ETHER
CHALLENGE_WINDOW = 120
MIN_SAMPLE_RATE_BPS = 1_000
MIN_SOLVE_TIMEOUT = 60
MAX_SOLVE_TIMEOUT = 86_400
MAX_WINDOW_EXTENSION = 1_440  # cap of all challenge-window extensions of one attempt
# Issue 4 (docs/PROTOCOL.md §5, §6, §8).
REVEAL_PHASE = 60
MIN_VERIFIER_STAKE = 100 * ETHER
ATTESTERS_PER_JOB = 3
SEED_DELAY = 2
ATTESTER_SLASH = 5 * ETHER
MIN_CHALLENGE_BOND = 10 * ETHER
MOVE_CLOCK = 120
BISECTION_DEGREE = 16
JURY_SIZE = 3
MIN_JURORS = 3
JURY_COMMIT_PHASE = 60
JURY_REVEAL_PHASE = 60
JUROR_STAKE = 10 * ETHER
JUROR_SLASH = 5 * ETHER
JUROR_FEE_BPS = 100
JACKPOT_BPS = 5_000
SUBMITTER_BPS = 2_500
BOND_TO_SOLVER_BPS = 5_000
CHALLENGE_FEE_BPS = 5_000  # of the bond, burned per revealed challenge (DISPUTES.md, "Jackpot")
DISPUTE_PARAMS = (
    MIN_CHALLENGE_BOND,
    MOVE_CLOCK,
    BISECTION_DEGREE,
    JUROR_FEE_BPS,
    JACKPOT_BPS,
    SUBMITTER_BPS,
    BOND_TO_SOLVER_BPS,
    CHALLENGE_FEE_BPS,
)


class JobStatus(IntEnum):
    NONE = 0
    OPEN = 1
    CLAIMED = 2
    COMMITTED = 3
    FINALIZED = 4
    CANCELLED = 5


LIVE_STATUSES = (JobStatus.OPEN, JobStatus.CLAIMED, JobStatus.COMMITTED)


@dataclass(frozen=True)
class Job:
    """``IJobMarket.Job`` in field order."""

    submitter: str
    reward: int
    solver: str
    verifier_fee: int
    spec_hash: bytes
    num_segments: int
    checkpoint_every: int
    attempt: int
    solve_timeout: int
    sample_rate_bps: int
    open_disputes: int
    status: JobStatus
    deadline: int
    commit_block: int
    commitment: bytes

    @classmethod
    def from_tuple(cls, raw: Sequence[Any]) -> Job:
        values = list(raw)
        values[11] = JobStatus(values[11])
        return cls(*values)


def deploy(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, f"deploying {name} failed"
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


# --- reverts ---


@dataclass(frozen=True)
class ErrorTable:
    """4-byte selector → (name, argument types) over the given ABIs."""

    entries: dict[bytes, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_abis(cls, abis: Iterable[Sequence[dict[str, Any]]]) -> ErrorTable:
        entries: dict[bytes, tuple[str, tuple[str, ...]]] = {
            function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ("uint256",)),
            function_signature_to_4byte_selector("Error(string)"): ("Error", ("string",)),
        }
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = tuple(_abi_type(i) for i in item["inputs"])
                signature = f"{item['name']}({','.join(types)})"
                entries[function_signature_to_4byte_selector(signature)] = (item["name"], types)
        return cls(entries)

    def decode(self, data: bytes) -> tuple[str, tuple[Any, ...]]:
        name, types = self.entries[bytes(data[:4])]
        values = abi_decode(list(types), bytes(data[4:]))
        return name, tuple(
            Web3.to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, values, strict=True)
        )


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


def revert_data(fn: ContractFunction, sender: str) -> bytes:
    """The revert data of calling ``fn`` from ``sender`` against the latest block."""
    try:
        fn.call({"from": sender})
    except (ContractCustomError, ContractLogicError) as err:
        raw = err.data
        if isinstance(raw, dict):
            raw = raw.get("data")
        return bytes(HexBytes(raw or "0x"))
    raise AssertionError(f"{fn.fn_name} did not revert")


# --- events ---


def decode_logs(receipt: TxReceipt, *contracts: Contract) -> list[tuple[str, dict[str, Any]]]:
    """Every log of ``receipt`` emitted by one of ``contracts``, in order, as (event name, args)."""
    by_topic: dict[tuple[str, bytes], Any] = {}
    for contract in contracts:
        for item in contract.abi:
            if item.get("type") == "event":
                topic = event_abi_to_log_topic(item)  # type: ignore[arg-type]
                by_topic[(contract.address, topic)] = getattr(contract.events, item["name"])
    decoded: list[tuple[str, dict[str, Any]]] = []
    for log in receipt["logs"]:
        key = (log["address"], bytes(log["topics"][0]))
        if key not in by_topic:
            raise AssertionError(f"unexpected log from {log['address']}")
        event = by_topic[key]().process_log(log)
        decoded.append((event["event"], dict(event["args"])))
    return decoded
