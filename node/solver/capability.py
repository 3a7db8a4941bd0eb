"""What this solver's machine can run: its device, usable memory and measured throughput.

The daemon measures it once at start and hands it to ``node.solver.policy.judge`` for every open
job, so it never claims a job its machine cannot hold in memory or finish before the solve
deadline (docs/MARKET.md "Daemon policy"). The throughput is the expensive part: it comes from
EST's calibration (``node.training.calibrate``), cached under the node home so a restart does not
measure again. Memory is cheap to read and changes with what else runs, so it is read at each
start; an operator who shares the machine caps it with ``--memory-limit``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from node.errors import ConfigError
from node.training.spec import RequirementsSpec

MEMINFO = Path("/proc/meminfo")
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)
CGROUP_USAGE = (
    Path("/sys/fs/cgroup/memory.current"),
    Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class Capability:
    """One solver machine as the claim policy sees it.

    ``device``: the torch device type it trains on (``cpu`` or ``cuda``); ``memory_bytes``: the
    memory a training run may use there; ``flops_per_second``: measured throughput per runtime
    (``repro-v1``, ``native``), in the FLOPs ``node.training.estimate`` counts."""

    device: str
    memory_bytes: int
    flops_per_second: Mapping[str, float]


def measure_capability(
    cache_dir: Path, *, memory_limit: int | None = None, device: str = "cpu"
) -> Capability:
    """This machine's capability for training on ``device`` (``cpu``, ``cuda``, ``cuda:N``).

    Throughput from the cached calibration (measured on first use, then read back); memory is
    ``memory_limit`` when given (the operator's word wins: the node may share the machine), else
    what the device has free now."""
    from node.training.calibrate import load_calibration

    kind = device.split(":", 1)[0]
    if kind not in ("cpu", "cuda"):
        raise ConfigError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    if memory_limit is not None and memory_limit < 1:
        raise ConfigError(f"memory limit must be at least 1 byte, got {memory_limit}")
    calibration = load_calibration(cache_dir, kind)
    memory = memory_limit if memory_limit is not None else usable_memory(device)
    return Capability(kind, memory, dict(calibration.flops_per_second))


def usable_memory(device: str) -> int:
    """Bytes a training run may allocate on ``device`` now: free CUDA memory, or the host's
    available memory (``MemAvailable``) within the container's cgroup limit."""
    if device.startswith("cuda"):
        import torch

        index = int(device.split(":", 1)[1]) if ":" in device else None
        free, _total = torch.cuda.mem_get_info(index)
        return int(free)
    available = _meminfo_available()
    room = _cgroup_room()
    return available if room is None else min(available, room)


def _meminfo_available() -> int:
    for line in MEMINFO.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise ConfigError(f"{MEMINFO} has no MemAvailable line: pass --memory-limit")


def _cgroup_room() -> int | None:
    """Limit minus usage of this process's memory cgroup, or None when unlimited/unknown."""
    for limit_path, usage_path in zip(CGROUP_LIMITS, CGROUP_USAGE, strict=True):
        try:
            limit_text = limit_path.read_text().strip()
            usage = int(usage_path.read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or not limit_text.isdigit() or int(limit_text) >= 1 << 60:
            return None
        return max(0, int(limit_text) - usage)
    return None


def parse_memory_size(text: str, what: str = "--memory-limit") -> int:
    """``8GiB``, ``512MiB``, ``16GB``, ``1.5GiB`` or plain bytes, as bytes; ConfigError naming
    ``what`` otherwise (binary units are powers of 1024, decimal ones of 1000)."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ConfigError(
            f"{what}: expected bytes or a size such as 8GiB, 512MiB or 16GB, got {text[:40]!r}"
        )
    value = int(Fraction(match.group(1)) * _UNITS[unit])  # exact: no float rounding of bytes
    if value < 1 or value >= 1 << 64:
        raise ConfigError(f"{what}: {text[:40]!r} is out of range (1 byte to 16 EiB)")
    return value


def format_memory_size(size: int) -> str:
    """``size`` bytes for a person: ``8.0 GiB``, ``512.0 MiB``, ``100 B``."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def describe_requirements(requirements: RequirementsSpec | None) -> str:
    """A job's requirements on one line, as listings show them: ``cuda, >= 8.0 GiB memory``;
    ``any device, memory from the estimate`` for a spec without the section."""
    if requirements is None:
        return "any device, memory from the estimate"
    device = "any device" if requirements.device == "any" else requirements.device
    if requirements.min_memory_bytes is None:
        return f"{device}, memory from the estimate"
    return f"{device}, >= {format_memory_size(requirements.min_memory_bytes)} memory"
