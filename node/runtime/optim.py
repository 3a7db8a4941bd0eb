"""AdamW and SGD with momentum from single elementwise ops, plus global-norm gradient clipping.

``torch.optim`` uses fused, ``foreach``, ``addcmul``/``lerp`` kernels whose rounding (FMA
contraction, vector width) differs by CPU and device; every update here is a chain of separate
``+ - * /`` kernels on float32 tensors with float32 scalars, which are correctly rounded IEEE
operations, and the runtime's ``sqrt`` (correctly rounded in repro-v1), so they give the same bits
everywhere. Norm reductions go through ``ops.sum``, whose
order the runtime fixes. Bias-correction powers ``β^t`` are carried in the state as float64 and
updated by one multiply per step (``**`` would call the platform's ``pow``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from node.runtime.models.base import f32
from node.runtime.ops import Ops

Tensors = dict[str, Tensor]


@dataclass(frozen=True)
class OptimizerConfig:
    """The spec's optimizer section, flattened (fields unused by a kind are ignored)."""

    name: str
    lr: float
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.9
    grad_clip: float | None = None


def initial_state(config: OptimizerConfig, params: Mapping[str, Tensor]) -> Tensors:
    """Optimizer state at step 0, with canonical names (``optim.<slot>.<param>``)."""
    state: Tensors = {}
    if config.name == "adamw":
        for name, p in params.items():
            state[f"optim.exp_avg.{name}"] = torch.zeros_like(p)
            state[f"optim.exp_avg_sq.{name}"] = torch.zeros_like(p)
        state["optim.beta1_pow"] = torch.tensor(1.0, dtype=torch.float64)
        state["optim.beta2_pow"] = torch.tensor(1.0, dtype=torch.float64)
    elif config.name == "sgd":
        for name, p in params.items():
            state[f"optim.momentum.{name}"] = torch.zeros_like(p)
    else:
        raise ValueError(f"unknown optimizer {config.name!r}")
    return state


def clip_by_global_norm(ops: Ops, grads: Tensors, max_norm: float) -> Tensors:
    """Scale all gradients by ``min(1, max_norm / (‖g‖ + 1e-6))``; per-tensor sums added in name order."""
    device = next(iter(grads.values())).device if grads else torch.device("cpu")
    total = torch.zeros((), dtype=torch.float32, device=device)
    for name in sorted(grads):
        g = grads[name]
        total = total + ops.sum(g * g)
    norm = ops.sqrt(total)
    coef = torch.minimum(f32(max_norm) / (norm + f32(1e-6)), f32(1.0))
    return {name: g * coef for name, g in grads.items()}


def step(
    ops: Ops,
    config: OptimizerConfig,
    params: Mapping[str, Tensor],
    grads: Mapping[str, Tensor],
    state: Mapping[str, Tensor],
) -> tuple[Tensors, Tensors]:
    """One update: returns new ``(params, optimizer_state)``; inputs are left untouched."""
    g_all = dict(grads)
    if config.grad_clip is not None:
        g_all = clip_by_global_norm(ops, g_all, config.grad_clip)
    if config.name == "adamw":
        return _adamw(ops, config, params, g_all, state)
    return _sgd(config, params, g_all, state)


def _adamw(
    ops: Ops,
    config: OptimizerConfig,
    params: Mapping[str, Tensor],
    grads: Tensors,
    state: Mapping[str, Tensor],
) -> tuple[Tensors, Tensors]:
    b1, b2 = config.betas
    beta1_pow = state["optim.beta1_pow"] * b1
    beta2_pow = state["optim.beta2_pow"] * b2
    lr = f32(config.lr)
    step_size = lr / f32(1.0 - float(beta1_pow))  # float32 lr / float32(1 - β1^t)
    # A divisor on the parameters' device: CUDA divides by a CPU scalar as a multiply by its
    # reciprocal, which rounds differently from the CPU's true division.
    device = next(iter(params.values())).device if params else torch.device("cpu")
    bc2 = f32(1.0 - float(beta2_pow)).to(device)
    decay = f32(1.0) - lr * f32(config.weight_decay)
    one_b1, one_b2 = f32(1.0 - b1), f32(1.0 - b2)
    fb1, fb2, eps = f32(b1), f32(b2), f32(config.eps)
    new_params: Tensors = {}
    new_state: Tensors = {"optim.beta1_pow": beta1_pow, "optim.beta2_pow": beta2_pow}
    for name, p in params.items():
        g = grads[name]
        m = state[f"optim.exp_avg.{name}"] * fb1 + g * one_b1
        v = state[f"optim.exp_avg_sq.{name}"] * fb2 + (g * g) * one_b2
        denom = ops.sqrt(v / bc2) + eps
        new_params[name] = p * decay - step_size * (m / denom)
        new_state[f"optim.exp_avg.{name}"] = m
        new_state[f"optim.exp_avg_sq.{name}"] = v
    return new_params, new_state


def _sgd(
    config: OptimizerConfig,
    params: Mapping[str, Tensor],
    grads: Tensors,
    state: Mapping[str, Tensor],
) -> tuple[Tensors, Tensors]:
    lr, mom, wd = f32(config.lr), f32(config.momentum), f32(config.weight_decay)
    new_params: Tensors = {}
    new_state: Tensors = {}
    for name, p in params.items():
        g = grads[name]
        if config.weight_decay:
            g = g + p * wd
        buf = state[f"optim.momentum.{name}"] * mom + g
        new_params[name] = p - lr * buf
        new_state[f"optim.momentum.{name}"] = buf
    return new_params, new_state
