"""What every model shares: the per-step context (dropout randomness) and deterministic init."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from node.runtime import rng
from node.runtime.models.layers import Layer
from node.runtime.ops import Ops

CPU = torch.device("cpu")


@dataclass(frozen=True)
class StepContext:
    """Randomness of one training step: dropout masks keyed by ``(step, site)``, never by call order.

    With gradient accumulation each micro-batch ``micro`` of the step draws its own masks
    (``(step, "micro", micro, site)``); ``None`` (one batch per step) keeps the original domain.
    """

    key: rng.RngKey
    step: int
    training: bool = True
    device: torch.device = CPU
    micro: int | None = None

    def keep_mask(self, site: str, shape: tuple[int, ...], p: float) -> Tensor | None:
        """The mask is drawn on the CPU (the counter-based RNG is defined there) and moved."""
        if not self.training or p == 0.0:
            return None
        if self.micro is None:
            domain: tuple[str | int, ...] = ("dropout", self.step, site)
        else:
            domain = ("dropout", self.step, "micro", self.micro, site)
        return rng.keep_mask(self.key, domain, shape, p).to(self.device)


class Model(nn.Module):
    """A model maps one batch to its scalar training loss; parameters are named slots."""

    ops: Ops

    def forward(self, x: Tensor, y: Tensor, ctx: StepContext) -> Tensor:
        raise NotImplementedError


def f32(value: float) -> Tensor:
    """A 0-dim float32 tensor holding ``value`` rounded once to float32 (explicit, not kernel-chosen)."""
    return torch.tensor(np.float32(value), dtype=torch.float32)


def initial_parameters(model: Model, key: rng.RngKey) -> dict[str, Tensor]:
    """Parameters at step 0, a pure function of the architecture and the key (exact ops only)."""
    params: dict[str, Tensor] = {}
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    for module_name, module in model.named_modules():
        if not isinstance(module, Layer):
            continue
        for local, rule in module.init_rules().items():
            name = f"{module_name}.{local}" if module_name else local
            if name not in shapes:  # a tied parameter owned by another module
                continue
            shape = shapes[name]
            if rule.kind == "zeros":
                value = torch.zeros(shape, dtype=torch.float32)
            elif rule.kind == "ones":
                value = torch.ones(shape, dtype=torch.float32)
            else:
                u = rng.uniform(key, ("init", name), shape)
                value = (u * f32(2.0) - f32(1.0)) * f32(rule.bound)
            params[name] = value
    missing = set(shapes) - set(params)
    if missing:
        raise ValueError(f"parameters without an init rule: {sorted(missing)}")
    return dict(sorted(params.items()))
