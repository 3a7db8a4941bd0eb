"""One job's training step as a pure function ``state(t) → state(t+1)``.

The trainer, a verifier replaying a segment and a juror re-running one disputed step all call the
same ``TrainingSession.step``: the initial state is a pure function of the spec and each step is a
pure function of the previous state and the dataset, so equal inputs give equal ``stateHash``es.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from node.errors import SpecError
from node.runtime import get_ops, optim
from node.runtime.models import StepContext, build_model, initial_parameters
from node.runtime.ops import Ops
from node.runtime.rng import RngKey
from node.trace.state import Layout, TrainState, no_loss
from node.training.data import Dataset, ShardedTokenData
from node.training.spec import AdamWSpec, JobSpec


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


class TrainingSession:
    """The model, ops, optimizer and data of one spec; ``dataset`` may be None to only read states."""

    def __init__(self, spec: JobSpec, dataset: Dataset | None, ops: Ops | None = None) -> None:
        self.spec = spec
        self.dataset = dataset
        self.ops = ops if ops is not None else get_ops(spec.runtime)
        hparams = spec.model.model_dump(exclude={"architecture"})
        self.model = build_model(spec.model.architecture, hparams, self.ops)
        self.optimizer = optimizer_config(spec)
        self.key = RngKey.from_seed(spec.seed)
        self._layout: Layout | None = None

    def initial_state(self) -> TrainState:
        """``state(0)``: a pure function of the spec (model, seed, optimizer)."""
        params = initial_parameters(self.model, self.key)
        return TrainState(
            step=0,
            params=params,
            optim=optim.initial_state(self.optimizer, params),
            rng_key=self.key,
            data_epoch=0,
            data_cursor=0,
            loss=no_loss(),
        )

    def layout(self) -> Layout:
        """Names, shapes and dtypes every state of this job has."""
        if self._layout is None:
            self._layout = self.initial_state().layout()
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
            raise SpecError("state belongs to another seed (RNG key mismatch)")
        t = state.step + 1
        x, y, epoch, cursor = self.dataset.batch(
            self.key, state.data_epoch, state.data_cursor, self.spec.batch_size
        )
        names = list(state.params)
        leaves = {n: state.params[n].detach().requires_grad_(True) for n in names}
        loss = functional_call(self.model, leaves, (x, y, StepContext(self.key, t)))
        grads = torch.autograd.grad(loss, [leaves[n] for n in names])
        with torch.no_grad():
            detached = {n: state.params[n].detach() for n in names}
            params, optim_state = optim.step(
                self.ops,
                self.optimizer,
                detached,
                dict(zip(names, grads, strict=True)),
                state.optim,
            )
        return TrainState(
            step=t,
            params=params,
            optim=optim_state,
            rng_key=self.key,
            data_epoch=epoch,
            data_cursor=cursor,
            loss=loss.detach().reshape(()),
        )
