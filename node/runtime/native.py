"""``NativeOps``: the ``Ops`` protocol on plain PyTorch fp32 kernels.

Fast and bit-exact on one machine with one thread count, but not across CPUs, thread counts or
devices (docs/RUNTIME.md): for local runs and benchmarks, never for on-chain jobs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class NativeOps:
    """Each op is the matching ``torch.nn.functional`` call."""

    name = "native"

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return F.linear(x, weight, bias)

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.matmul(a, b)

    def conv2d(
        self, x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int
    ) -> Tensor:
        return F.conv2d(x, weight, bias, stride=stride, padding=padding)

    def max_pool2d(self, x: Tensor, kernel: int) -> Tensor:
        return F.max_pool2d(x, kernel)

    def embedding(self, ids: Tensor, weight: Tensor) -> Tensor:
        return F.embedding(ids, weight)

    def layer_norm(self, x: Tensor, weight: Tensor, bias: Tensor | None, eps: float) -> Tensor:
        return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)

    def rms_norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        # Hugging Face's LlamaRMSNorm (float32 activations): weight * (x * rsqrt(mean(x²) + eps)).
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + eps))

    def softmax(self, x: Tensor, dim: int) -> Tensor:
        return F.softmax(x, dim=dim)

    def log_softmax(self, x: Tensor, dim: int) -> Tensor:
        return F.log_softmax(x, dim=dim)

    def cross_entropy(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits, targets)

    def gelu(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate="tanh")

    def silu(self, x: Tensor) -> Tensor:
        return F.silu(x)

    def tanh(self, x: Tensor) -> Tensor:
        return torch.tanh(x)

    def relu(self, x: Tensor) -> Tensor:
        return F.relu(x)

    def dropout(self, x: Tensor, p: float, keep_mask: Tensor | None) -> Tensor:
        if keep_mask is None or p == 0.0:
            return x
        return x * keep_mask.to(x.dtype) * (1.0 / (1.0 - p))

    def sum(self, x: Tensor, dim: int | None = None) -> Tensor:
        return torch.sum(x) if dim is None else torch.sum(x, dim=dim)

    def sqrt(self, x: Tensor) -> Tensor:
        return torch.sqrt(x)
