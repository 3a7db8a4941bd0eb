"""What a job costs before anyone commits money or stake: FLOPs, memory, checkpoint bytes.

``estimate_job`` is a pure function of the spec (no weights are built, no data is read), so the
submitter, every solver daemon and the market view compute the same numbers from the same spec.
The model is walked as the products it runs (``node.training.shapes``): every linear layer,
convolution and attention matmul of one forward pass, and the activations the backward pass keeps.

FLOPs (docs/MARKET.md, Estimates):

- ``matmul_flops_per_step``: forward ``2·M·K·N`` per product, backward twice that (gradients of both
  operands), except where the input carries no gradient (the data entering the first layer):
  the count ``torch.utils.flop_counter.FlopCounterMode`` makes over one step.
- ``flops_per_step``: the matmuls plus the elementwise work around them (norms, activations,
  softmax over the ``T²`` attention scores: attention's quadratic term beyond its two matmuls,
  the loss) and the optimizer update (per parameter: clipping, moments, decay).
- ``flops_total``: per step x steps (x workers x rounds for a rounds job: every unit is a job).
- ``verifier_flops``: the segments the attesters replay, ``ceil(sample_rate·N)`` of N, each
  ``checkpoint_every`` steps (per unit for a rounds job); at least one segment per attester,
  whose number the chain sets, so this is the spec's share.

Peak memory is modelled per runtime at the (micro-)batch: see ``peak_memory``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from node.runtime import RUNTIMES, optim
from node.runtime.rng import RngKey
from node.trace import tensorfile
from node.trace.state import STATE_METADATA, TrainState, no_loss
from node.training.session import optimizer_config
from node.training.shapes import ModelShapes, model_shapes
from node.training.spec import AdamWSpec, JobSpec

RUNTIME_NAMES = RUNTIMES
FLOAT_BYTES = 4
BPS = 10_000

ELEMENTWISE_FLOPS = 12
"""FLOPs per activation element, forward and backward together (norms, activations, residual
adds, softmax): a few per element each way; they are a small share next to the matmuls."""
OPTIMIZER_FLOPS = {"adamw": 14, "sgd": 6}
"""FLOPs per parameter of one update (``node.runtime.optim``): AdamW's two moments, bias
corrections, ``sqrt``, divide and decay; SGD's momentum and decay."""
CLIP_FLOPS = 3
"""Per parameter: square, sum, scale (global-norm clipping)."""

STEP_OVERHEAD_BYTES = 256 << 10
"""What a step holds besides tensors: autograd's graph nodes, tensor headers, the small-block
heap (measured: about 0.2-0.3 MB on the example jobs, whatever their size)."""
UPDATE_TEMPORARIES = {"adamw": 5, "sgd": 3}
"""Tensors the size of one parameter alive at once inside its update (``node.runtime.optim``)."""


@dataclass(frozen=True)
class JobEstimate:
    """The cost of one job, from its spec alone."""

    params: int
    """Trainable parameter count."""
    matmul_flops_per_step: int
    """Matmul + conv FLOPs of one forward and backward step (what FlopCounterMode counts)."""
    flops_per_step: int
    """Forward, backward and optimizer FLOPs of one step of one worker."""
    flops_total: int
    """The whole job: per step x steps (x workers x rounds for a rounds job)."""
    peak_memory_bytes: Mapping[str, int]
    """Training peak memory per runtime (``native``, ``repro-v1``) at the (micro-)batch."""
    checkpoint_bytes: int
    """One encoded checkpoint (the whole TrainState, canonical safetensors)."""
    segments: int
    """``steps // checkpoint_every`` (of one unit, for a rounds job)."""
    verifier_flops: int
    """FLOPs the attesters re-execute at the spec's ``sample_rate``."""

    @property
    def pflop(self) -> float:
        """``flops_total`` in PFLOP (10^15), the unit prices are quoted in."""
        return self.flops_total / 1e15

    def as_dict(self) -> dict[str, object]:
        """The fields by name (JSON-ready), as ``job estimate --json`` prints them."""
        return {
            "params": self.params,
            "matmul_flops_per_step": self.matmul_flops_per_step,
            "flops_per_step": self.flops_per_step,
            "flops_total": self.flops_total,
            "pflop": self.pflop,
            "peak_memory_bytes": dict(self.peak_memory_bytes),
            "checkpoint_bytes": self.checkpoint_bytes,
            "segments": self.segments,
            "verifier_flops": self.verifier_flops,
        }


