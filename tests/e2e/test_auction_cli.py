"""`crowdtrain job submit --floor --ramp --min-record` and `rounds post` with the same flags
(docs/MARKET.md, "Pricing"): the terms reach the chain as given, and bad terms fail with one line
before any token moves."""

from __future__ import annotations

import pytest
from market_kit import REPO, Market, json_line, submit_example
from test_bad_input import _fails

from node.chain.types import JobTerms
from node.chain.units import CROWD

pytestmark = [pytest.mark.chain]

SPEC = str(REPO / "examples/specs/mlp_digits.json")


@pytest.fixture
def prepared(market: Market) -> Market:
    market.cli(market.submitter, "data", "prepare", "digits")
    return market


def test_submit_posts_an_auction(prepared: Market) -> None:
    job_id = submit_example(
        prepared,
        "mlp_digits",
        "--reward",
        "10",
        "--floor",
        "2.5",
        "--ramp",
        "600",
        "--min-record",
        "3",
    )
    terms = prepared.deployer.market.terms_of(job_id)
    assert terms == JobTerms(25 * CROWD // 10, 10 * CROWD, terms.ramp_start, 600, 3)
    assert terms.ramp_start > 0


def test_submit_prints_the_terms(prepared: Market) -> None:
    out = prepared.cli(
        prepared.submitter, "job", "submit", SPEC, "--reward", "10", "--floor", "4", "--ramp", "60"
    ).stdout
    assert "offer rises from 4 to 10 CROWD over 60 s" in out


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (("--floor", "11"), "at most the reward"),
        (("--floor", "4"), "needs a ramp"),
        (("--floor", "abc", "--ramp", "60"), "floor"),
        (("--ramp", "-5"), "must not be negative"),
    ],
)
def test_submit_rejects_bad_terms(prepared: Market, options: tuple[str, ...], needle: str) -> None:
    _fails(
        prepared,
        prepared.submitter,
        "job",
        "submit",
        SPEC,
        "--reward",
        "10",
        *options,
        needle=needle,
    )


def test_rounds_post_prices_each_unit(prepared: Market) -> None:
    out = prepared.cli(
        prepared.submitter,
        "rounds",
        "post",
        str(REPO / "examples" / "specs" / "mlp_digits_rounds.json"),
        "--unit-reward",
        "3",
        "--floor",
        "1",
        "--ramp",
        "120",
        "--json",
    ).stdout
    posted = json_line(out)
    assert (posted["floor"], posted["ramp"]) == (str(CROWD), 120)
    rounds_id = int(posted["rounds_id"])  # type: ignore[arg-type]
    chain = prepared.deployer
    workers = chain.rounds_market.get_rounds_job(rounds_id).workers
    for slot in range(workers):
        unit = chain.rounds_market.unit_job(rounds_id, 0, slot)
        assert unit is not None
        terms = chain.market.terms_of(unit)
        assert (terms.floor, terms.cap, terms.ramp) == (CROWD, 3 * CROWD, 120)
