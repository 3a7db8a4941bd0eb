"""Pure pieces: CROWD parsing, revert decoding, the safe head."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

from node.chain.poller import block_ranges, safe_head
from node.chain.reverts import RevertDecoder
from node.chain.units import CROWD, format_crowd, parse_crowd


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("250", 250 * CROWD),
        ("0.5", CROWD // 2),
        ("1e3", 1000 * CROWD),
        ("0.000000000000000001", 1),
        ("123456789012.123456789012345678", 123456789012123456789012345678),
    ],
)
def test_parse_crowd_is_exact(text: str, wei: int) -> None:
    assert parse_crowd(text) == wei
    assert parse_crowd(format_crowd(wei)) == wei


@pytest.mark.parametrize("text", ["0", "-1", "abc", "nan", "inf", "0.0000000000000000001", ""])
def test_parse_crowd_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_crowd(text)


def test_format_crowd() -> None:
    assert format_crowd(0) == "0"
    assert format_crowd(CROWD * 3 // 2) == "1.5"
    assert format_crowd(1) == "0.000000000000000001"


def _abi_error(name: str, *types: str) -> dict[str, object]:
    return {
        "type": "error",
        "name": name,
        "inputs": [{"name": f"a{i}", "type": t} for i, t in enumerate(types)],
    }


def test_decoder_names_custom_errors_and_builtins() -> None:
    decoder = RevertDecoder([[_abi_error("JobMarketUnknownJob", "uint256")]])
    data = function_signature_to_4byte_selector("JobMarketUnknownJob(uint256)") + encode(
        ["uint256"], [7]
    )
    decoded = decoder.decode("0x" + data.hex())
    assert (decoded.name, decoded.args) == ("JobMarketUnknownJob", (7,))
    assert decoded.describe() == "JobMarketUnknownJob(a0=7)"

    reason = function_signature_to_4byte_selector("Error(string)") + encode(["string"], ["nope"])
    assert decoder.decode(reason).describe() == "Error('nope')"
    panic = function_signature_to_4byte_selector("Panic(uint256)") + encode(["uint256"], [0x11])
    assert decoder.decode(panic).name == "Panic"
    assert "overflow" in decoder.decode(panic).describe()

    unknown = decoder.decode("0xdeadbeef")
    assert unknown.name is None and unknown.data == bytes.fromhex("deadbeef")
    assert decoder.decode(None).describe() == "reverted without data"


def test_safe_head_and_ranges() -> None:
    assert safe_head(10, 0) == 10
    assert safe_head(10, 3) == 7
    assert safe_head(2, 3) is None
    with pytest.raises(ValueError):
        safe_head(5, -1)
    assert block_ranges(5, 9, 2) == [(5, 6), (7, 8), (9, 9)]
    assert block_ranges(5, 4, 2) == []
