"""A model's shapes from its spec section alone: parameters, products and activations of one step.

This walks each architecture of ``node.runtime.models`` the way its ``forward`` runs, without
building it: parameter names and shapes (the checkpoint's layout), every matmul-shaped product of
one forward pass (linear layers, convolutions as their im2col GEMM, attention's ``Q Kᵀ`` and
``P V``), and the activation elements the backward pass keeps. ``tests/training/test_estimate.py``
checks the parameters against the built model and the FLOPs against ``FlopCounterMode``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from node.training.spec import CNNSpec, GPTSpec, LlamaSpec, MLPSpec

ModelSection = MLPSpec | CNNSpec | GPTSpec | LlamaSpec

INT8_MIN_MACS = 1 << 26
"""repro-v1's int8-limb threshold (``node.runtime.repro.gemm.INT8_MIN_MACS``)."""


@dataclass(frozen=True)
class Product:
    """``batch`` products ``[m, k] @ [k, n]``; ``input_grad``: the left operand needs a gradient
    (False for the data entering the first layer, whose input gradient is never computed)."""

    m: int
    k: int
    n: int
    batch: int = 1
    input_grad: bool = True
    weight_grad: bool = True

    @property
    def forward_flops(self) -> int:
        return 2 * self.batch * self.m * self.k * self.n

    @property
    def step_flops(self) -> int:
        """Forward plus backward: one product per operand gradient computed."""
        return self.forward_flops * (1 + int(self.input_grad) + int(self.weight_grad))

    @property
    def repro_workspace_bytes(self) -> int:
        """The intermediates one repro-v1 GEMM of this shape holds (``gemm.exact_bmm``):
        int8 limb stacks and two int32 sums on the int8 path, float64 operands and result on the
        float64 path."""
        macs = self.batch * self.m * self.k * self.n
        if self.batch == 1 and macs >= INT8_MIN_MACS:
            return 2 * (self.m + self.n) * self.k + 2 * 4 * self.m * self.n
        return 8 * self.batch * (self.m * self.k + self.k * self.n + self.m * self.n)


@dataclass(frozen=True)
class ModelShapes:
    """One model at ``rows`` examples (sequences) per (micro-)batch."""

    param_shapes: dict[str, tuple[int, ...]]
    products: list[Product]
    activation_elements: int
    """Float32 elements of the activations alive at the end of the forward pass."""
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def param_count(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes.values())

    @property
    def largest_param(self) -> int:
        return max((math.prod(s) for s in self.param_shapes.values()), default=0)

    @property
    def matmul_flops(self) -> int:
        return sum(p.step_flops for p in self.products)

    @property
    def gemm_workspace_bytes(self) -> int:
        """repro-v1's grow-only GEMM scratch: at most the largest product's intermediates."""
        return max((p.repro_workspace_bytes for p in self.products), default=0)


def model_shapes(model: ModelSection, rows: int) -> ModelShapes:
    """The shapes of ``model`` at ``rows`` examples per (micro-)batch."""
    if isinstance(model, MLPSpec):
        return _mlp(model, rows)
    if isinstance(model, CNNSpec):
        return _cnn(model, rows)
    if isinstance(model, GPTSpec):
        return _gpt(model, rows)
    return _llama(model, rows)


def _linear(
    params: dict[str, tuple[int, ...]], name: str, d_in: int, d_out: int, bias: bool = True
) -> None:
    params[f"{name}.weight"] = (d_out, d_in)
    if bias:
        params[f"{name}.bias"] = (d_out,)


def _mlp(model: MLPSpec, rows: int) -> ModelShapes:
    dims = [model.input_dim, *model.hidden, model.num_classes]
    params: dict[str, tuple[int, ...]] = {}
    products: list[Product] = []
    acts = rows * model.input_dim
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        _linear(params, f"layers.{i}", a, b)
        products.append(Product(rows, a, b, input_grad=i > 0))
        acts += 2 * rows * b  # the layer's output and its activation (or the loss's softmax)
    return ModelShapes(dict(sorted(params.items())), products, acts)


