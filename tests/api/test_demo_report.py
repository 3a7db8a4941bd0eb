"""``demo-report.html`` (marketplace_api.report): the page a user opens after `make demo` shows
the rounds-by-slots grid (a convicted cheater's unit marked and left out), the loss per round, the
dispute timeline and every party's balance change, and it loads nothing from anywhere else.

``check_report`` is shared with the small real run of ``test_api_rounds`` (Anvil, the indexer and
the API's own JSON); here it reads an outcome recorded by a real `make demo` run, when present."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from marketplace_api.report import DemoOutcome, render_report

RECORDED = Path(__file__).parent / "data" / "demo_outcome.json"


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


def _recorded() -> DemoOutcome:
    if not RECORDED.is_file():
        pytest.skip("no recorded demo outcome (run `make demo` and copy demo-outcome.json)")
    return DemoOutcome.model_validate(json.loads(RECORDED.read_text()))


def test_report_of_a_recorded_demo() -> None:
    outcome = _recorded()
    check_report(outcome)
    job = outcome.rounds[0]
    assert (job.workers, job.rounds, job.status) == (3, 2, "finished")
    assert any(u.convicted for row in job.grid for u in row.units), "the cheater's unit"
    assert any(d.outcome == "solver_wrong" for d in outcome.disputes)


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
