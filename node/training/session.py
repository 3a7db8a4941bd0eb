"""One job's training step as a pure function ``state(t) → state(t+1)``.

The step runs on the session's device (``cpu`` or ``cuda``); states stay on the CPU in between.

The trainer, a verifier replaying a segment and a juror re-running one disputed step all call the
same ``TrainingSession.step``: the initial state is a pure function of the spec and each step is a
pure function of the previous state and the dataset, so equal inputs give equal ``stateHash``es.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor
from torch.func import functional_call

from node.errors import SpecError
from node.runtime import get_ops, optim
from node.runtime.models import StepContext, build_model, initial_parameters
from node.runtime.models.base import f32
from node.runtime.ops import Ops
from node.runtime.rng import RngKey
from node.runtime.schedule import Schedule
from node.storage import BlobStore
from node.trace.state import Layout, TrainState, no_loss
from node.training.data import Dataset, ShardedTokenData
from node.training.init_weights import load_init
from node.training.spec import AdamWSpec, JobSpec
from node.training.unit import UnitId, unit_key


def optimizer_config(spec: JobSpec) -> optim.OptimizerConfig:
    o = spec.optimizer
    if isinstance(o, AdamWSpec):
        return optim.OptimizerConfig(
            name="adamw",
            lr=o.lr,
            weight_decay=o.weight_decay,
            betas=o.betas,
            eps=o.eps,
            grad_clip=o.grad_clip,
        )
    return optim.OptimizerConfig(
        name="sgd", lr=o.lr, weight_decay=o.weight_decay, momentum=o.momentum, grad_clip=o.grad_clip
    )


def lr_schedule(spec: JobSpec) -> Schedule:
    """The spec's schedule section as rates per step (constant ``optimizer.lr`` without one)."""
    s = spec.schedule
    if s is None:
        return Schedule(peak_lr=spec.optimizer.lr)
    decay_steps = s.decay_steps if s.decay_steps is not None else spec.total_steps - s.warmup_steps
    return Schedule(
        peak_lr=spec.optimizer.lr,
        warmup_steps=s.warmup_steps,
        decay=s.decay,
        decay_steps=decay_steps,
        min_lr=s.min_lr,
    )


