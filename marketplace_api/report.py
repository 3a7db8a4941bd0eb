"""``demo-report.html``: one self-contained page (inline CSS and SVG, no script, no external
asset) telling what a demo run did: each rounds job's rounds-by-slots grid, its loss per round,
the dispute timeline, and every party's balance before and after.

The input is a ``DemoOutcome``: the API's own models (``RoundsJobDetail``, ``DisputePublic``) plus
the balances the demo read from the chain, so the page shows what the indexer indexed and the
same outcome can be stored as JSON and rendered again.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from pydantic import BaseModel

from marketplace_api.dispute_schemas import DisputePublic
from marketplace_api.rounds_schemas import RoundPublic, RoundsJobDetail, UnitPublic

WEI_PER_CROWD = 10**18


class Balance(BaseModel):
    """A party's CROWD (wallet + stake) before and after the run, in wei."""

    party: str
    address: str | None = None
    before: str
    after: str


class Stage(BaseModel):
    name: str
    seconds: float


class DemoOutcome(BaseModel):
    title: str = "crowdtrain demo"
    rounds: list[RoundsJobDetail] = []
    disputes: list[DisputePublic] = []
    balances: list[Balance] = []
    stages: list[Stage] = []
    parties: dict[str, str] = {}
    """Address → the party's name in the story (solver-1, cheating solver, …)."""


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
.unit.finalized{background:#e8f6e8}.unit.convicted{background:#fde8e8}
.unit.excluded{background:#f4f4f4;color:#777}.tag{font-size:.8em;padding:0 .4em;border-radius:3px}
.tag.in{background:#cfeccf}.tag.out{background:#eee}.tag.bad{background:#f6c3c3}
.pos{color:#176317}.neg{color:#a11}small{color:#666}
"""


def render_report(outcome: DemoOutcome) -> str:
    """The whole page as one string."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(outcome.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(outcome.title)}</h1>",
    ]
    for job in outcome.rounds:
        parts.append(_rounds_section(job, outcome.parties))
    parts.append(_disputes_section(outcome.disputes, outcome.parties))
    parts.append(_balances_section(outcome.balances))
    if outcome.stages:
        parts.append(_stages_section(outcome.stages))
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _who(address: str | None, parties: dict[str, str]) -> str:
    if address is None:
        return "-"
    name = parties.get(address)
    short = f"{address[:6]}…{address[-4:]}"
    return f"{_e(name)} <small>{_e(short)}</small>" if name else f"<small>{_e(short)}</small>"


def _crowd(wei: int) -> str:
    return f"{wei / WEI_PER_CROWD:,.2f}"


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _rounds_section(job: RoundsJobDetail, parties: dict[str, str]) -> str:
    head = (
        f"<h2>Rounds job {job.rounds_id}: W={job.workers}, R={job.rounds}, "
        f"quorum {job.quorum} ({_e(job.status)})</h2>"
        f"<p>submitter {_who(job.submitter, parties)}; escrow {_crowd(int(job.escrow))} CROWD "
        f"(W·R·(reward {_crowd(int(job.unit_reward))} + fee "
        f"{_crowd(int(job.unit_verifier_fee))})); spec <small>{_e(job.spec_address)}</small></p>"
    )
    header = "".join(f"<th>slot {w}</th>" for w in range(job.workers))
    rows = "".join(_grid_row(row, parties) for row in job.grid)
    grid = (
        f'<table class="grid"><tr><th>round</th>{header}<th>included</th>'
        f"<th>loss</th></tr>{rows}</table>"
    )
    return head + grid + _loss_chart(job.grid)


def _grid_row(row: RoundPublic, parties: dict[str, str]) -> str:
    cells = "".join(_unit_cell(u, parties) for u in row.units)
    included = ", ".join(str(w) for w in row.included) if row.status == "closed" else row.status
    return (
        f"<tr><th>{row.round}</th>{cells}<td>{_e(included)}</td>"
        f'<td class="num">{_loss(row.loss)}</td></tr>'
    )


def _unit_cell(unit: UnitPublic, parties: dict[str, str]) -> str:
    classes = ["unit", unit.status]
    if unit.convicted:
        classes.append("convicted")
    if unit.included is False:
        classes.append("excluded")
    tags = []
    if unit.included is True:
        tags.append('<span class="tag in">included</span>')
    elif unit.included is False:
        tags.append('<span class="tag out">excluded</span>')
    for cheater in unit.convicted:
        tags.append(f'<span class="tag bad">convicted: {_who(cheater, parties)}</span>')
    return (
        f'<td class="{" ".join(classes)}">job {unit.job_id} · {_e(unit.status)}<br>'
        f"solver {_who(unit.solver, parties)}<br>"
        f"attestations {unit.attestations} · disputes {unit.disputes} · "
        f"loss {_loss(unit.loss)}<br>{' '.join(tags)}</td>"
    )


def _loss_chart(grid: list[RoundPublic]) -> str:
    """The loss per round as a table and an inline SVG line (no script, no external asset)."""
    points = [(row.round, row.loss) for row in grid if row.loss is not None]
    table = "".join(
        f'<tr><td>{row.round}</td><td class="num">{_loss(row.loss)}</td>'
        f'<td class="num">{_loss(row.validation_loss)}</td></tr>'
        for row in grid
    )
    out = (
        '<h3>Loss per round</h3><table class="losses"><tr><th>round</th><th>loss</th>'
        f"<th>validation loss</th></tr>{table}</table>"
    )
    if len(points) < 2:
        return out
    width, height, pad = 360, 160, 24
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0
    last = max(r for r, _ in points) or 1
    xy = " ".join(
        f"{pad + (width - 2 * pad) * r / last:.1f},{pad + (height - 2 * pad) * (hi - v) / span:.1f}"
        for r, v in points
    )
    return out + (
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="loss per round"><rect width="100%" height="100%" fill="#fafafa"/>'
        f'<polyline fill="none" stroke="#2a62b8" stroke-width="2" points="{xy}"/></svg>'
    )


def _disputes_section(disputes: list[DisputePublic], parties: dict[str, str]) -> str:
    if not disputes:
        return "<h2>Dispute timeline</h2><p>No dispute was opened.</p>"
    rows = []
    for d in disputes:
        rows.append(
            f'<tr class="dispute"><th colspan="4">dispute {d.dispute_id} on job {d.job_id} '
            f"(attempt {d.attempt}, {_e(d.kind)}, segment {d.segment}): challenger "
            f"{_who(d.challenger, parties)} vs solver {_who(d.solver, parties)} → "
            f"{_e(d.outcome)}</th></tr>"
        )
        for move in d.moves:
            rows.append(
                f"<tr><td>{_time(move.block_time)}</td><td>block {move.block_number}</td>"
                f"<td>{_e(move.name)}</td><td>{_e(move.role)} {_who(move.actor, parties)}</td></tr>"
            )
    return (
        "<h2>Dispute timeline</h2><table><tr><th>time (UTC)</th><th>block</th><th>event</th>"
        f"<th>by</th></tr>{''.join(rows)}</table>"
    )


def _time(stamp: int | None) -> str:
    return "-" if stamp is None else datetime.fromtimestamp(stamp, UTC).strftime("%H:%M:%S")


def _balances_section(balances: list[Balance]) -> str:
    rows = []
    for b in balances:
        before, after = int(b.before), int(b.after)
        change = after - before
        cls = "pos" if change > 0 else "neg" if change < 0 else ""
        rows.append(
            f'<tr><td>{_e(b.party)}</td><td class="num">{_crowd(before)}</td>'
            f'<td class="num">{_crowd(after)}</td>'
            f'<td class="num {cls}">{"+" if change > 0 else ""}{_crowd(change)}</td></tr>'
        )
    return (
        "<h2>Balances (CROWD, wallet + stake)</h2><table><tr><th>party</th><th>before</th>"
        f"<th>after</th><th>change</th></tr>{''.join(rows)}</table>"
    )


def _stages_section(stages: list[Stage]) -> str:
    rows = "".join(
        f'<tr><td>{_e(s.name)}</td><td class="num">{s.seconds:.1f}</td></tr>' for s in stages
    )
    total = sum(s.seconds for s in stages)
    return (
        "<h2>Stages</h2><table><tr><th>stage</th><th>seconds</th></tr>"
        f'{rows}<tr><th>total</th><th class="num">{total:.1f}</th></tr></table>'
    )
