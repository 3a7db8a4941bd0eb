"""The operator set every model and optimizer is written against.

Models (``mlp``, ``cnn``, ``gpt``, ``llama``) and optimizers call only these functions, so a runtime is just an
``Ops`` implementation: ``native`` maps them onto plain PyTorch fp32 (fast, not reproducible across
hardware); ``repro-v1`` implements each with exact-integer GEMMs, fixed-order reductions and
transcendentals from ``+ - * /`` so an honest re-run gives the same bits anywhere (docs/RUNTIME.md).

Elementwise ``+ - * /`` on tensors are correctly rounded IEEE ops and thus already reproducible,
as long as each is its own kernel (no fused ``addcmul``/``lerp``/FMA): models and optimizers may use
them directly as tensor operators. ``sqrt`` is not (torch's float32 CPU sqrt is off by an ulp on
some inputs): always go through ``Ops.sqrt``.
"""

from __future__ import annotations

from typing import Protocol

from torch import Tensor


class Ops(Protocol):
    """Differentiable operators (forward and backward) of one runtime."""

    name: str

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """``x @ weight.T + bias`` over the last dim of ``x`` (any leading dims)."""

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """Batched matmul ``a @ b`` with equal leading (batch) dims."""

    def conv2d(
        self, x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int
    ) -> Tensor:
        """2-D convolution, NCHW."""

    def max_pool2d(self, x: Tensor, kernel: int) -> Tensor:
        """Max pooling with stride = kernel (exact in any order)."""

    def embedding(self, ids: Tensor, weight: Tensor) -> Tensor:
        """Row lookup; its gradient is a scatter-add into ``weight``'s rows."""

    def layer_norm(self, x: Tensor, weight: Tensor, bias: Tensor | None, eps: float) -> Tensor:
        """LayerNorm over the last dim."""

    def rms_norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        """RMSNorm over the last dim: ``weight * (x * rsqrt(mean(x²) + eps))`` (Llama's)."""

    def softmax(self, x: Tensor, dim: int) -> Tensor: ...

    def log_softmax(self, x: Tensor, dim: int) -> Tensor: ...

    def cross_entropy(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy of ``logits`` [B, C] against integer ``targets`` [B]."""

    def gelu(self, x: Tensor) -> Tensor:
        """GELU, tanh approximation."""

    def silu(self, x: Tensor) -> Tensor:
        """SiLU (swish): ``x * sigmoid(x)``."""

    def tanh(self, x: Tensor) -> Tensor: ...

    def relu(self, x: Tensor) -> Tensor: ...

    def dropout(self, x: Tensor, p: float, keep_mask: Tensor | None) -> Tensor:
        """Scale kept entries by 1/(1-p); ``keep_mask`` (bool) comes from the counter-based RNG."""

    def sum(self, x: Tensor, dim: int | None = None) -> Tensor:
        """Sum (over ``dim`` or everything) in an order that does not depend on threads or SIMD."""

    def sqrt(self, x: Tensor) -> Tensor: ...
