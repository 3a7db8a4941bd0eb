"""``demo-report.html`` (marketplace_api.report) from a recorded demo outcome: the page a user opens
after `make demo` shows the rounds-by-slots grid with the cheater's unit convicted and left out, the
loss per round, the dispute timeline and every party's balance change, and it loads nothing from
anywhere else."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

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


def _outcome() -> DemoOutcome:
    return DemoOutcome.model_validate(json.loads(RECORDED.read_text()))


def _page(outcome: DemoOutcome) -> tuple[str, _Page]:
    text = render_report(outcome)
    page = _Page()
    page.feed(text)
    page.close()
    return text, page


def test_report_shows_the_grid_losses_disputes_and_balances() -> None:
    outcome = _outcome()
    text, page = _page(outcome)
    job = outcome.rounds[0]
    assert (job.workers, job.rounds) == (3, 2)
    # the grid: one row per round, one cell per slot, naming each unit's job and solver
    for row in job.grid:
        for unit in row.units:
            cell = next(c for c in page.cells if c.startswith(f"job {unit.job_id} ·"))
            assert unit.status in cell
            assert ("included" in cell) is bool(unit.included)
    convicted = [u for row in job.grid for u in row.units if u.convicted]
    assert convicted, "the recorded outcome has the first round's cheater"
    for unit in convicted:
        cell = next(c for c in page.cells if c.startswith(f"job {unit.job_id} ·"))
        for cheater in unit.convicted:
            assert f"convicted: {outcome.parties[cheater]}" in cell
    # loss per round: the rounds table lists each closed round's mean loss to 4 decimals
    for row in job.grid:
        assert row.loss is not None
        assert f"{row.loss:.4f}" in page.cells
    assert "svg" in page.tags  # and the curve
    # the dispute timeline: every dispute and each of its moves
    for dispute in outcome.disputes:
        assert any(
            c.startswith(f"dispute {dispute.dispute_id} on job {dispute.job_id}")
            for c in page.cells
        )
        for move in dispute.moves:
            assert f"block {move.block_number}" in page.cells
    # balances: each party's change, signed, in CROWD
    for b in outcome.balances:
        change = (int(b.after) - int(b.before)) / 10**18
        row_at = page.cells.index(b.party)
        assert page.cells[row_at + 3] == ("+" if change > 0 else "") + f"{change:,.2f}"
    assert "<script" not in text.lower()
    assert page.loads == []  # self-contained: nothing to fetch
    assert not re.search(r"url\(|@import", text)


def test_report_escapes_what_came_from_the_chain() -> None:
    """Party names and event names reach the page as text, never as markup."""
    outcome = _outcome()
    outcome.balances[0].party = "<img src=x onerror=alert(1)>"
    outcome.title = "demo </title><script>alert(1)</script>"
    text, page = _page(outcome)
    assert "<img" not in text and "<script" not in text
    assert "<img src=x onerror=alert(1)>" in page.cells
    assert page.loads == []