def estimate_job(spec: JobSpec) -> JobEstimate:
    """The estimate of ``spec`` (deterministic: equal specs give equal estimates)."""
    shapes = model_shapes(spec.model, spec.batch_size)
    params = shapes.param_count
    update = OPTIMIZER_FLOPS[optimizer_name(spec)] + (CLIP_FLOPS if spec.optimizer.grad_clip else 0)
    matmul = shapes.matmul_flops
    per_step = matmul + ELEMENTWISE_FLOPS * shapes.activation_elements + update * params
    units = 1 if spec.rounds is None else spec.rounds.workers * spec.rounds.rounds
    replayed = sampled_segments(spec.segments, spec.sample_rate)
    micro = spec.micro_batch_size or spec.batch_size
    micro_shapes = shapes if micro == spec.batch_size else model_shapes(spec.model, micro)
    return JobEstimate(
        params=params,
        matmul_flops_per_step=matmul,
        flops_per_step=per_step,
        flops_total=per_step * spec.steps * units,
        peak_memory_bytes={
            runtime: peak_memory(spec, micro_shapes, runtime) for runtime in RUNTIME_NAMES
        },
        checkpoint_bytes=checkpoint_bytes(spec, shapes),
        segments=spec.segments,
        verifier_flops=replayed * spec.checkpoint_every * per_step * units,
    )


def sampled_segments(segments: int, sample_rate: float) -> int:
    """``min(N, ceil(sampleRateBps·N / 10000))``: the segments the attesters replay
    (``verifier.assignment.sampled_segments`` without its one-per-attester floor)."""
    bps = round(sample_rate * BPS)
    return min(segments, -(-segments * bps // BPS))


def optimizer_slots(spec: JobSpec) -> int:
    """Parameter-sized tensors the optimizer keeps: AdamW's two moments, SGD's momentum."""
    return 2 if isinstance(spec.optimizer, AdamWSpec) else 1


def state_tensor_bytes(spec: JobSpec, shapes: ModelShapes) -> int:
    """Bytes of one TrainState's tensors: parameters, optimizer slots, a rounds unit's outer
    momentum (the scalars are negligible)."""
    copies = 1 + optimizer_slots(spec) + (1 if spec.rounds is not None else 0)
    return copies * shapes.param_count * FLOAT_BYTES


def checkpoint_bytes(spec: JobSpec, shapes: ModelShapes) -> int:
    """The encoded TrainState's exact size: the canonical safetensors header and every tensor.

    The layout is built on the meta device (shapes only), as ``TrainingSession.layout`` builds it,
    so a model of any size is sized without allocating it.
    """
    meta = {
        n: torch.empty(s, dtype=torch.float32, device="meta")
        for n, s in shapes.param_shapes.items()
    }
    layout = TrainState(
        step=0,
        params=meta,
        optim=optim.initial_state(optimizer_config(spec), meta),
        rng_key=RngKey.from_seed(0),
        data_epoch=0,
        data_cursor=0,
        loss=no_loss(),
        outer={} if spec.rounds is None else dict(meta),
    ).layout()
    return tensorfile.encoded_size(layout, STATE_METADATA)


def peak_memory(spec: JobSpec, shapes: ModelShapes, runtime: str) -> int:
    """Training peak memory of one step at the (micro-)batch ``shapes`` was built for.

    Alive throughout (``node.training.session``): the model's parameter slots and the state being
    stepped (parameters, optimizer slots); on repro-v1 also its GEMMs' grow-only scratch
    (``node.runtime.repro.workspace``). On top, the larger of two phases:

    - backward: the activations the forward pass kept (``ModelShapes.saved_elements``), the
      gradients around the largest one (``ModelShapes.backward_elements``), and with
      accumulation the running gradient sums;
    - update: the gradients (twice with clipping or accumulation: the new copy beside the raw
      one), the next state beside the old one, and the optimizer's temporaries on the largest
      parameter.
    """
    p = shapes.param_count * FLOAT_BYTES
    state = state_tensor_bytes(spec, shapes)
    accumulating = spec.micro_batch_size not in (None, spec.batch_size)
    grad_copies = 1 + int(bool(spec.optimizer.grad_clip)) + int(accumulating)
    workspace = shapes.gemm_workspace_bytes if runtime == "repro-v1" else 0
    backward = (
        shapes.saved_elements[runtime] * FLOAT_BYTES
        + shapes.backward_elements[runtime] * FLOAT_BYTES
        + (p if accumulating else 0)
    )
    temporaries = UPDATE_TEMPORARIES[optimizer_name(spec)] * shapes.largest_param * FLOAT_BYTES
    update = grad_copies * p + state + temporaries
    return STEP_OVERHEAD_BYTES + p + state + workspace + max(backward, update)


def optimizer_name(spec: JobSpec) -> str:
    """``adamw`` or ``sgd``: the keys of the per-optimizer constants above."""
    return "adamw" if isinstance(spec.optimizer, AdamWSpec) else "sgd"
