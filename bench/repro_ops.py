"""Micro-benchmark: each repro-v1 op (forward + backward) against native fp32 eager, side by side.

Timings on a shared machine are noisy, so each repeat times native then repro back to back
(interleaved) and the report gives medians and their ratio. Shapes are those of the gpt benchmark
(4 layers, d_model 256, 4 heads, context 128, batch 16: 2048 tokens).

Run: ``.venv/bin/python -m bench.repro_ops [--repeats N] [--threads T]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from node.runtime.repro import ReproOps
from node.runtime.repro.gemm import exact_bmm, exact_mm


@dataclass(frozen=True)
class Timing:
    """Median seconds of one op/shape under native fp32 and repro-v1."""

    name: str
    native_s: float
    repro_s: float

    @property
    def ratio(self) -> float:
        return self.repro_s / self.native_s


def _rand(rng: np.random.Generator, *shape: int, grad: bool = True) -> Tensor:
    t = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
    return t.requires_grad_(grad)


def _fwd_bwd(fn: Callable[..., Tensor], inputs: list[Tensor]) -> Callable[[], None]:
    """A closure running ``fn(*inputs)`` and its backward with a fixed upstream gradient."""
    upstream = torch.ones_like(fn(*inputs))
    float_inputs = [t for t in inputs if t.requires_grad]

    def step() -> None:
        torch.autograd.grad(fn(*inputs), float_inputs, upstream)

    return step


def _fwd(fn: Callable[..., Tensor], inputs: list[Tensor]) -> Callable[[], None]:
    def step() -> None:
        with torch.no_grad():
            fn(*inputs)

    return step


def cases() -> list[tuple[str, Callable[[], None], Callable[[], None]]]:
    """(name, native step, repro step) for each op and gpt-benchmark shape."""
    rng = np.random.default_rng(0)
    ops = ReproOps()
    out: list[tuple[str, Callable[[], None], Callable[[], None]]] = []
    for k, n in ((256, 768), (256, 1024), (1024, 256)):
        a, b = _rand(rng, 2048, k, grad=False), _rand(rng, k, n, grad=False)
        out.append((f"mm fwd [2048,{k}]x[{k},{n}]", _fwd(torch.mm, [a, b]), _fwd(exact_mm, [a, b])))
        x, w, bias = _rand(rng, 16, 128, k), _rand(rng, n, k), _rand(rng, n)
        out.append(
            (
                f"linear fwd+bwd [2048,{k}]->{n}",
                _fwd_bwd(F.linear, [x, w, bias]),
                _fwd_bwd(ops.linear, [x, w, bias]),
            )
        )
    for shape_a, shape_b in (((64, 128, 64), (64, 64, 128)), ((64, 128, 128), (64, 128, 64))):
        a, b = _rand(rng, *shape_a), _rand(rng, *shape_b)
        label = f"{list(shape_a)}x{list(shape_b)}"
        out.append((f"bmm fwd {label}", _fwd(torch.bmm, [a, b]), _fwd(exact_bmm, [a, b])))
        out.append(
            (
                f"matmul fwd+bwd {label}",
                _fwd_bwd(torch.matmul, [a, b]),
                _fwd_bwd(ops.matmul, [a, b]),
            )
        )
    x, w, bias = _rand(rng, 16, 128, 256), _rand(rng, 256), _rand(rng, 256)
    out.append(
        (
            "layer_norm [2048,256]",
            _fwd_bwd(lambda x, w, b: F.layer_norm(x, (256,), w, b, 1e-5), [x, w, bias]),
            _fwd_bwd(lambda x, w, b: ops.layer_norm(x, w, b, 1e-5), [x, w, bias]),
        )
    )
    s = _rand(rng, 16, 4, 128, 128)
    out.append(
        (
            "softmax [16,4,128,128]",
            _fwd_bwd(lambda t: torch.softmax(t, -1), [s]),
            _fwd_bwd(lambda t: ops.softmax(t, -1), [s]),
        )
    )
    g = _rand(rng, 16, 128, 1024)
    out.append(
        (
            "gelu [2048,1024]",
            _fwd_bwd(lambda t: F.gelu(t, approximate="tanh"), [g]),
            _fwd_bwd(ops.gelu, [g]),
        )
    )
    logits = _rand(rng, 2048, 256)
    targets = torch.from_numpy(rng.integers(0, 256, size=2048))
    out.append(
        (
            "cross_entropy [2048,256]",
            _fwd_bwd(lambda t: F.cross_entropy(t, targets), [logits]),
            _fwd_bwd(lambda t: ops.cross_entropy(t, targets), [logits]),
        )
    )
    table = _rand(rng, 256, 256)
    ids = torch.from_numpy(rng.integers(0, 256, size=(16, 128)))
    out.append(
        (
            "embedding [16,128] of [256,256]",
            _fwd_bwd(lambda t: F.embedding(ids, t), [table]),
            _fwd_bwd(lambda t: ops.embedding(ids, t), [table]),
        )
    )
    return out


def run(repeats: int = 15) -> list[Timing]:
    """Time every case, native and repro interleaved within each repeat; medians per side."""
    results = []
    for name, native, repro in cases():
        native()
        repro()
        native_t: list[float] = []
        repro_t: list[float] = []
        for _ in range(repeats):
            for step, sink in ((native, native_t), (repro, repro_t)):
                start = time.perf_counter()
                step()
                sink.append(time.perf_counter() - start)
        results.append(Timing(name, statistics.median(native_t), statistics.median(repro_t)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} capability={torch.backends.cpu.get_cpu_capability()}")
    print(f"{'op / shape':48s} {'native ms':>10s} {'repro ms':>10s} {'ratio':>7s}")
    for t in run(args.repeats):
        print(f"{t.name:48s} {t.native_s * 1e3:10.3f} {t.repro_s * 1e3:10.3f} {t.ratio:7.2f}")


if __name__ == "__main__":
    main()
