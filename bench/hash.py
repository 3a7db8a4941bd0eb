"""``crowdtrain bench hash``: stateHash throughput of ``node.trace.state`` on a large training state.

Times ``state_hash`` (serialization parts hashed straight from tensor buffers) and ``encode_state``
(blob joined, then hashed: what a checkpoint costs) on a state of about ``size_mb`` MB of float32
parameters plus AdamW slots, median of ``repeats``.
"""

from __future__ import annotations

import statistics
import time

import torch

from node.runtime.rng import RngKey
from node.trace.state import TrainState, encode_state, no_loss, state_hash, state_parts


def _big_state(size_mb: int) -> TrainState:
    """Parameters and two optimizer slots of ``size_mb / 3`` MB each, in 16 tensors apiece."""
    per = size_mb * 2**20 // 3 // 4 // 16
    gen = torch.Generator().manual_seed(0)
    params = {f"w{i:02d}": torch.rand(per, generator=gen) for i in range(16)}
    optim = {f"optim.{s}.w{i:02d}": torch.rand(per, generator=gen) for s in "mv" for i in range(16)}
    return TrainState(
        step=1,
        params=params,
        optim=optim,
        rng_key=RngKey.from_seed(1),
        data_epoch=0,
        data_cursor=0,
        loss=no_loss(),
    )


def _median_s(fn: object, repeats: int) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_hash_bench(*, size_mb: int = 512, repeats: int = 5) -> dict[str, object]:
    """``{"gb_per_s": …}`` of ``state_hash`` (plus ``encode_state``'s, which also builds the blob)."""
    state = _big_state(size_mb)
    nbytes = sum(len(p) for p in state_parts(state))
    hash_s = _median_s(lambda: state_hash(state), repeats)
    encode_s = _median_s(lambda: encode_state(state), repeats)
    return {
        "gb_per_s": round(nbytes / hash_s / 1e9, 3),
        "encode_state_gb_per_s": round(nbytes / encode_s / 1e9, 3),
        "state_bytes": nbytes,
    }
