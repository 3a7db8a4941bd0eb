"""A Llama-style decoder (Llama, Mistral, Qwen2 without biases) with Hugging Face's names and math.

Parameter names are exactly ``LlamaForCausalLM``'s state-dict keys (``model.embed_tokens.weight``,
``model.layers.{i}.self_attn.{q,k,v,o}_proj.weight``, ``model.layers.{i}.mlp.{gate,up,down}_proj
.weight``, ``model.layers.{i}.{input,post_attention}_layernorm.weight``, ``model.norm.weight``,
``lm_head.weight``, absent when tied), weights ``[out, in]`` as ``nn.Linear``'s, so importing and
exporting a checkpoint is a rename-free copy. The math is Hugging Face's eager path: RMSNorm
``w * (x * rsqrt(mean(x²) + eps))``, default RoPE (``rope``), causal attention scaled by
``1/sqrt(head_dim)``, MLP ``down(silu(gate(x)) * up(x))``, no biases, no dropout.

Grouped-query attention without repeating K/V: the ``n_rep = heads / kv_heads`` query heads that share
a KV head are stacked along the sequence axis (``[B, KV, n_rep*T, hd]``), so ``Q Kᵀ`` and ``P V`` are
one batched matmul per KV head. That is Hugging Face's ``repeat_kv`` (query head ``h`` reads KV head
``h // n_rep``) without materializing the repeat, and the K/V gradients are summed over the group
inside the runtime's matmul (``repeat_kv``'s backward would be an autograd broadcast reduction,
whose order escapes the runtime). The causal mask is a constant added to the scores (-1e9, as gpt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from node.runtime.models.base import Model, StepContext
from node.runtime.models.layers import Embedding, Linear, RMSNorm
from node.runtime.models.rope import apply_rope, rope_tables
from node.runtime.ops import Ops

MASKED = -1e9
INIT_STD = 0.02  # Hugging Face's initializer_range default


@dataclass(frozen=True)
class LlamaConfig:
    """Hugging Face ``LlamaConfig`` field names; ``block_size`` is the training window length."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = False
    block_size: int = 256

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


def f32_scalar(value: float) -> float:
    """``value`` rounded once to float32, as a Python float (a scalar operand on any device)."""
    return float(np.float32(value))


class LlamaAttention(nn.Module):
    """Causal grouped-query self-attention with RoPE on queries and keys."""

    def __init__(self, config: LlamaConfig, ops: Ops) -> None:
        super().__init__()
        self.ops = ops
        hd, heads, kv = config.head_dim, config.num_attention_heads, config.num_key_value_heads
        self.heads, self.kv_heads, self.head_dim = heads, kv, hd
        d = config.hidden_size
        self.q_proj = Linear(ops, d, heads * hd, bias=False, std=INIT_STD)
        self.k_proj = Linear(ops, d, kv * hd, bias=False, std=INIT_STD)
        self.v_proj = Linear(ops, d, kv * hd, bias=False, std=INIT_STD)
        self.o_proj = Linear(ops, heads * hd, d, bias=False, std=INIT_STD)
        self.scale = f32_scalar(1.0 / math.sqrt(hd))

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor) -> Tensor:
        b, t, _ = x.shape
        hd, kv, rep = self.head_dim, self.kv_heads, self.heads // self.kv_heads
        q = self.q_proj(x).reshape(b, t, self.heads, hd).transpose(1, 2)
        k = self.k_proj(x).reshape(b, t, kv, hd).transpose(1, 2)
        v = self.v_proj(x).reshape(b, t, kv, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q = q.reshape(b, kv, rep * t, hd)  # the query heads of each KV group, stacked along time
        att = self.ops.matmul(q, k.transpose(-2, -1)) * self.scale
        att = self.ops.softmax(att + mask, -1)
        y = self.ops.matmul(att, v).reshape(b, self.heads, t, hd).transpose(1, 2)
        out: Tensor = self.o_proj(y.reshape(b, t, self.heads * hd))
        return out


class LlamaMLP(nn.Module):
    """SwiGLU: ``down(silu(gate(x)) * up(x))``."""

    def __init__(self, config: LlamaConfig, ops: Ops) -> None:
        super().__init__()
        self.ops = ops
        d, i = config.hidden_size, config.intermediate_size
        self.gate_proj = Linear(ops, d, i, bias=False, std=INIT_STD)
        self.up_proj = Linear(ops, d, i, bias=False, std=INIT_STD)
        self.down_proj = Linear(ops, i, d, bias=False, std=INIT_STD)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.down_proj(self.ops.silu(self.gate_proj(x)) * self.up_proj(x))
        return out


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, config: LlamaConfig, ops: Ops) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(ops, config.hidden_size, config.rms_norm_eps)
        self.self_attn = LlamaAttention(config, ops)
        self.post_attention_layernorm = RMSNorm(ops, config.hidden_size, config.rms_norm_eps)
        self.mlp = LlamaMLP(config, ops)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor) -> Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        out: Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out


class LlamaModel(nn.Module):
    """Hugging Face's ``LlamaModel``: embeddings, decoder layers, final norm (the ``model.`` prefix)."""

    def __init__(self, config: LlamaConfig, ops: Ops) -> None:
        super().__init__()
        self.embed_tokens = Embedding(ops, config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(
            LlamaDecoderLayer(config, ops) for _ in range(config.num_hidden_layers)
        )
        self.norm = RMSNorm(ops, config.hidden_size, config.rms_norm_eps)


class Llama(Model):
    """``LlamaForCausalLM``: mean next-token cross-entropy over every position of the window."""

    def __init__(self, config: LlamaConfig, ops: Ops) -> None:
        super().__init__()
        self.config = config
        self.ops = ops
        self.model = LlamaModel(config, ops)
        self.lm_head = (
            None
            if config.tie_word_embeddings
            else Linear(ops, config.hidden_size, config.vocab_size, bias=False, std=INIT_STD)
        )
        cos, sin = rope_tables(config.block_size, config.head_dim, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        t, rep = config.block_size, config.num_attention_heads // config.num_key_value_heads
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        mask = torch.where(causal, 0.0, MASKED).to(torch.float32)
        self.register_buffer("causal_mask", mask, persistent=False)
        self.rep = rep

    def logits(self, x: Tensor) -> Tensor:
        """``[B, T, vocab]`` logits of token ids ``x`` (``T <= block_size``)."""
        t = x.shape[1]
        if t > self.config.block_size:
            raise ValueError(f"sequence of {t} tokens exceeds block_size {self.config.block_size}")
        cos, sin = self.get_buffer("rope_cos")[:t], self.get_buffer("rope_sin")[:t]
        mask = self.get_buffer("causal_mask")[:t, :t].repeat(self.rep, 1)  # [rep*T, T]
        h = self.model.embed_tokens(x)
        for layer in self.model.layers:
            h = layer(h, cos, sin, mask)
        h = self.model.norm(h)
        head = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        return self.ops.linear(h, head, None)

    def forward(self, x: Tensor, y: Tensor, ctx: StepContext) -> Tensor:
        b, t = x.shape
        logits = self.logits(x)
        return self.ops.cross_entropy(logits.reshape(b * t, -1), y.reshape(b * t))
