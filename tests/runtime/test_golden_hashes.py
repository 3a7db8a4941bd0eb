"""The example specs' repro-v1 final stateHashes equal the ones stored in ``golden/repro_v1.json``.

The file was written on one machine; every CI machine that runs this test is another cross-hardware
check (docs/RUNTIME.md). Regenerate it (only for an intended change of the trace) with
``.venv/bin/python -m bench.repro_run --write-golden``.
"""

from __future__ import annotations

import json

import pytest
from test_repro_models import full_runs, short_runs

from bench.repro_run import FULL_JOBS, GOLDEN_PATH, SHORT_JOBS


def _golden() -> dict[str, str]:
    hashes: dict[str, str] = json.loads(GOLDEN_PATH.read_text())["hashes"]
    return hashes


def test_golden_file_covers_the_tested_runs() -> None:
    assert set(_golden()) == {j.arg() for j in (*SHORT_JOBS, *FULL_JOBS)}


@pytest.mark.slow
def test_short_runs_match_golden_hashes() -> None:
    got = {arg: r["final_state_hash"] for arg, r in short_runs().items()}
    assert got == {j.arg(): _golden()[j.arg()] for j in SHORT_JOBS}


@pytest.mark.slow
def test_full_runs_match_golden_hashes() -> None:
    got = {arg: r["final_state_hash"] for arg, r in full_runs(2).items()}
    assert got == {j.arg(): _golden()[j.arg()] for j in FULL_JOBS}
