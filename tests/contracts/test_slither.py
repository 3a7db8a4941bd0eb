"""Slither in the test run: every High/Medium finding on contracts/*.sol is fixed or triaged.

Slither runs once per session in its own venv (it pins web3 < 8) through scripts/slither_check.py;
the triage comparison is that script's own pure functions, so the command the lead runs by hand and
this test cannot disagree.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from node.chain.compile import REPO_ROOT, SETTINGS

SCRIPT = REPO_ROOT / "scripts" / "slither_check.py"
SLITHER_PYTHON = REPO_ROOT / ".venv-slither" / "bin" / "python"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slither_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["slither_check"] = module
    spec.loader.exec_module(module)
    return module


check = _load_script()


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    assert SLITHER_PYTHON.exists(), (
        "Slither's venv is missing: run `make setup` (it builds .venv-slither)"
    )
    out = subprocess.run(
        [str(SLITHER_PYTHON), str(SCRIPT), "--json"], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"Slither did not run: {out.stderr[-2000:]}"
    result: list[dict[str, Any]] = json.loads(out.stdout)
    return result


def _listing(items: list[Any]) -> str:
    return "\n".join(str(item) for item in items)


@pytest.mark.slow
def test_no_untriaged_high_or_medium_finding(findings: list[dict[str, Any]]) -> None:
    missing = check.untriaged(findings, check.load_triage())
    assert not missing, (
        "Slither High/Medium findings not in contracts/slither-triage.toml (fix them or triage them):\n"
        + _listing([(f["key"], f["description"].splitlines()[0]) for f in missing])
    )


@pytest.mark.slow
def test_every_triage_entry_still_matches_a_finding(findings: list[dict[str, Any]]) -> None:
    gone = check.stale(findings, check.load_triage())
    assert not gone, (
        "triage entries that no Slither finding matches any more (remove them):\n" + _listing(gone)
    )


@pytest.mark.slow
def test_an_empty_triage_lets_every_finding_through(findings: list[dict[str, Any]]) -> None:
    # The negative control: the analysis does find things, and the triage is what lets them pass.
    assert findings, "Slither reported nothing at all: the analysis did not look at the contracts"
    assert check.untriaged(findings, {}) == [
        f for f in findings if f["impact"] in ("High", "Medium")
    ]
    assert all(key[1] and key[2] for key in (tuple(f["key"]) for f in findings)), (
        "a finding without a stable key"
    )


def test_slither_compiles_with_the_deploy_settings() -> None:
    for name, value in check.COMPILE_SETTINGS.items():
        assert SETTINGS[name] == value, (
            f"scripts/slither_check.py compiles with {name}={value}, the deploy with {SETTINGS[name]}"
        )


def test_finding_key_names_contract_function_and_local_not_lines() -> None:
    contract = {"type": "contract", "name": "StakeRegistry"}
    function = {
        "type": "function",
        "name": "drawVerifiers",
        "type_specific_fields": {"parent": contract},
    }
    local = {"type": "variable", "name": "taken", "type_specific_fields": {"parent": function}}
    node = {"type": "node", "name": "taken ++", "type_specific_fields": {"parent": function}}
    assert check.finding_key({"check": "uninitialized-local", "elements": [local]}) == (
        "uninitialized-local",
        "StakeRegistry",
        "drawVerifiers.taken",
    )
    assert check.finding_key({"check": "x", "elements": [node]}) == (
        "x",
        "StakeRegistry",
        "drawVerifiers",
    )


def test_triage_entry_without_a_one_line_reason_is_refused(tmp_path: Path) -> None:
    triage = tmp_path / "triage.toml"
    triage.write_text('[[finding]]\ndetector = "d"\ncontract = "C"\nelement = "f"\nreason = ""\n')
    with pytest.raises(ValueError, match=r"needs a one-line reason"):
        check.load_triage(triage)
