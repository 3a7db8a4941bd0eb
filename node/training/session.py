"""One job's training step as a pure function ``state(t) → state(t+1)``.

The step runs on the session's device (``cpu`` or ``cuda``); states stay on the CPU in between.

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
from node.training.data import Dataset
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

    def __init__(
        self,
        spec: JobSpec,
        dataset: Dataset | None,
        ops: Ops | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.spec = spec
        self.dataset = dataset
        self.ops = ops if ops is not None else get_ops(spec.runtime)
        self.device = torch.device(device)
        hparams = spec.model.model_dump(exclude={"architecture"})
        self.model = build_model(spec.model.architecture, hparams, self.ops).to(self.device)
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
        dev = self.device
        names = list(state.params)
        on_device = {n: state.params[n].detach().to(dev) for n in names}
        leaves = {n: p.requires_grad_(True) for n, p in on_device.items()}
        ctx = StepContext(self.key, t, device=dev)
        loss = functional_call(self.model, leaves, (x.to(dev), y.to(dev), ctx))
        grads = torch.autograd.grad(loss, [leaves[n] for n in names])
        with torch.no_grad():
            params, optim_state = optim.step(
                self.ops,
                self.optimizer,
                {n: p.detach() for n, p in on_device.items()},
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
        )


def _to_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """States live on the CPU between steps: each one is serialized and hashed."""
    return {n: t.cpu() for n, t in tensors.items()}