def _cnn(model: CNNSpec, rows: int) -> ModelShapes:
    chans = [model.in_channels, *model.channels]
    params: dict[str, tuple[int, ...]] = {}
    products: list[Product] = []
    k2 = model.kernel_size**2
    side = model.image_size
    acts = rows * model.in_channels * side * side
    for i, (a, b) in enumerate(itertools.pairwise(chans)):
        params[f"convs.{i}.weight"] = (b, a, model.kernel_size, model.kernel_size)
        params[f"convs.{i}.bias"] = (b,)
        products.append(Product(rows * side * side, a * k2, b, input_grad=i > 0))
        # conv output, ReLU output, the unfolded patches, pooled output and its int64 indices
        acts += rows * side * side * (2 * b + a * k2) + 3 * rows * b * (side // 2) ** 2
        side //= 2
    flat = chans[-1] * side * side
    _linear(params, "fc", flat, model.hidden)
    _linear(params, "head", model.hidden, model.num_classes)
    products += [Product(rows, flat, model.hidden), Product(rows, model.hidden, model.num_classes)]
    acts += 2 * rows * (model.hidden + model.num_classes)
    return ModelShapes(dict(sorted(params.items())), products, acts)


def _gpt(model: GPTSpec, rows: int) -> ModelShapes:
    c, t, h, v = model.n_embd, model.block_size, model.n_head, model.vocab_size
    tokens = rows * t
    params: dict[str, tuple[int, ...]] = {"wte.weight": (v, c), "wpe.weight": (t, c)}
    products: list[Product] = []
    hd = c // h
    drop = 1 if model.dropout > 0 else 0
    per_layer = 0
    for i in range(model.n_layer):
        p = f"h.{i}"
        for norm in ("ln_1", "ln_2"):
            params[f"{p}.{norm}.weight"] = (c,)
            if model.bias:
                params[f"{p}.{norm}.bias"] = (c,)
        _linear(params, f"{p}.attn.c_attn", c, 3 * c, model.bias)
        _linear(params, f"{p}.attn.c_proj", c, c, model.bias)
        _linear(params, f"{p}.mlp.c_fc", c, 4 * c, model.bias)
        _linear(params, f"{p}.mlp.c_proj", 4 * c, c, model.bias)
        products += [
            Product(tokens, c, 3 * c),
            Product(t, hd, t, batch=rows * h),  # Q Kᵀ
            Product(t, t, hd, batch=rows * h),  # P V
            Product(tokens, c, c),
            Product(tokens, c, 4 * c),
            Product(tokens, 4 * c, c),
        ]
    # per token: norms, QKV, head copies, outputs and residuals (~16 C), the GELU MLP (~12 C);
    # per head: the T scores, scaled, masked and softmaxed (+ a dropout mask and output)
    per_layer = tokens * (28 * c + (3 + 2 * drop) * h * t)
    params["ln_f.weight"] = (c,)
    if model.bias:
        params["ln_f.bias"] = (c,)
    products.append(Product(tokens, c, v))  # the tied head
    acts = model.n_layer * per_layer + tokens * (5 * c + 2 * v)
    return ModelShapes(dict(sorted(params.items())), products, acts)


def _llama(model: LlamaSpec, rows: int) -> ModelShapes:
    c, t, v, inter = model.hidden_size, model.block_size, model.vocab_size, model.intermediate_size
    heads, kv, hd = model.num_attention_heads, model.num_key_value_heads, model.head_dim
    tokens = rows * t
    params: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (v, c),
        "model.norm.weight": (c,),
    }
    products: list[Product] = []
    for i in range(model.num_hidden_layers):
        p = f"model.layers.{i}"
        params[f"{p}.input_layernorm.weight"] = (c,)
        params[f"{p}.post_attention_layernorm.weight"] = (c,)
        _linear(params, f"{p}.self_attn.q_proj", c, heads * hd, False)
        _linear(params, f"{p}.self_attn.k_proj", c, kv * hd, False)
        _linear(params, f"{p}.self_attn.v_proj", c, kv * hd, False)
        _linear(params, f"{p}.self_attn.o_proj", heads * hd, c, False)
        _linear(params, f"{p}.mlp.gate_proj", c, inter, False)
        _linear(params, f"{p}.mlp.up_proj", c, inter, False)
        _linear(params, f"{p}.mlp.down_proj", inter, c, False)
        rep_t = (heads // kv) * t
        products += [
            Product(tokens, c, heads * hd),
            Product(tokens, c, kv * hd),
            Product(tokens, c, kv * hd),
            Product(rep_t, hd, t, batch=rows * kv),  # Q Kᵀ, the KV group's queries stacked
            Product(rep_t, t, hd, batch=rows * kv),  # P V
            Product(tokens, heads * hd, c),
            Product(tokens, c, inter),
            Product(tokens, c, inter),
            Product(tokens, inter, c),
        ]
    if not model.tie_word_embeddings:
        params["lm_head.weight"] = (v, c)
    products.append(Product(tokens, c, v))
    qk = heads * hd + kv * hd
    # per token: two RMSNorms (~3 C each), Q/K/V and RoPE's copies (~4 per Q/K element),
    # the attention output and residuals (~4 C), SwiGLU's gate, up, SiLU and product (4 I);
    # per head: the T scores, scaled, masked and softmaxed
    per_layer = tokens * (10 * c + 4 * qk + 2 * kv * hd + 4 * inter + 3 * heads * t)
    acts = model.num_hidden_layers * per_layer + tokens * (4 * c + 2 * v)
    return ModelShapes(dict(sorted(params.items())), products, acts)
