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
from dataclasses import dataclass

from node.runtime.repro.gemm import F64_K_CHUNK, INT8_MIN_MACS
from node.training.spec import CNNSpec, GPTSpec, LlamaSpec, MLPSpec

ModelSection = MLPSpec | CNNSpec | GPTSpec | LlamaSpec


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

    def gemms(self) -> list[tuple[int, int, int, int]]:
        """``(batch, m, k, n)`` of the forward GEMM and of each gradient GEMM computed."""
        b, m, k, n = self.batch, self.m, self.k, self.n
        out = [(b, m, k, n)]
        if self.input_grad:
            out.append((b, m, n, k))  # grad @ Wᵀ
        if self.weight_grad:
            out.append((b, n, m, k) if b == 1 else (b, k, m, n))  # gradᵀ @ x, or aᵀ @ grad
        return out


def repro_scratch(batch: int, m: int, k: int, n: int) -> dict[str, int]:
    """Bytes of repro-v1's GEMM scratch per role (``gemm.exact_bmm``): int8 limb stacks of both
    operands and two int32 sums on the int8 path; float64 operands (per K chunk) and product
    on the float64 path."""
    if batch == 1 and m * k * n >= INT8_MIN_MACS:
        return {"a": 2 * m * k, "b": 2 * k * n, "c": 2 * 4 * m * n}
    kc = min(k, F64_K_CHUNK)
    return {"a": 8 * batch * m * kc, "b": 8 * batch * kc * n, "c": 8 * batch * m * n}


