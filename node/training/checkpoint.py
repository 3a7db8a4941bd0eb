"""Reading checkpoint blobs of a job: parse safely, check the layout, recompute ``stateHash``.

Used by the submitter's ``job download`` (the final model must hash to ``finalStateHash``), by a
resuming trainer and by verifiers fetching a checkpoint from another party.
"""

from __future__ import annotations

from node.errors import TraceError
from node.runtime.native import NativeOps
from node.trace.state import TrainState, decode_state, hash_blob
from node.training.session import TrainingSession
from node.training.spec import JobSpec


def load_checkpoint(
    spec: JobSpec, blob: bytes, expected_hash: bytes | None = None, what: str = "checkpoint"
) -> tuple[TrainState, bytes]:
    """``(state, stateHash)`` of a checkpoint blob of ``spec``'s job.

    TraceError when the blob is not a valid state of this job, or (if given) does not hash to
    ``expected_hash``. The layout comes from the spec alone, so no dataset or runtime is needed.
    """
    state_hash = hash_blob(blob)
    if expected_hash is not None and state_hash != expected_hash:
        raise TraceError(
            f"{what}: stateHash 0x{state_hash.hex()} does not match the expected 0x{expected_hash.hex()}"
        )
    layout = TrainingSession(spec, None, NativeOps()).layout()
    return decode_state(blob, layout, what), state_hash


def verify_final_model(spec: JobSpec, blob: bytes, final_state_hash: bytes) -> TrainState:
    """The final state if ``blob`` hashes to the committed ``finalStateHash`` and is a step-``steps`` state."""
    state, _ = load_checkpoint(spec, blob, final_state_hash, what="final model")
    if state.step != spec.steps:
        raise TraceError(f"final model is the state of step {state.step}, not of step {spec.steps}")
    return state
