"""Which torch device a training run uses: ``cpu``, ``cuda`` or ``cuda:N``.

A run's state lives on the CPU between steps (it is serialized and hashed every step); only the step
itself runs on the device. ``repro-v1`` gives the same bits on either (its CUDA path runs the
torch-op definitions of its fused CPU kernels), so a GPU solver can be checked by a CPU verifier.
"""

from __future__ import annotations

import re

import torch

from node.errors import ConfigError

DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:[0-9]{1,2})?)$")


def resolve_device(name: str | None) -> torch.device:
    """``name`` as a torch device; ``None`` means cuda when one is available, else cpu.

    ConfigError (one line) for a malformed name or a CUDA device this machine does not have.
    """
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not DEVICE_PATTERN.match(name):
        raise ConfigError(f"--device must be cpu, cuda or cuda:N, got {name!r}")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: no CUDA device is available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    return device
