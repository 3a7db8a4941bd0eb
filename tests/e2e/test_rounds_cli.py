"""``crowdtrain rounds post|show|close|cancel`` on Anvil, as a user types them: posting escrows
exactly W·R·(unit reward + fee), the grid follows the units, a cancel refunds the rounds never
opened and the open units (both withdrawn by ``crowdtrain withdraw``), and bad input gets one
``error:`` line and moves no token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from market_kit import REPO, Market, json_line

CROWD = 10**18
ROUNDS_SPEC = REPO / "examples" / "specs" / "mlp_digits_rounds.json"
SINGLE_SPEC = REPO / "examples" / "specs" / "mlp_digits.json"
UNIT = 11 * CROWD  # unit reward 10 + unit verifier fee 1

pytestmark = [pytest.mark.chain]


@pytest.fixture
def prepared(market: Market) -> Market:
    market.cli(market.submitter, "data", "prepare", "digits")
    return market


def _fails(market: Market, account: object, *args: str, needle: str) -> None:
    p = market.deployer
    before = (p.token.balance_of(market.submitter.address), p.market.total_liabilities())
    done = market.cli(account, *args, check=False)  # type: ignore[arg-type]
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr, done.stderr
    assert needle.lower() in done.stderr.lower(), done.stderr
    after = (p.token.balance_of(market.submitter.address), p.market.total_liabilities())
    assert after == before, "a token moved"


def _show(market: Market, rounds_id: int) -> dict[str, object]:
    return json_line(market.cli(None, "rounds", "show", str(rounds_id), "--json").stdout)


def test_post_show_close_and_cancel_through_the_cli(prepared: Market) -> None:
    market, token = prepared, prepared.deployer.token
    start = token.balance_of(market.submitter.address)
    post = ("rounds", "post", str(ROUNDS_SPEC), "--unit-reward", "10", "--unit-verifier-fee", "1")
    posted = json_line(market.cli(market.submitter, *post, "--json").stdout)
    assert posted["rounds_id"] == 1 and posted["escrow"] == str(3 * 2 * UNIT)
    assert token.balance_of(market.submitter.address) == start - 3 * 2 * UNIT

    grid = _show(market, 1)
    assert (grid["status"], grid["workers"], grid["rounds"], grid["quorum"]) == ("running", 3, 2, 2)
    assert grid["requirements"] is None  # the spec has no requirements: the estimate decides
    (round0,) = grid["grid"]  # type: ignore[misc]
    jobs = [u["job_id"] for u in round0["units"]]
    assert jobs == [jobs[0], jobs[0] + 1, jobs[0] + 2]
    assert [(u["status"], u["solver"], u["included"]) for u in round0["units"]] == [
        ("open", None, None)
    ] * 3

    solver = market.as_(market.solver)
    solver.stake(500 * CROWD)
    solver.market.claim_job(jobs[0])
    text = market.cli(None, "rounds", "show", "1").stdout
    assert f"{jobs[0]:>5}  claimed" in text and market.solver.address in text
    assert "loss per round: 0: -" in text
    assert "requires any device, memory from the estimate" in text.splitlines()

    _fails(market, market.submitter, "rounds", "close", "1", needle="RoundNotDue")
    _fails(market, market.solver, "rounds", "cancel", "1", needle="submitted by")
    _fails(market, None, "rounds", "show", "7", needle="rounds job 7 does not exist")

    done = market.cli(market.submitter, "rounds", "cancel", "1").stdout
    assert "cancelled rounds job 1" in done
    withdrawn = market.cli(market.submitter, "withdraw").stdout
    # round 1, never opened (33), and round 0's two open units (22): all JobMarket credit
    assert "withdrew 55 CROWD of JobMarket credit" in withdrawn
    # the claimed unit runs on: its escrow stays until it finalizes or is cancelled
    assert token.balance_of(market.submitter.address) == start - UNIT
    grid = _show(market, 1)
    assert grid["status"] == "cancelled"
    assert [u["status"] for u in grid["grid"][0]["units"]] == ["claimed", "cancelled", "cancelled"]  # type: ignore[index]
    _fails(market, market.submitter, "rounds", "cancel", "1", needle="is cancelled")


def test_rounds_post_rejects_bad_input(prepared: Market, tmp_path: Path) -> None:
    market = prepared
    reward = ("--unit-reward", "10")
    _fails(
        market, market.submitter, "rounds", "post", str(SINGLE_SPEC), *reward,
        needle="no rounds section",
    )  # fmt: skip
    _fails(
        market, market.submitter, "job", "submit", str(ROUNDS_SPEC), "--reward", "10",
        needle="crowdtrain rounds post",
    )  # fmt: skip
    _fails(
        market, market.submitter, "rounds", "post", str(ROUNDS_SPEC), *reward,
        "--round-timeout", "100", needle="RoundTimeoutTooShort",
    )  # fmt: skip
    _fails(
        market, market.submitter, "rounds", "post", str(ROUNDS_SPEC), "--unit-reward", "-1",
        needle="unit reward",
    )  # fmt: skip
    spec = json.loads(ROUNDS_SPEC.read_text())
    spec["rounds"]["quorum"] = 4
    bad = tmp_path / "quorum.json"
    bad.write_text(json.dumps(spec))
    _fails(market, market.submitter, "rounds", "post", str(bad), *reward, needle="quorum")
    poor = market.deployer.as_account(market.solver)  # holds 10,000 CROWD: not 6 x 2,000
    _fails(
        market, market.solver, "rounds", "post", str(ROUNDS_SPEC), "--unit-reward", "2000",
        needle="less than the escrow",
    )  # fmt: skip
    assert poor.rounds_market.rounds_job_count() == 0
