"""``demo-report.html`` (marketplace_api.report): the page a user opens after `make demo` shows
the rounds-by-slots grid (a convicted cheater's unit marked and left out), the loss per round, the
dispute timeline and every party's balance change, and it loads nothing from anywhere else.

``check_report`` runs on the report of a small real run in ``test_api_rounds`` (Anvil, the indexer
and the API's own JSON)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from api_dispute_kit import play
from api_kit import Market, make_app
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from marketplace_api.api.state import AppState
from marketplace_api.report import DemoOutcome, render_report


class _Page(HTMLParser):
    """Collects the text of each table cell and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.loads: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "action") and value:
                self.loads.append((tag, name, value))
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(outcome: DemoOutcome) -> tuple[str, _Page]:
    text = render_report(outcome)
    page = _Page()
    page.feed(text)
    page.close()
    return text, page


def check_report(outcome: DemoOutcome) -> _Page:
    """Every fact of the outcome is on the page, and the page is self-contained."""
    text, page = parse(outcome)
    for job in outcome.rounds:
        for row in job.grid:
            for unit in row.units:
                cell = next(c for c in page.cells if c.startswith(f"job {unit.job_id} ·"))
                assert unit.status in cell
                assert ("included" in cell) is bool(unit.included)
                assert ("excluded" in cell) is (unit.included is False)
                for cheater in unit.convicted:
                    assert f"convicted: {outcome.parties.get(cheater, cheater[:6])}" in cell
            if row.loss is not None:
                assert f"{row.loss:.4f}" in page.cells
        assert "svg" in page.tags or len([r for r in job.grid if r.loss is not None]) < 2
    for dispute in outcome.disputes:
        head = f"dispute {dispute.dispute_id} on job {dispute.job_id}"
        assert any(c.startswith(head) and dispute.outcome in c for c in page.cells)
        for move in dispute.moves:
            assert f"block {move.block_number}" in page.cells
    for b in outcome.balances:
        change = (int(b.after) - int(b.before)) / 10**18
        row_at = page.cells.index(b.party)
        assert page.cells[row_at + 3] == ("+" if change > 0 else "") + f"{change:,.2f}"
    assert "<script" not in text.lower()
    assert page.loads == []  # nothing to fetch
    assert not re.search(r"url\(|@import", text)
    return page


def test_report_escapes_what_came_from_the_chain() -> None:
    """Party names and titles reach the page as text, never as markup."""
    outcome = DemoOutcome(
        title="demo </title><script>alert(1)</script>",
        balances=[{"party": "<img src=x onerror=alert(1)>", "before": "0", "after": "10"}],  # type: ignore[list-item]
    )
    text, page = parse(outcome)
    assert "<img" not in text and "<script" not in text
    assert "<img src=x onerror=alert(1)>" in page.cells
    assert page.loads == []


@pytest.mark.chain
def test_report_shows_a_real_dispute_timeline(
    market: Market, state: AppState, dev_accounts: list[LocalAccount]
) -> None:
    """A dispute played on Anvil (a wrong challenge, bisected, lost at the jury) and indexed:
    the report lists it with its outcome and every move, with who moved, in chain order."""
    played = play(market, dev_accounts[4:9])
    market.indexer(state).run_until_head()
    with TestClient(make_app(state)) as client:
        disputes = client.get("/disputes", params={"order": "oldest"}).json()["items"]
    names = {played.challenger: "challenger", market.solver.address: "solver"}
    outcome = DemoOutcome.model_validate({"disputes": disputes, "parties": names})
    page = check_report(outcome)
    (dispute,) = outcome.disputes
    assert dispute.outcome == "challenger_wrong" and len(dispute.moves) >= len(played.moves)
    head = next(c for c in page.cells if c.startswith(f"dispute {played.dispute_id} on job"))
    assert "challenger challenger" in head and "solver solver" in head
    moved = [c for c in page.cells if c in {m.name for m in dispute.moves}]
    assert moved == [m.name for m in dispute.moves]  # every move, in chain order
