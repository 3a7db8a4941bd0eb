"""Runtimes: an ``Ops`` implementation per ``runtime`` name of the job spec.

``native`` is plain PyTorch; ``repro-v1`` (``node.runtime.repro``) is reproducible across hardware
by construction. Models, the optimizer and the RNG are shared: only the ops differ.
"""

from __future__ import annotations

import importlib

from node.errors import SpecError
from node.runtime.ops import Ops

RUNTIMES = ("native", "repro-v1")


def get_ops(name: str) -> Ops:
    """The ``Ops`` of runtime ``name``; SpecError when unknown or not installed."""
    if name == "native":
        from node.runtime.native import NativeOps

        return NativeOps()
    if name == "repro-v1":
        try:
            module = importlib.import_module("node.runtime.repro")
        except ImportError as err:
            raise SpecError(f"runtime repro-v1 is not available ({err})") from err
        factory = getattr(module, "ReproOps", None)
        if factory is None:
            raise SpecError(
                "runtime repro-v1 is not available (node.runtime.repro has no ReproOps)"
            )
        ops: Ops = factory()
        return ops
    raise SpecError(f"unknown runtime {name!r} (known: {', '.join(RUNTIMES)})")
