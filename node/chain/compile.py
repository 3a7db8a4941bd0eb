"""Compile the Solidity sources through py-solc-x and the solc-js facade (the README's Compiler section).

Artifacts (ABI + bytecode per contract) land in the git-ignored ``build/contracts`` folder. A
fingerprint of every source and of the compiler settings is stored beside them, so an unchanged
tree is never recompiled: the compiler is the slowest part of a cold start.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from node.errors import CompilationError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = REPO_ROOT / "build" / "contracts"
FACADE = REPO_ROOT / "scripts" / "solc"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "viaIR": True,
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what deployment and the typed adapters need."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str

    @property
    def abi_hash(self) -> str:
        canonical = json.dumps(self.abi, sort_keys=True, separators=(",", ":")).encode()
        return "0x" + hashlib.sha256(canonical).hexdigest()


def solc_binary() -> str:
    """A native ``solc`` when one is on PATH, else the solc-js facade."""
    native = shutil.which("solc")
    return native if native else str(FACADE)


def _sources() -> dict[str, Path]:
    return {str(path.relative_to(REPO_ROOT)): path for path in sorted(CONTRACTS_DIR.rglob("*.sol"))}


def _fingerprint(sources: dict[str, Path]) -> str:
    digest = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode())
    for name, path in sources.items():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def compile_contracts(*, force: bool = False, build_dir: Path = BUILD_DIR) -> list[str]:
    """Compile every source under ``contracts/``; return the contract names written.

    Raises:
        CompilationError: the compiler reported errors; its message lists them as file:line.
    """
    sources = _sources()
    fingerprint = _fingerprint(sources)
    stamp = build_dir / "fingerprint"
    if not force and stamp.exists() and stamp.read_text() == fingerprint:
        return sorted(p.stem for p in build_dir.glob("*.json"))

    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text()} for name, path in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=solc_binary(), allow_empty=True)
    except SolcError as err:
        raise CompilationError(_format_errors(getattr(err, "stdout_data", "") or str(err))) from err
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e["formattedMessage"] for e in errors))

    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    written: list[str] = []
    for source_name, contracts in output.get("contracts", {}).items():
        if not source_name.startswith("contracts/"):
            continue
        for name, data in contracts.items():
            bytecode = data["evm"]["bytecode"]["object"]
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode if bytecode else "0x",
            }
            (build_dir / f"{name}.json").write_text(json.dumps(artifact, indent=1))
            written.append(name)
    stamp.write_text(fingerprint)
    return sorted(written)


def _format_errors(raw: str) -> str:
    try:
        data = json.loads(raw[raw.index("{") :])
    except (ValueError, json.JSONDecodeError):
        return raw
    return "\n".join(e.get("formattedMessage", str(e)) for e in data.get("errors", []))


def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> Artifact:
    """Load a compiled contract, compiling first if the build folder is stale or missing."""
    compile_contracts(build_dir=build_dir)
    path = build_dir / f"{name}.json"
    if not path.exists():
        raise CompilationError(f"no compiled contract named {name!r} in {build_dir}")
    data = json.loads(path.read_text())
    return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"])
