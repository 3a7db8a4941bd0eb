"""A character-level GPT in nanoGPT's shape (Attention, MLP, Block, GPT), written against ``Ops``.

Differences from nanoGPT, each for reproducibility: the causal mask is added as a constant
(-1e9, finite so a hand-written ``exp`` never meets ``inf``) instead of ``masked_fill``; position
embeddings are looked up for every batch row (so their gradient is the op's scatter-add, not an
autograd broadcast reduction); dropout masks come from the counter-based RNG. The output head is
tied to the token embedding, as in GPT-2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from node.runtime.models.base import Model, StepContext, f32
from node.runtime.models.layers import Embedding, LayerNorm, Linear
from node.runtime.ops import Ops

MASKED = -1e9


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 128
    block_size: int = 32
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    bias: bool = True


class Attention(nn.Module):
    """Causal multi-head self-attention."""

    def __init__(self, config: GPTConfig, ops: Ops, site: str) -> None:
        super().__init__()
        self.ops = ops
        self.site = site
        self.n_head = config.n_head
        self.dropout = config.dropout
        proj_std = 0.02 / math.sqrt(2 * config.n_layer)
        self.c_attn = Linear(ops, config.n_embd, 3 * config.n_embd, config.bias, std=0.02)
        self.c_proj = Linear(ops, config.n_embd, config.n_embd, config.bias, std=proj_std)
        causal = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        mask = torch.where(causal, 0.0, MASKED).to(torch.float32)
        self.register_buffer("mask", mask, persistent=False)
        self.scale = f32(1.0 / math.sqrt(config.n_embd // config.n_head))

    def forward(self, x: Tensor, ctx: StepContext) -> Tensor:
        b, t, c = x.shape
        hd = c // self.n_head
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.reshape(b, t, self.n_head, hd).transpose(1, 2)
        k = k.reshape(b, t, self.n_head, hd).transpose(1, 2)
        v = v.reshape(b, t, self.n_head, hd).transpose(1, 2)
        att = self.ops.matmul(q, k.transpose(-2, -1)) * self.scale
        mask = self.get_buffer("mask")
        att = self.ops.softmax(att + mask[:t, :t], -1)
        att = self.ops.dropout(
            att, self.dropout, ctx.keep_mask(f"{self.site}.att", att.shape, self.dropout)
        )
        y = self.ops.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        y = self.c_proj(y)
        return self.ops.dropout(
            y, self.dropout, ctx.keep_mask(f"{self.site}.resid", y.shape, self.dropout)
        )


class MLP(nn.Module):
    """Position-wise feed-forward: 4x expansion with tanh-GELU."""

    def __init__(self, config: GPTConfig, ops: Ops, site: str) -> None:
        super().__init__()
        self.ops = ops
        self.site = site
        self.dropout = config.dropout
        proj_std = 0.02 / math.sqrt(2 * config.n_layer)
        self.c_fc = Linear(ops, config.n_embd, 4 * config.n_embd, config.bias, std=0.02)
        self.c_proj = Linear(ops, 4 * config.n_embd, config.n_embd, config.bias, std=proj_std)

    def forward(self, x: Tensor, ctx: StepContext) -> Tensor:
        y = self.c_proj(self.ops.gelu(self.c_fc(x)))
        return self.ops.dropout(y, self.dropout, ctx.keep_mask(self.site, y.shape, self.dropout))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, config: GPTConfig, ops: Ops, site: str) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(ops, config.n_embd, config.bias)
        self.attn = Attention(config, ops, f"{site}.attn")
        self.ln_2 = LayerNorm(ops, config.n_embd, config.bias)
        self.mlp = MLP(config, ops, f"{site}.mlp")

    def forward(self, x: Tensor, ctx: StepContext) -> Tensor:
        x = x + self.attn(self.ln_1(x), ctx)
        out: Tensor = x + self.mlp(self.ln_2(x), ctx)
        return out


class GPT(Model):
    """Token + position embeddings, ``n_layer`` blocks, final LayerNorm, tied output head."""

    def __init__(self, config: GPTConfig, ops: Ops) -> None:
        super().__init__()
        self.config = config
        self.ops = ops
        self.wte = Embedding(ops, config.vocab_size, config.n_embd)
        self.wpe = Embedding(ops, config.block_size, config.n_embd)
        self.h = nn.ModuleList(Block(config, ops, f"h.{i}") for i in range(config.n_layer))
        self.ln_f = LayerNorm(ops, config.n_embd, config.bias)

    def forward(self, x: Tensor, y: Tensor, ctx: StepContext) -> Tensor:
        b, t = x.shape
        pos = torch.arange(t, dtype=torch.int64, device=x.device).expand(b, t)
        h = self.wte(x) + self.wpe(pos)
        h = self.ops.dropout(
            h, self.config.dropout, ctx.keep_mask("drop", h.shape, self.config.dropout)
        )
        for block in self.h:
            h = block(h, ctx)
        logits = self.ops.linear(self.ln_f(h), self.wte.weight, None)
        return self.ops.cross_entropy(logits.reshape(b * t, -1), y.reshape(b * t))
