"""The market bench's world: heterogeneous solvers and a stream of jobs of mixed sizes (seeded).

Jobs are the example specs (``examples/specs``) scaled to real sizes (a wide MLP, a CNN on 64x64
images, GPT-2 small, llamas of 130M to 890M parameters), so ``estimate_job`` gives each its PFLOP
and peak memory the way ``job submit`` would. Solvers are GPU machines of 8, 16, 24 and
80 GiB and a few CPU ones, each with its own running cost per PFLOP drawn log-uniformly over a
decade: that cost is its ``--min-price-per-pflop``, so it claims only at or above it. A quarter of
them are offline (they are registered, but no daemon runs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from bench.repro_run import SPEC_DIR
from node.chain.pricing import offer_at
from node.chain.types import JobTerms, SolverRecord, Timestamp, Wei
from node.solver.capability import Capability
from node.solver.policy import ClaimPolicy
from node.training.estimate import JobEstimate, estimate_job
from node.training.spec import JobSpec, load_spec, parse_spec

GIB = 1 << 30
TOKEN = 10**18
BLOCK_TIME_S = 2
"""Seconds per block of the simulated chain (an L2's cadence; the devnet mines every second)."""
COST_RANGE = (0.5, 5.0)
"""Solvers' running costs, tokens per PFLOP: one decade, drawn log-uniformly."""
FLOOR_PER_PFLOP, CAP_PER_PFLOP = 0.25, 10.0
"""Submitters' auction terms per PFLOP: a floor below the cheapest solver, a cap above the dearest."""
RAMP_S = (1800, 3600)
"""Each job's ramp (seconds), drawn uniformly."""
TIMEOUT_PER_PFLOP_S = 2_000
"""Submitters allow this many seconds per PFLOP (at least an hour): six times what the slowest GPU
here needs, while a CPU host (4,000 s per PFLOP in repro-v1) only makes it on the smallest jobs."""
RUNTIME = "repro-v1"

# (device, memory GiB, native FLOP/s): rough fp32 figures of an 8/16/24/80 GiB GPU and a CPU host.
MACHINES: tuple[tuple[str, int, float], ...] = (
    ("cuda", 8, 12e12),
    ("cuda", 16, 20e12),
    ("cuda", 24, 60e12),
    ("cuda", 80, 50e12),
    ("cpu", 64, 1e12),
)
REPRO_SLOWDOWN = 4.0
"""repro-v1 runs at a fraction of native speed (fixed-order reductions; see ``bench repro``)."""


@dataclass(frozen=True)
class MarketSolver:
    """One solver machine: its cost (its policy's price floor), what it can run, and whether it is up."""

    name: str
    cost_per_pflop: float
    capability: Capability
    online: bool

    @property
    def policy(self) -> ClaimPolicy:
        return ClaimPolicy(min_price_per_pflop=self.cost_per_pflop)

    @property
    def machine(self) -> str:
        """Its machine class: ``cuda-80GiB``, ``cpu-64GiB``…"""
        return f"{self.capability.device}-{self.capability.memory_bytes // GIB}GiB"

    def seconds_for(self, estimate: JobEstimate, runtime: str) -> float:
        return estimate.flops_total / self.capability.flops_per_second[runtime]


@dataclass(frozen=True)
class MarketJob:
    """One posted job: its spec and estimate, its auction terms, when it is posted."""

    job_id: int
    label: str
    spec: JobSpec
    estimate: JobEstimate
    floor: Wei
    cap: Wei
    ramp: int
    min_finalized: int
    solve_timeout: int
    posted_block: int

    def terms(self, ramp_start: int) -> JobTerms:
        return JobTerms(
            floor=self.floor,
            cap=self.cap,
            ramp_start=Timestamp(ramp_start),
            ramp=self.ramp,
            min_finalized=self.min_finalized,
        )

    def offer(self, ramp_start: int, now: int) -> int:
        return offer_at(self.floor, self.cap, ramp_start, self.ramp, now)

    @property
    def memory_bytes(self) -> int:
        """What the job needs: the estimate's peak, or the spec's stated minimum if larger."""
        needed = self.estimate.peak_memory_bytes[self.spec.runtime]
        stated = self.spec.requirements.min_memory_bytes if self.spec.requirements else None
        return max(needed, stated or 0)

    def fits(self, solver: MarketSolver, record: SolverRecord) -> bool:
        """The bench's own ground truth (not ``judge``): can ``solver`` run this job? Its device
        class, its memory, finishing inside the solve timeout, and the job's record bar."""
        wanted = self.spec.requirements.device if self.spec.requirements else "any"
        return (
            wanted in ("any", solver.capability.device)
            and self.memory_bytes <= solver.capability.memory_bytes
            and solver.seconds_for(self.estimate, self.spec.runtime) <= self.solve_timeout
            and record.finalized >= self.min_finalized
        )


@dataclass(frozen=True)
class Scenario:
    seed: int
    solvers: tuple[MarketSolver, ...]
    jobs: tuple[MarketJob, ...]


def _example(name: str, **model: Any) -> dict[str, Any]:
    spec = load_spec(SPEC_DIR / f"{name}.json").model_dump(mode="json")
    spec["model"].update(model)
    return spec


def _llama(hidden: int, layers: int, heads: int, inter: int, block: int) -> dict[str, Any]:
    return _example(
        "llama_text",
        vocab_size=32_000,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads // 2,
        max_position_embeddings=block,
        block_size=block,
    )


def _templates() -> dict[str, tuple[dict[str, Any], int, int | None]]:
    """Scaled example specs with their batch and micro-batch sizes. By today's estimate their peak
    memory is 2 GiB (MLP, CNN: any machine), 6 (8 GiB cards up), 12 and 14 (16 GiB up), 19 and 24
    (24 GiB up) and 35 GiB (only the 80 GiB cards and the CPU hosts)."""
    gpt2 = _example(
        "gpt_text",
        vocab_size=50_257,
        block_size=1024,
        n_layer=12,
        n_head=12,
        n_embd=768,
        dropout=0.0,
    )
    return {
        "mlp-wide": (_example("mlp_digits", input_dim=784, hidden=[4096] * 4), 1024, None),
        "cnn-64px": (_example("cnn_digits", in_channels=3, image_size=64, channels=[64, 128, 256], hidden=512), 128, None),
        "gpt2-small": (gpt2, 8, 1),
        "gpt2-small-mb4": (gpt2, 8, 4),
        "llama-130m": (_llama(768, 12, 12, 2048, 1024), 8, None),
        "llama-350m": (_llama(1024, 24, 16, 2816, 1024), 8, 1),
        "llama-350m-mb4": (_llama(1024, 24, 16, 2816, 1024), 8, 4),
        "llama-890m": (_llama(2048, 16, 16, 5632, 1024), 8, 1),
    }  # fmt: skip


@cache
def job_spec(label: str, steps: int, device: str | None) -> tuple[JobSpec, JobEstimate]:
    """Template ``label`` trained for ``steps`` (checkpoints every 20), optionally requiring a
    device, and its estimate."""
    data, batch, micro = _templates()[label]
    data = {**data, "batch_size": batch, "micro_batch_size": micro, "steps": steps}
    data["checkpoint_every"] = 20
    data["runtime"] = RUNTIME
    if device is not None:
        data["requirements"] = {"device": device}
    spec = parse_spec({k: v for k, v in data.items() if v is not None})
    return spec, estimate_job(spec)


def make_solvers(rng: random.Random, count: int) -> tuple[MarketSolver, ...]:
    """``count`` solvers cycling through ``MACHINES``, each with a cost drawn from ``COST_RANGE``."""
    low, high = COST_RANGE
    solvers = []
    for i in range(count):
        device, memory_gib, native = MACHINES[i % len(MACHINES)]
        cost = round(low * (high / low) ** rng.random(), 3)
        capability = Capability(
            device=device,
            memory_bytes=memory_gib * GIB,
            flops_per_second={"native": native, "repro-v1": native / REPRO_SLOWDOWN},
        )
        solvers.append(MarketSolver(f"s{i:02d}", cost, capability, online=rng.random() >= 0.25))
    return tuple(solvers)


def make_jobs(rng: random.Random, count: int, *, every_blocks: int) -> tuple[MarketJob, ...]:
    """``count`` jobs, one every ``every_blocks`` on average (exponential gaps), sizes mixed."""
    labels = sorted(_templates())
    jobs, block = [], 0
    for i in range(count):
        label = rng.choice(labels)
        device = "cuda" if rng.random() < 0.2 else None
        spec, estimate = job_spec(label, rng.choice((40, 100, 200, 400)), device)
        pflop = estimate.pflop
        jobs.append(
            MarketJob(
                job_id=i,
                label=label,
                spec=spec,
                estimate=estimate,
                floor=Wei(int(FLOOR_PER_PFLOP * pflop * TOKEN)),
                cap=Wei(int(CAP_PER_PFLOP * pflop * TOKEN)),
                ramp=rng.randint(*RAMP_S),
                min_finalized=1 if rng.random() < 0.1 else 0,
                solve_timeout=max(3600, int(TIMEOUT_PER_PFLOP_S * pflop)),
                posted_block=block,
            )
        )
        block += 1 + int(rng.expovariate(1 / every_blocks))
    return tuple(jobs)


def make_scenario(
    seed: int, *, solvers: int = 20, jobs: int = 120, every_blocks: int = 150
) -> Scenario:
    """The default world of ``bench market``: 20 solvers, 120 jobs (see the module docstring)."""
    rng = random.Random(seed)
    return Scenario(
        seed, make_solvers(rng, solvers), make_jobs(rng, jobs, every_blocks=every_blocks)
    )