@dataclass(frozen=True)
class ModelShapes:
    """One model at ``rows`` examples (sequences) per (micro-)batch."""

    param_shapes: dict[str, tuple[int, ...]]
    products: list[Product]
    saved_elements: dict[str, int]
    """Per runtime: float32 elements (a bool or int64 counted by its bytes) the forward pass
    keeps for the backward pass, parameters left out."""
    backward_elements: dict[str, int]
    """Per runtime: elements the backward pass holds beyond the kept activations: the gradients
    at the output and the input of the layer with the largest activation (one where the input
    is the data, whose gradient is never computed: a cnn's first conv); repro-v1's conv also
    its unfolded patch gradient and their reordered copy (``functions_gemm.Conv2d.backward``)."""

    @property
    def activation_elements(self) -> int:
        """What the elementwise work (norms, activations, softmax) runs over, about once each way."""
        return self.saved_elements["native"]

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
        """repro-v1's grow-only GEMM scratch (``node.runtime.repro.workspace``): one buffer per
        role, each as large as the largest request for it over every GEMM of the step."""
        roles: dict[str, int] = {}
        for product in self.products:
            for gemm in product.gemms():
                for role, size in repro_scratch(*gemm).items():
                    roles[role] = max(roles.get(role, 0), size)
        return sum(roles.values())


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
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        _linear(params, f"layers.{i}", a, b)
        products.append(Product(rows, a, b, input_grad=i > 0))
    # each layer keeps its input, each activation its output (repro-v1's ReLU also a bool
    # mask), the loss its log-softmax; the int64 targets count 2
    hidden = sum(model.hidden)
    base = rows * (model.input_dim + model.num_classes + 2)
    saved = {"native": base + rows * hidden, "repro-v1": base + rows * hidden * 5 // 4}
    largest = rows * max(dims)
    return ModelShapes(dict(sorted(params.items())), products, saved, _same(largest))


def _cnn(model: CNNSpec, rows: int) -> ModelShapes:
    chans = [model.in_channels, *model.channels]
    params: dict[str, tuple[int, ...]] = {}
    products: list[Product] = []
    k2 = model.kernel_size**2
    side = model.image_size
    outputs = unfolded = later_inputs = largest = patch_grads = 0
    for i, (a, b) in enumerate(itertools.pairwise(chans)):
        params[f"convs.{i}.weight"] = (b, a, model.kernel_size, model.kernel_size)
        params[f"convs.{i}.bias"] = (b,)
        products.append(Product(rows * side * side, a * k2, b, input_grad=i > 0))
        outputs += side * side * b
        unfolded += side * side * a * k2
        later_inputs += side * side * a if i > 0 else 0
        largest = max(largest, side * side * b * (2 if i > 0 else 1))
        patch_grads = max(patch_grads, 2 * side * side * a * k2 if i > 0 else 0)
        side //= 2
    flat = chans[-1] * side * side
    _linear(params, "fc", flat, model.hidden)
    _linear(params, "head", model.hidden, model.num_classes)
    products += [Product(rows, flat, model.hidden), Product(rows, model.hidden, model.num_classes)]
    # native: the image, each conv's ReLU output, its pool's int64 indices (half a float per
    # output) and pooled output (the next layer's input); repro-v1 keeps each conv's unfolded
    # patches (im2col) instead of its input, and bool ReLU masks
    head = model.num_classes + 2
    native = model.in_channels * model.image_size**2 + outputs * 7 // 4 + model.hidden + head
    repro = unfolded - later_inputs + outputs + model.hidden * 5 // 4 + head
    saved = {"native": rows * native, "repro-v1": rows * repro}
    backward = {"native": rows * largest, "repro-v1": rows * max(largest, patch_grads)}
    return ModelShapes(dict(sorted(params.items())), products, saved, backward)


def _gpt(model: GPTSpec, rows: int) -> ModelShapes:
    c, t, h, v = model.n_embd, model.block_size, model.n_head, model.vocab_size
    tokens = rows * t
    params: dict[str, tuple[int, ...]] = {"wte.weight": (v, c), "wpe.weight": (t, c)}
    products: list[Product] = []
    hd = c // h
    drop = 1 if model.dropout > 0 else 0
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
    params["ln_f.weight"] = (c,)
    if model.bias:
        params["ln_f.bias"] = (c,)
    products.append(Product(tokens, c, v))  # the tied head
    # Kept per token and layer (counted with autograd's saved-tensor hooks, a fit exact to 1%):
    # native 16 C (norms, QKV and its head-major copies, outputs, the GELU MLP's 4 C in and out)
    # and the T scores per head; dropout adds its masks and outputs (3 C and 2 T per head as
    # floats; repro-v1 keeps bool masks: C and 1.25 T). Per token once: embeddings and the
    # final norm (2 C), the logits' log-softmax (V), ids and targets (native 23, repro-v1 12).
    ht = h * t
    native = model.n_layer * (16 * c + ht + drop * (3 * c + 2 * ht)) + 2 * c + v + 23
    repro = model.n_layer * (20 * c + ht + drop * (c + ht * 5 // 4)) + 2 * c + v + 12
    saved = {"native": tokens * native, "repro-v1": tokens * repro}
    largest = tokens * max(ht, v, 4 * c)
    return ModelShapes(dict(sorted(params.items())), products, saved, _same(largest))


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
    # Kept per token and layer (saved-tensor hooks, a fit exact to 0.1%): native 8 C (two
    # RMSNorms, Q and RoPE's copies, the attention output), 2 per K/V element, SwiGLU's 4 I
    # (repro-v1: 6 C and 5 I) and the T scores per head; per token once: embeddings and the
    # final norm (3 C, repro-v1 2 C), the log-softmax (V), ids and targets (4).
    kvd, ht = kv * hd, heads * t
    layers = model.num_hidden_layers
    native = layers * (8 * c + 2 * kvd + 4 * inter + ht) + 3 * c + v + 4
    repro = layers * (6 * c + 2 * kvd + 5 * inter + ht) + 2 * c + v + 4
    saved = {"native": tokens * native, "repro-v1": tokens * repro}
    largest = tokens * max(ht, v, inter)
    return ModelShapes(dict(sorted(params.items())), products, saved, _same(largest))


def _same(largest: int) -> dict[str, int]:
    """Both runtimes: a layer's backward holds the gradient arriving at its output and the one
    it passes to its input, two tensors of the largest activation's size."""
    return dict.fromkeys(("native", "repro-v1"), 2 * largest)