class TrainingSession:
    """The model, ops, optimizer and data of one spec; ``dataset`` may be None to only read states.

    ``store`` serves the pretrained weights of a spec with ``init`` (needed for ``initial_state``).
    ``unit`` names the unit of a rounds job this session trains (docs/ROUNDS.md): its states carry
    the unit's RNG key and its step ``t`` runs at the schedule's inner step ``round·steps + t``.
    A rounds spec without a unit only reads states.
    """

    def __init__(
        self,
        spec: JobSpec,
        dataset: Dataset | None,
        ops: Ops | None = None,
        device: torch.device | str = "cpu",
        *,
        store: BlobStore | None = None,
        unit: UnitId | None = None,
    ) -> None:
        if unit is not None:
            unit.check(spec)
        self.spec = spec
        self.unit = unit
        self.dataset = dataset
        self.store = store
        self.ops = ops if ops is not None else get_ops(spec.runtime)
        self.device = torch.device(device)
        hparams = spec.model.model_dump(exclude={"architecture"})
        self.model = build_model(spec.model.architecture, hparams, self.ops).to(self.device)
        self.optimizer = optimizer_config(spec)
        self.schedule = lr_schedule(spec)
        self.init_key = RngKey.from_seed(spec.seed)
        """The key of the spec's initial parameters (``G_0`` of a rounds job)."""
        self.key = self.init_key if unit is None else unit_key(spec, unit.round_, unit.slot)
        """The key of this session's states: batches and dropout draw from it."""
        self.step_offset = 0 if unit is None else unit.round_ * spec.steps
        """Inner steps before this session's first: its step ``t`` is the schedule's step
        ``step_offset + t`` (a unit's trace counts its own steps 0..H, like any job's)."""
        self._layout: Layout | None = None

    def initial_state(self) -> TrainState:
        """``state(0)``: a pure function of the spec (model, seed, optimizer, init weights).

        For a unit of round 0 of a rounds job: ``G_0``, zero outer momentum, the unit's key. A
        later round's state 0 depends on the previous round's units
        (``node.training.rounds.round_start_state``)."""
        if self.spec.rounds is not None and (self.unit is None or self.unit.round_ > 0):
            raise SpecError(
                "state 0 of a rounds job's unit past round 0 comes from the previous round's "
                "units (node.training.rounds.round_start_state)"
                if self.unit is not None
                else "a rounds job has no single initial state: name the unit"
            )
        params = self._initial_parameters()
        return self.start_state(params, optim.initial_state(self.optimizer, params), {})

    def start_state(
        self, params: dict[str, Tensor], optim_state: dict[str, Tensor], outer: dict[str, Tensor]
    ) -> TrainState:
        """A state 0 of this session from its parts: step 0, this session's key, data cursor 0,
        no loss; ``outer`` is filled with zeros for a rounds job when empty."""
        if self.spec.rounds is not None and not outer:
            outer = {n: torch.zeros_like(p) for n, p in params.items()}
        return TrainState(
            step=0,
            params=params,
            optim=optim_state,
            rng_key=self.key,
            data_epoch=0,
            data_cursor=0,
            loss=no_loss(),
            outer=outer,
        )

    def _initial_parameters(self) -> dict[str, Tensor]:
        if self.spec.init is None:
            return initial_parameters(self.model, self.init_key)
        if self.store is None:
            raise SpecError("the spec's init weights need a blob store to build the initial state")
        return load_init(
            self.store,
            self.spec.init.address,
            self.spec.model.architecture,
            self.spec.model.model_dump(),
            self.parameter_shapes(),
        )

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The model's parameters (the names every state holds) and their shapes."""
        return {n: tuple(p.shape) for n, p in sorted(self.model.named_parameters())}

    def layout(self) -> Layout:
        """Names, shapes and dtypes every state of this job has (no weights are loaded)."""
        if self._layout is None:
            meta = {
                n: torch.empty(s, dtype=torch.float32, device="meta")
                for n, s in self.parameter_shapes().items()
            }
            self._layout = TrainState(
                step=0,
                params=meta,
                optim=optim.initial_state(self.optimizer, meta),
                rng_key=self.key,
                data_epoch=0,
                data_cursor=0,
                loss=no_loss(),
                outer={} if self.spec.rounds is None else dict(meta),
            ).layout()
        return self._layout

    def validation_loss(self, state: TrainState) -> float | None:
        """Mean loss of ``state``'s parameters on the held-out windows (no dropout, no update), or
        None when the dataset has no validation split. Reported, never hashed: it leaves the
        trace untouched."""
        if not isinstance(self.dataset, ShardedTokenData):
            return None
        total, rows = 0.0, 0
        ctx = StepContext(self.key, state.step, training=False)
        with torch.no_grad():
            for x, y in self.dataset.validation_batches(self.spec.batch_size):
                loss = functional_call(self.model, dict(state.params), (x, y, ctx))
                total += float(loss) * x.shape[0]
                rows += x.shape[0]
        return total / rows if rows else None

    def step(self, state: TrainState) -> TrainState:
        """``state(t+1)`` from ``state(t)``: one batch, forward, backward, optimizer update."""
        if self.dataset is None:
            raise SpecError("this session has no dataset: it can read states but not train")
        if state.rng_key != self.key:
            raise SpecError(
                "state belongs to another seed (RNG key mismatch)"
                if self.unit is None
                else f"state does not belong to unit {self.unit} (RNG key mismatch)"
            )
        if self.spec.rounds is not None and self.unit is None:
            raise SpecError("a rounds job trains by units: name the unit of this session")
        t = state.step + 1
        x, y, epoch, cursor = self.dataset.batch(
            self.key, state.data_epoch, state.data_cursor, self.spec.batch_size
        )
        dev = self.device
        names = list(state.params)
        on_device = {n: state.params[n].detach().to(dev) for n in names}
        loss, grads = self._loss_and_grads(on_device, x.to(dev), y.to(dev), t)
        with torch.no_grad():
            params, optim_state = optim.step(
                self.ops,
                replace(self.optimizer, lr=self.schedule.lr_at(self.step_offset + t)),
                on_device,
                dict(zip(names, grads, strict=True)),
                {n: v.to(dev) for n, v in state.optim.items()},
            )
        return TrainState(
            step=t,
            params=_to_cpu(params),
            optim=_to_cpu(optim_state),
            rng_key=self.key,
            data_epoch=epoch,
            data_cursor=cursor,
            loss=loss.detach().reshape(()).cpu(),
            outer=state.outer,
        )

    def _loss_and_grads(
        self, params: dict[str, Tensor], x: Tensor, y: Tensor, t: int
    ) -> tuple[Tensor, list[Tensor]]:
        """The batch's mean loss and its gradients (in ``params`` order), by micro-batches if set.

        Accumulation splits the batch into consecutive micro-batches, sums their losses and
        gradients in micro-batch order (a fixed order of float32 additions) and divides by their
        number: the mean over the batch, as one large batch would give, in a fraction of the memory.
        """
        micro = self.spec.micro_batch_size
        if micro is None or micro == self.spec.batch_size:
            return self._micro_step(params, x, y, StepContext(self.key, t, device=self.device))
        count = self.spec.batch_size // micro
        loss_sum: Tensor | None = None
        grad_sums: list[Tensor] = []
        for i in range(count):
            rows = slice(i * micro, (i + 1) * micro)
            ctx = StepContext(self.key, t, device=self.device, micro=i)
            loss, grads = self._micro_step(params, x[rows], y[rows], ctx)
            if loss_sum is None:
                loss_sum, grad_sums = loss.detach(), list(grads)
            else:
                loss_sum = loss_sum + loss.detach()
                grad_sums = [a + g for a, g in zip(grad_sums, grads, strict=True)]
        assert loss_sum is not None
        # A divisor on the device: CUDA divides by a CPU scalar as a multiply by its reciprocal,
        # which rounds differently from the CPU's true division.
        n = f32(count).to(self.device)
        return loss_sum / n, [g / n for g in grad_sums]

    def _micro_step(
        self, params: dict[str, Tensor], x: Tensor, y: Tensor, ctx: StepContext
    ) -> tuple[Tensor, list[Tensor]]:
        """Loss and gradients of one (micro-)batch; ``params`` are left without gradients."""
        leaves = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        loss = functional_call(self.model, leaves, (x, y, ctx))
        grads = torch.autograd.grad(loss, list(leaves.values()))
        return loss, list(grads)


def _to_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """States live on the CPU between steps: each one is serialized and hashed."""
    return {n: t.cpu() for n, t in tensors.items()}
