"""The auction options that ``job submit`` and ``rounds post`` share (docs/MARKET.md, "Pricing").

``--reward`` (or ``--unit-reward``) is the cap; ``--floor`` and ``--ramp`` make the offer rise from the
floor to the cap over the ramp, ``--min-record`` admits only solvers with that many finalized jobs.
Bad combinations fail here with one line, before any transaction.
"""

from __future__ import annotations

from typing import Any

import typer

from cli.chain_cmds import fail, parse_amount

FloorOption = typer.Option(
    None,
    "--floor",
    help="Starting offer, CROWD: the offer rises from it to the reward (the cap, escrowed in full) "
    "over --ramp seconds; the first claim fixes the price and the rest is refunded. "
    "Default: a fixed price at the reward.",
)
RampOption = typer.Option(
    0, "--ramp", help="Seconds the offer takes to rise from --floor to the reward."
)
MinRecordOption = typer.Option(
    0, "--min-record", help="Admit only solvers with at least this many finalized jobs (0: anyone)."
)


def parse_price_terms(
    cap_wei: int, floor: str | None, ramp: int, min_record: int
) -> dict[str, Any]:
    """``floor``/``ramp``/``min_finalized`` keyword arguments of ``Protocol.post_job``."""
    from node.chain.job_market import price_terms

    floor_wei = None if floor is None else parse_amount(floor, "floor")
    try:
        price_terms(cap_wei, floor_wei, ramp, min_record)
    except ValueError as err:
        fail(f"invalid price terms: {err}")
    return {"floor": floor_wei, "ramp": ramp, "min_finalized": min_record}


def describe_terms(cap_wei: int, terms: dict[str, Any]) -> str:
    """A clause for the post's confirmation line ("" for a fixed price with no record needed)."""
    from node.chain.units import format_crowd

    floor = terms["floor"]
    parts = []
    if floor is not None and floor < cap_wei:
        parts.append(
            f"offer rises from {format_crowd(floor)} to {format_crowd(cap_wei)} CROWD "
            f"over {terms['ramp']} s"
        )
    if terms["min_finalized"]:
        parts.append(f"solvers need {terms['min_finalized']} finalized jobs")
    return "".join(f"; {part}" for part in parts)


def terms_json(cap_wei: int, terms: dict[str, Any]) -> dict[str, Any]:
    floor = terms["floor"]
    fixed = floor is None or floor == cap_wei
    return {
        "cap": str(cap_wei),
        "floor": str(cap_wei if fixed else floor),
        "ramp": 0 if fixed else terms["ramp"],
        "min_record": terms["min_finalized"],
    }
