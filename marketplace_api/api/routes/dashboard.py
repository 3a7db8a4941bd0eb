"""Dashboard pages: server-rendered shells that ``/static/app.js`` fills from the JSON API and
refreshes every second (polling keeps it working behind any proxy; no CDN, no build step)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from marketplace_api.api.routes.common import JobIdPath
from marketplace_api.api.routes.rounds import RoundsIdPath

router = APIRouter(tags=["dashboard"], default_response_class=HTMLResponse)

NAV = (
    ("/", "Overview"),
    ("/ui/jobs", "Jobs"),
    ("/ui/rounds", "Rounds"),
    ("/ui/market", "Market"),
    ("/ui/disputes", "Disputes"),
    ("/ui/leaderboards", "Leaderboards"),
)


def page(
    title: str, name: str, body: str, *, scripts: tuple[str, ...] = (), **data: str | int
) -> HTMLResponse:
    attrs = " ".join(f'data-{k.replace("_", "-")}="{escape(str(v))}"' for k, v in data.items())
    nav = " ".join(f'<a href="{href}">{label}</a>' for href, label in NAV)
    extra = "".join(f'\n<script src="/static/{escape(s)}"></script>' for s in scripts)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · crowdtrain</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body data-page="{name}" {attrs}>
<header><strong>crowdtrain</strong> <nav>{nav}</nav>
<span id="live" title="refreshes every second">●&nbsp;live</span></header>
<main>{body}</main>
<script src="/static/app.js"></script>{extra}
</body></html>"""
    return HTMLResponse(html)


@router.get("/", response_class=HTMLResponse)
def overview() -> HTMLResponse:
    """Network overview: totals, jobs by status, the latest jobs."""
    return page(
        "Overview",
        "overview",
        '<h1>Network</h1><section id="stats" class="cards"></section>'
        '<h2>Latest jobs</h2><table id="jobs"></table>',
    )


@router.get("/ui/jobs", response_class=HTMLResponse)
def jobs_table() -> HTMLResponse:
    """Every job, newest first, with a status filter."""
    return page(
        "Jobs",
        "jobs",
        '<h1>Jobs</h1><label>status <select id="status"><option value="">any</option>'
        + "".join(
            f'<option value="{s}">{s}</option>'
            for s in ("open", "claimed", "committed", "finalized", "cancelled")
        )
        + '</select></label> <span id="total"></span><table id="jobs"></table>',
    )


@router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: JobIdPath) -> HTMLResponse:
    """One job: its state, trace summary, loss curve chart and dispute timeline."""
    return page(
        f"Job {job_id}",
        "job",
        f'<h1>Job {job_id}</h1><section id="job" class="cards"></section>'
        '<h2>Loss curve</h2><div id="loss-curve" class="chart"></div>'
        '<h2>Trace</h2><dl id="trace"></dl>'
        '<h2>Attestations</h2><table id="attestations"></table>'
        '<h2>Disputes</h2><table id="disputes"></table>'
        '<h2>Timeline</h2><ol id="timeline" class="timeline"></ol>',
        job_id=job_id,
    )


@router.get("/ui/disputes", response_class=HTMLResponse)
def disputes_page() -> HTMLResponse:
    """Every dispute, newest first, with an outcome filter; each row links to its job."""
    return page(
        "Disputes",
        "disputes",
        '<h1>Disputes</h1><label>outcome <select id="outcome"><option value="">any</option>'
        + "".join(
            f'<option value="{o}">{o}</option>'
            for o in ("none", "solver_wrong", "challenger_wrong", "void")
        )
        + '</select></label> <span id="total"></span><table id="disputes"></table>',
    )


@router.get("/ui/leaderboards", response_class=HTMLResponse)
def leaderboards() -> HTMLResponse:
    """Solvers by earnings, verifiers by attestations and stake."""
    return page(
        "Leaderboards",
        "leaderboards",
        '<h1>Solvers</h1><table id="solvers"></table>'
        '<h1>Verifiers</h1><table id="verifiers"></table>',
    )


@router.get("/ui/rounds", response_class=HTMLResponse)
def rounds_table() -> HTMLResponse:
    """Every rounds job, newest first."""
    return page(
        "Rounds jobs",
        "rounds",
        '<h1>Rounds jobs</h1><span id="total"></span><table id="rounds"></table>',
    )


@router.get("/ui/rounds/{rounds_id}", response_class=HTMLResponse)
def rounds_page(rounds_id: RoundsIdPath) -> HTMLResponse:
    """One rounds job: the rounds-by-slots grid (each unit links to its job page) and the loss
    per round."""
    return page(
        f"Rounds job {rounds_id}",
        "roundsjob",
        f'<h1>Rounds job {rounds_id}</h1><section id="rounds-job" class="cards"></section>'
        '<h2>Rounds by slots</h2><table id="grid" class="grid"></table>'
        '<h2>Loss per round</h2><div id="round-loss" class="chart"></div>',
        rounds_id=rounds_id,
    )


@router.get("/ui/market", response_class=HTMLResponse)
def market_page() -> HTMLResponse:
    """The market: the order book (open jobs by price per PFLOP, offers moving with the ramp),
    the clearing price per PFLOP of every claim over time, and the solvers' track records."""
    return page(
        "Market",
        "market",
        '<h1>Order book</h1><p id="book-now"></p><table id="book"></table>'
        '<h2>Clearing price per PFLOP</h2><div id="clearing-chart" class="chart"></div>'
        '<h2>Solver records</h2><table id="records"></table>',
        scripts=("market.js",),
    )
