"""Learning-rate schedules: linear warmup, then a constant, linear or cosine decay to a floor.

The rate of step ``t`` is a pure function of ``t`` (the state's step counter), so a resumed run, a
verifier replaying one segment and a juror re-running one step all use the same rate, and no
schedule state has to live in the checkpoint. It is computed in float64 with ``+ - * /`` only
(correctly rounded IEEE operations, the same on every machine; CPython never contracts them into
FMAs) and then rounded once to float32 by the optimizer. ``math.cos`` is not used: libm's cosine
may differ between platforms in the last bit, which the float32 rounding would usually, but not
always, hide; cosine is a fixed Taylor polynomial here instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

DECAY_KINDS = ("constant", "linear", "cosine")

# 1/(2k)! rounded once to float64 (Fraction -> float is correctly rounded): the Taylor
# coefficients of cos. On [0, pi/2] the first omitted term, x^26/26!, is below 1e-22.
_COS_COEFFS = tuple(float(Fraction((-1) ** k, math.factorial(2 * k))) for k in range(13))


def cos_pi(p: float) -> float:
    """``cos(pi * p)`` for ``p`` in [0, 1], reproducibly (within 2e-16 of the true value)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"cos_pi needs p in [0, 1], got {p}")
    sign = 1.0
    if p > 0.5:  # cos(pi p) = -cos(pi (1 - p)): keep the argument in [0, pi/2]
        p, sign = 1.0 - p, -1.0
    x = math.pi * p
    x2 = x * x
    acc = 0.0
    for c in reversed(_COS_COEFFS):  # Horner in x^2, highest power first
        acc = acc * x2 + c
    return sign * acc


@dataclass(frozen=True)
class Schedule:
    """The learning rate of each step: warmup to ``peak_lr``, then decay to ``min_lr``.

    Steps are numbered from 1 (step ``t`` turns ``state(t-1)`` into ``state(t)``). Warmup steps
    ``1..warmup_steps`` use ``peak_lr * t / warmup_steps``; the ``decay_steps`` after them go from
    ``peak_lr`` to ``min_lr`` (reached at the last one), and every later step uses ``min_lr``.
    ``constant`` (or ``decay_steps == 0``) keeps ``peak_lr`` after warmup.
    """

    peak_lr: float
    warmup_steps: int = 0
    decay: str = "constant"
    decay_steps: int = 0
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.decay not in DECAY_KINDS:
            raise ValueError(f"unknown decay {self.decay!r} (known: {', '.join(DECAY_KINDS)})")
        if self.warmup_steps < 0 or self.decay_steps < 0:
            raise ValueError("warmup_steps and decay_steps must be >= 0")

    def lr_at(self, step: int) -> float:
        """The float64 learning rate of step ``step`` (>= 1); the optimizer rounds it to float32."""
        if step < 1:
            raise ValueError(f"steps are numbered from 1, got {step}")
        if step <= self.warmup_steps:
            return self.peak_lr * step / self.warmup_steps
        if self.decay == "constant" or self.decay_steps == 0:
            return self.peak_lr
        done = min(step - self.warmup_steps, self.decay_steps)
        if done == self.decay_steps:
            return self.min_lr
        p = done / self.decay_steps
        factor = 1.0 - p if self.decay == "linear" else 0.5 * (1.0 + cos_pi(p))
        return self.min_lr + (self.peak_lr - self.min_lr) * factor
