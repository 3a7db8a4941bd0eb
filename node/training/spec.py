"""The job spec (docs/PROTOCOL.md §3): a validated pydantic model, its canonical JSON and ``specHash``.

A spec is rejected here, with a message naming the offending field, before any token moves. The
canonical JSON (every field with defaults filled in, keys sorted, no whitespace, UTF-8) is what gets
stored as the spec blob, so ``sha256:<specHash>`` is that blob's address and parsing the canonical
JSON again yields the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from node.errors import SpecError

ARCHITECTURE_NAMES = ("mlp", "cnn", "gpt", "llama")
OPTIMIZER_NAMES = ("adamw", "sgd")
DATASET_FORMATS = {
    "mlp": "classification",
    "cnn": "classification",
    "gpt": "tokens",
    "llama": "tokens",
}
TOKEN_FORMATS = ("tokens", "token-shards")
"""A model that trains on ``tokens`` also takes a ``token-shards`` manifest (same windows, read by
range from shards instead of one in-memory blob)."""

MAX_SPEC_BYTES = 64 << 10
"""A spec is a few hundred bytes; anything past this is refused before it is parsed."""
MAX_SPEC_DEPTH = 16
"""Objects/arrays nest at most this deep (today's sections use 3); deeper input is refused before
pydantic sees it, so a hostile spec cannot exhaust the parser's recursion."""
MAX_SPEC_INT = 1 << 64
"""No field takes an integer of 2^64 or more (``seed`` is the largest); a bigger one is refused
whichever field it sits in, including fields added later."""
MAX_STEPS = 1 << 32
"""``steps`` bound: it keeps ``N = steps / checkpoint_every`` inside the contract's ``uint32``."""

Count = Annotated[int, Field(strict=True, ge=1, le=MAX_STEPS)]
Width = Annotated[int, Field(strict=True, ge=1, le=65536)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
# Top-level fields left out of the canonical JSON while None (see ``JobSpec.canonical_json``).
OMITTED_WHEN_UNSET = ("schedule", "micro_batch_size", "init", "rounds", "requirements")
MAX_WORKERS = 64
"""Slots per round: a round's included set is a 64-bit mask (docs/ROUNDS.md)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MLPSpec(_Section):
    """Hyper-parameters of ``mlp``: input width, hidden widths, classes, activation."""

    architecture: Literal["mlp"]
    input_dim: Width = 64
    hidden: list[Width] = Field(default_factory=lambda: [64], min_length=0, max_length=16)
    num_classes: Annotated[int, Field(strict=True, ge=2, le=65536)] = 10
    activation: Literal["relu", "tanh", "gelu"] = "relu"


class CNNSpec(_Section):
    """Hyper-parameters of ``cnn``: square images, conv widths (each halves the side), head."""

    architecture: Literal["cnn"]
    in_channels: Annotated[int, Field(strict=True, ge=1, le=64)] = 1
    image_size: Annotated[int, Field(strict=True, ge=2, le=1024)] = 8
    channels: list[Annotated[int, Field(strict=True, ge=1, le=1024)]] = Field(
        default_factory=lambda: [8, 16], min_length=1, max_length=8
    )
    kernel_size: Annotated[int, Field(strict=True, ge=1, le=7)] = 3
    hidden: Width = 64
    num_classes: Annotated[int, Field(strict=True, ge=2, le=65536)] = 10

    @model_validator(mode="after")
    def _shapes(self) -> CNNSpec:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {self.kernel_size}")
        if self.image_size % (1 << len(self.channels)):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2^{len(self.channels)} "
                f"(one 2x2 pool per conv layer)"
            )
        return self


class GPTSpec(_Section):
    """Hyper-parameters of ``gpt`` (nanoGPT names)."""

    architecture: Literal["gpt"]
    vocab_size: Annotated[int, Field(strict=True, ge=2, le=65536)]
    block_size: Annotated[int, Field(strict=True, ge=1, le=4096)] = 32
    n_layer: Annotated[int, Field(strict=True, ge=1, le=64)] = 2
    n_head: Annotated[int, Field(strict=True, ge=1, le=64)] = 4
    n_embd: Width = 64
    dropout: Fraction = 0.0
    bias: bool = True

    @model_validator(mode="after")
    def _heads(self) -> GPTSpec:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_head {self.n_head} must divide n_embd {self.n_embd}")
        return self


Heads = Annotated[int, Field(strict=True, ge=1, le=256)]


class LlamaSpec(_Section):
    """Hyper-parameters of ``llama``: Hugging Face ``LlamaConfig`` field names and meanings.

    ``head_dim`` is derived (``hidden_size / num_attention_heads``). ``block_size`` is not a
    ``LlamaConfig`` field: the length of the training windows (tokens per sequence), at most
    ``max_position_embeddings``; RoPE tables are built for it.
    """

    architecture: Literal["llama"]
    vocab_size: Annotated[int, Field(strict=True, ge=2, le=1 << 20)]
    hidden_size: Width
    intermediate_size: Annotated[int, Field(strict=True, ge=1, le=1 << 18)]
    num_hidden_layers: Annotated[int, Field(strict=True, ge=1, le=256)]
    num_attention_heads: Heads
    num_key_value_heads: Heads
    rms_norm_eps: float = Field(default=1e-6, gt=0.0, lt=1.0)
    rope_theta: float = Field(default=10000.0, gt=1.0, le=1e9)
    max_position_embeddings: Annotated[int, Field(strict=True, ge=1, le=1 << 20)] = 2048
    tie_word_embeddings: bool = False
    block_size: Annotated[int, Field(strict=True, ge=1, le=1 << 16)] = 256

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @model_validator(mode="after")
    def _shapes(self) -> LlamaSpec:
        heads, kv = self.num_attention_heads, self.num_key_value_heads
        if self.hidden_size % heads:
            raise ValueError(
                f"num_attention_heads {heads} must divide hidden_size {self.hidden_size}"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even (RoPE rotates pairs)")
        if heads % kv:
            raise ValueError(f"num_key_value_heads {kv} must divide num_attention_heads {heads}")
        if self.block_size > self.max_position_embeddings:
            raise ValueError(
                f"block_size {self.block_size} exceeds max_position_embeddings "
                f"{self.max_position_embeddings}"
            )
        return self


ModelSpec = Annotated[MLPSpec | CNNSpec | GPTSpec | LlamaSpec, Field(discriminator="architecture")]


class DatasetSpec(_Section):
    """The training data: a content address and its format (``token-shards``: the address of a
    dataset manifest, see ``node.training.shards``)."""

    address: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    format: Literal["classification", "tokens", "token-shards"]


class InitSpec(_Section):
    """Pretrained initial weights: the address of an init manifest (``crowdtrain model import``)."""

    address: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


class AdamWSpec(_Section):
    name: Literal["adamw"]
    lr: float = Field(gt=0.0, le=10.0)
    betas: tuple[Fraction, Fraction] = (0.9, 0.999)
    eps: float = Field(default=1e-8, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    grad_clip: float | None = Field(default=None, gt=0.0)


class SGDSpec(_Section):
    name: Literal["sgd"]
    lr: float = Field(gt=0.0, le=10.0)
    momentum: Fraction = 0.9
    weight_decay: float = Field(default=0.0, ge=0.0)
    grad_clip: float | None = Field(default=None, gt=0.0)


OptimizerSpec = Annotated[AdamWSpec | SGDSpec, Field(discriminator="name")]


class ScheduleSpec(_Section):
    """The learning rate per step: linear warmup to ``optimizer.lr``, then decay to ``min_lr``.

    ``decay_steps`` defaults to every step after warmup (the floor is reached at the last step);
    ``node.runtime.schedule`` defines the rates reproducibly.
    """

    warmup_steps: Annotated[int, Field(strict=True, ge=0)] = 0
    decay: Literal["constant", "linear", "cosine"] = "cosine"
    decay_steps: Annotated[int, Field(strict=True, ge=1)] | None = None
    min_lr: float = Field(default=0.0, ge=0.0)


class RoundsSpec(_Section):
    """A rounds job (docs/ROUNDS.md): ``workers`` slots run ``steps`` inner steps per round from the
    same global parameters, ``rounds`` times; an outer SGD step with Nesterov momentum merges them.
    """

    workers: Annotated[int, Field(strict=True, ge=1, le=MAX_WORKERS)]
    rounds: Annotated[int, Field(strict=True, ge=1, le=MAX_STEPS)]
    quorum: Annotated[int, Field(strict=True, ge=1, le=MAX_WORKERS)]
    outer_lr: float = Field(default=0.7, gt=0.0, le=10.0)
    outer_momentum: Fraction = 0.9
    inner_state: Literal["carry", "fresh"] = "carry"

    @model_validator(mode="after")
    def _quorum(self) -> RoundsSpec:
        if self.quorum > self.workers:
            raise ValueError(f"quorum ({self.quorum}) exceeds workers ({self.workers})")
        return self


class RequirementsSpec(_Section):
    """What a solver's machine must have to take the job (docs/MARKET.md "Requirements").

    Optional: without it the solver's daemon judges fit from the job's estimate alone. Part of
    the canonical JSON once set, so the requirements are bound to ``specHash`` and a solver can
    trust what it reads; ``min_memory_bytes`` only raises the bar above the estimate, it never
    lowers it (an estimate a submitter talks down would send the job to machines that run out of
    memory).
    """

    device: Literal["cpu", "cuda", "any"] = "any"
    min_memory_bytes: Annotated[int, Field(strict=True, ge=1, lt=MAX_SPEC_INT)] | None = None


def _known(value: Any, key: str, known: tuple[str, ...], what: str) -> Any:
    if isinstance(value, dict) and key in value and value[key] not in known:
        raise ValueError(f"unknown {what} {_short(value[key])} (known: {', '.join(known)})")
    return value


def _short(value: Any) -> str:
    """``repr`` cut to 40 characters: an error message quotes hostile input, it never echoes it."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _path(where: str) -> str:
    """A dotted field path for a message: cut to 80 characters, control characters escaped."""
    return repr(where[:80])[1:-1]


def _check_bounds(data: Any) -> None:
    """Depth and integer-size limits over the raw input, iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_SPEC_DEPTH:
                raise SpecError(
                    f"invalid job spec: {_path(where)} nests deeper than {MAX_SPEC_DEPTH} levels"
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((item, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(value, int) and not -MAX_SPEC_INT < value < MAX_SPEC_INT:
            raise SpecError(f"invalid job spec: {_path(where)}: integer out of range (|n| < 2^64)")


class JobSpec(_Section):
    """A training job: what to train, on which data, how, and how it is checkpointed and sampled."""

    version: Literal[1] = 1
    model: ModelSpec
    dataset: DatasetSpec
    optimizer: OptimizerSpec
    batch_size: Annotated[int, Field(strict=True, ge=1, le=65536)]
    steps: Count
    checkpoint_every: Annotated[int, Field(strict=True, ge=2)]
    seed: Annotated[int, Field(strict=True, ge=0, lt=1 << 64)] = 0
    runtime: Literal["native", "repro-v1"] = "repro-v1"
    sample_rate: float = Field(default=0.1, gt=0.0, le=1.0)
    schedule: ScheduleSpec | None = None
    micro_batch_size: Annotated[int, Field(strict=True, ge=1)] | None = None
    init: InitSpec | None = None
    rounds: RoundsSpec | None = None
    requirements: RequirementsSpec | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _architecture(cls, value: Any) -> Any:
        return _known(value, "architecture", ARCHITECTURE_NAMES, "architecture")

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer(cls, value: Any) -> Any:
        return _known(value, "name", OPTIMIZER_NAMES, "optimizer")

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        k = self.checkpoint_every
        if self.steps % k:
            raise ValueError(f"steps ({self.steps}) must be a multiple of checkpoint_every ({k})")
        wanted = DATASET_FORMATS[self.model.architecture]
        allowed = TOKEN_FORMATS if wanted == "tokens" else (wanted,)
        if self.dataset.format not in allowed:
            raise ValueError(
                f"dataset.format {self.dataset.format!r} does not fit architecture "
                f"{self.model.architecture!r} (needs {' or '.join(map(repr, allowed))})"
            )
        if self.micro_batch_size is not None and self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"micro_batch_size ({self.micro_batch_size}) must divide batch_size "
                f"({self.batch_size})"
            )
        if self.rounds is not None and self.steps * self.rounds.rounds > MAX_STEPS:
            raise ValueError(
                f"steps x rounds.rounds ({self.steps} x {self.rounds.rounds}) exceeds 2^32 "
                f"inner steps"
            )
        if self.schedule is not None:
            if self.schedule.warmup_steps > self.total_steps:
                raise ValueError(
                    f"schedule.warmup_steps ({self.schedule.warmup_steps}) exceeds "
                    f"{self._total_steps_name} ({self.total_steps})"
                )
            if self.schedule.min_lr > self.optimizer.lr:
                raise ValueError(
                    f"schedule.min_lr ({self.schedule.min_lr}) exceeds optimizer.lr "
                    f"({self.optimizer.lr})"
                )
        return self

    @property
    def segments(self) -> int:
        """N = steps / checkpoint_every (of one unit, for a rounds job)."""
        return self.steps // self.checkpoint_every

    @property
    def total_steps(self) -> int:
        """Inner steps the learning-rate schedule spans: ``steps``, or ``rounds · steps`` (R·H)
        for a rounds job, whose units each run ``steps`` of them."""
        return self.steps if self.rounds is None else self.steps * self.rounds.rounds

    @property
    def _total_steps_name(self) -> str:
        return "steps" if self.rounds is None else "steps x rounds.rounds"

    def canonical_json(self) -> bytes:
        """Sorted keys, no whitespace, UTF-8, every default written out.

        Optional features added after version 1 (``OMITTED_WHEN_UNSET``) are left out while unset,
        so every spec written before them keeps its bytes and ``specHash``.
        """
        unset = {name for name in OMITTED_WHEN_UNSET if getattr(self, name) is None}
        return json.dumps(
            self.model_dump(mode="json", exclude=unset),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")

    def spec_hash(self) -> bytes:
        """``specHash``: SHA-256 of the canonical JSON (the spec blob's address digest)."""
        return hashlib.sha256(self.canonical_json()).digest()

    def address(self) -> str:
        """``sha256:<specHash>``, the address of the canonical spec blob."""
        return "sha256:" + self.spec_hash().hex()

    def with_overrides(self, **changes: Any) -> JobSpec:
        """A re-validated copy with top-level fields replaced (``steps``, ``runtime``…)."""
        data = self.model_dump(mode="json")
        data.update({k: v for k, v in changes.items() if v is not None})
        return parse_spec(data)


def _format_errors(err: ValidationError) -> str:
    parts = []
    for item in err.errors():
        loc = [str(p) for p in item["loc"]]
        if (
            len(loc) > 1
            and loc[0] in ("model", "optimizer")
            and loc[1]
            in (
                *ARCHITECTURE_NAMES,
                *OPTIMIZER_NAMES,
            )
        ):
            del loc[1]
        msg = item["msg"].removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_spec(data: Any) -> JobSpec:
    """Validate a parsed spec (a dict); SpecError naming each invalid field."""
    if not isinstance(data, dict):
        raise SpecError(f"invalid job spec: expected an object, got {type(data).__name__}")
    _check_bounds(data)
    try:
        return JobSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(f"invalid job spec: {_format_errors(err)}") from None


def _parse_text(raw: bytes, toml: bool | None, origin: str) -> Any:
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"job spec {origin} is {len(raw)} bytes, more than {MAX_SPEC_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"job spec {origin} is not UTF-8: {err}") from None
    if toml is None:
        toml = not text.lstrip().startswith("{")
    try:
        return tomllib.loads(text) if toml else json.loads(text)
    except RecursionError:
        raise SpecError(f"job spec {origin} nests deeper than {MAX_SPEC_DEPTH} levels") from None
    except (
        ValueError
    ) as err:  # JSONDecodeError, TOMLDecodeError, and ints past Python's 4300 digits
        kind = "TOML" if toml else "JSON"
        raise SpecError(f"job spec {origin} is not valid {kind}: {err}") from None


def load_spec(source: str | Path | bytes) -> JobSpec:
    """A spec from a JSON/TOML file path or from raw bytes (JSON if it starts with ``{``, else TOML)."""
    if isinstance(source, bytes):
        return parse_spec(_parse_text(source, None, "<bytes>"))
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SpecError(f"cannot read job spec {path}: {err.strerror or err}") from None
    toml = True if path.suffix == ".toml" else (False if path.suffix == ".json" else None)
    return parse_spec(_parse_text(raw, toml, str(path)))
