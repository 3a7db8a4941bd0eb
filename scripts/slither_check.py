"""Slither over the protocol contracts: print every High or Medium finding not in the triage file.

Run it with the Slither venv's interpreter (Slither pins web3 < 8, so it cannot share the node's venv):

    .venv-slither/bin/python scripts/slither_check.py           # untriaged and stale entries; rc 1 if any
    .venv-slither/bin/python scripts/slither_check.py --json    # every High/Medium finding, keyed

The contracts compile as one standard-JSON unit through ``scripts/solc`` (the solc-js facade) with the
deploy's settings: without ``viaIR`` they do not compile at all ("stack too deep"). Only the top-level
``contracts/*.sol`` are targets, so the test harnesses under ``contracts/test`` stay out; libraries and
interfaces come in through imports, OpenZeppelin's sources (``node_modules``) are filtered out.

A finding is keyed by detector, contract and element (function, ``function.local`` or state variable),
never by line, so a triage entry survives edits that move code. The triage lives in
``contracts/slither-triage.toml``, one ``[[finding]]`` per key with a one-line ``reason``. The pure
functions below are imported by tests/contracts/test_slither.py, which runs this script once; Slither
itself is imported only inside :func:`run_slither`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TRIAGE_FILE = REPO_ROOT / "contracts" / "slither-triage.toml"
FACADE = REPO_ROOT / "scripts" / "solc"
IMPACTS = ("High", "Medium")
# The compile settings of node/chain/compile.py (SETTINGS) that change the code Slither sees;
# tests/contracts/test_slither.py checks that both stay the same.
COMPILE_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "viaIR": True,
    "evmVersion": "cancun",
}

Key = tuple[str, str, str]


def finding_key(result: Mapping[str, Any]) -> Key:
    """(detector, contract, element) of one Slither result, from its first element's parent chain."""
    elements = result.get("elements") or [{}]
    names: list[str] = []
    contract = ""
    element: Mapping[str, Any] | None = elements[0]
    while element:
        kind = element.get("type")
        if kind == "contract":
            contract = str(element.get("name", ""))
            break
        if kind != "node":  # a node (statement) names nothing stable: its function does
            names.append(str(element.get("name", "")))
        element = (element.get("type_specific_fields") or {}).get("parent")
    return str(result["check"]), contract, ".".join(reversed(names))


def load_triage(path: Path = TRIAGE_FILE) -> dict[Key, str]:
    """The triage file as key -> reason; ValueError names an entry without a one-line reason."""
    entries = tomllib.loads(path.read_text()).get("finding", [])
    triage: dict[Key, str] = {}
    for entry in entries:
        key = (entry["detector"], entry["contract"], entry["element"])
        reason = str(entry.get("reason", "")).strip()
        if not reason or "\n" in reason:
            raise ValueError(f"{path.name}: entry {key} needs a one-line reason")
        if key in triage:
            raise ValueError(f"{path.name}: entry {key} is listed twice")
        triage[key] = reason
    return triage


def untriaged(
    findings: Iterable[Mapping[str, Any]], triage: Mapping[Key, str]
) -> list[Mapping[str, Any]]:
    """High/Medium findings whose key the triage does not list."""
    return [f for f in findings if f["impact"] in IMPACTS and tuple(f["key"]) not in triage]


def stale(findings: Iterable[Mapping[str, Any]], triage: Mapping[Key, str]) -> list[Key]:
    """Triage entries that no finding matches any more (the code they excused changed)."""
    seen = {tuple(f["key"]) for f in findings}
    return sorted(key for key in triage if key not in seen)


def run_slither() -> list[dict[str, Any]]:
    """Every High/Medium finding in contracts/*.sol, each with its key, impact and description."""
    from crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector, DetectorClassification

    unit = SolcStandardJson(
        {"language": "Solidity", "sources": {}, "settings": dict(COMPILE_SETTINGS)}
    )
    for source in sorted((REPO_ROOT / "contracts").glob("*.sol")):
        unit.add_source_file(str(source.relative_to(REPO_ROOT)))
    slither = Slither(
        CryticCompile(
            unit, solc=str(FACADE), solc_working_dir=str(REPO_ROOT), solc_disable_warnings=True
        ),
        filter_paths=["node_modules"],
    )
    wanted = {DetectorClassification.HIGH, DetectorClassification.MEDIUM}
    for detector in vars(all_detectors).values():
        if (
            isinstance(detector, type)
            and issubclass(detector, AbstractDetector)
            and detector.IMPACT in wanted
        ):
            slither.register_detector(detector)
    findings = []
    for results in slither.run_detectors():
        for result in results:
            findings.append(
                {
                    "key": list(finding_key(result)),
                    "impact": result["impact"],
                    "description": result["description"].strip(),
                }
            )
    return sorted(findings, key=lambda f: (f["key"], f["description"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", action="store_true", help="print every High/Medium finding as JSON"
    )
    parser.add_argument("--triage", type=Path, default=TRIAGE_FILE, help="triage file (TOML)")
    args = parser.parse_args(argv)
    findings = run_slither()
    if args.json:
        json.dump(findings, sys.stdout, indent=1)
        return 0
    triage = load_triage(args.triage)
    missing, gone = untriaged(findings, triage), stale(findings, triage)
    for finding in missing:
        detector, contract, element = finding["key"]
        print(f"UNTRIAGED {finding['impact']}: {detector} {contract} {element}")
        print("    " + finding["description"].splitlines()[0])
    for detector, contract, element in gone:
        print(f"STALE triage entry (no such finding): {detector} {contract} {element}")
    print(
        f"{len(findings)} High/Medium findings, {len(missing)} untriaged, {len(gone)} stale triage entries"
    )
    return 1 if missing or gone else 0


if __name__ == "__main__":
    sys.exit(main())
