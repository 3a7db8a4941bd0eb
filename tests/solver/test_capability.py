"""The solver machine's capability: memory sizes as operators write them, the memory a run may
use (an operator's limit wins), and the throughput from the cached calibration."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from node.errors import ConfigError
from node.solver.capability import (
    format_memory_size,
    measure_capability,
    parse_memory_size,
    usable_memory,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8GiB", 8 << 30),
        ("8gib", 8 << 30),
        ("512 MiB", 512 << 20),
        ("1.5GiB", 3 << 29),
        ("16GB", 16 * 10**9),
        ("4096", 4096),
        ("4096B", 4096),
        ("12345678901234567", 12345678901234567),  # exact: no float rounding
        ("1KiB", 1024),
        ("2TiB", 2 << 40),
    ],
)
def test_memory_sizes(text: str, size: int) -> None:
    assert parse_memory_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8 gigs", "--memory-limit: expected bytes or a size such as 8GiB"),
        ("-1GiB", "--memory-limit: expected bytes or a size"),
        ("", "--memory-limit: expected bytes or a size"),
        ("GiB", "--memory-limit: expected bytes or a size"),
        ("0", r"--memory-limit: '0' is out of range"),
        ("0.1B", r"--memory-limit: '0.1B' is out of range"),
        ("99999999TiB", r"--memory-limit: '99999999TiB' is out of range"),
    ],
)
def test_bad_memory_sizes_name_the_option(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_memory_size(text)


def test_memory_sizes_for_people() -> None:
    assert format_memory_size(8 << 30) == "8.0 GiB"
    assert format_memory_size(3 << 29) == "1.5 GiB"
    assert format_memory_size(100) == "100 B"
    assert format_memory_size(2048) == "2.0 KiB"


def test_host_memory_is_what_is_available_now() -> None:
    total = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    assert 0 < usable_memory("cpu") <= total


def test_capability_takes_the_operators_limit_and_caches_the_throughput(tmp_path: Path) -> None:
    first = measure_capability(tmp_path, memory_limit=1 << 30)
    assert first.device == "cpu" and first.memory_bytes == 1 << 30
    assert first.flops_per_second["repro-v1"] > 0
    cached = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    assert cached  # the calibration was written under the node's folder
    again = measure_capability(tmp_path)  # read back, not measured again
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == cached
    assert again.flops_per_second == first.flops_per_second


def test_a_bad_device_or_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="device must be cpu, cuda or cuda:N, got 'tpu'"):
        measure_capability(tmp_path, device="tpu")
    with pytest.raises(ConfigError, match="memory limit must be at least 1 byte, got 0"):
        measure_capability(tmp_path, memory_limit=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_gpu_node_measures_its_device_memory(tmp_path: Path) -> None:
    capability = measure_capability(tmp_path, device="cuda")
    _free, total = torch.cuda.mem_get_info()
    assert capability.device == "cuda" and 0 < capability.memory_bytes <= total
    assert capability.flops_per_second["repro-v1"] > 0
    limited = measure_capability(tmp_path, device="cuda:0", memory_limit=8 << 30)
    assert (limited.device, limited.memory_bytes) == ("cuda", 8 << 30)
