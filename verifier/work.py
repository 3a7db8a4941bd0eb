"""The verifier's local work: everything it computes rather than reads from the chain.

``JobContext`` holds one job attempt's spec, runtime session and checked manifest (fetched once).
``replay_finding`` turns an audit into the ``StoredFinding`` the journal keeps; ``vote_digest``
computes the salted digest a juror or challenger votes: the state after the pinned step (fetched
as the solver must publish it: a juror that cannot find state j votes 0 = unavailable), state 0,
or the published blob of an availability claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.chain.dispute_types import Dispute, DisputeKind, Target
from node.chain.protocol import Protocol
from node.chain.types import Commitment, Job
from node.errors import CrowdtrainError
from node.rounds import UnitRef, expected_initial_state, job_session
from node.storage import BlobStore, address_of
from node.trace.manifest import Manifest
from node.trace.state import TrainState, encode_state
from node.training.data import load_dataset
from node.training.session import TrainingSession
from node.training.spec import JobSpec, load_spec
from node.votes import UNAVAILABLE, state_digest, stored_blob_digest
from verifier.audit import audit_segment
from verifier.evidence import TraceFaultError, fetch_checkpoint, fetch_manifest
from verifier.journal import StoredFinding
from verifier.replay import regenerate_state

MANIFEST = "manifest"


@dataclass
class JobContext:
    """One job attempt as this verifier sees it; ``manifest`` is None when it is unusable."""

    job_id: int
    attempt: int
    spec: JobSpec
    session: TrainingSession
    commitment: Commitment
    manifest: Manifest | None
    manifest_fault: str | None
    protocol: Protocol
    store: BlobStore
    unit: UnitRef | None = None
    """where the job sits in a rounds job (None: a single job)."""
    _initial: TrainState | None = field(default=None, repr=False)

    def initial_state(self) -> TrainState:
        """The honest state 0: the spec's, or a unit's round-start state resolved from the chain
        (the function solvers train from and jurors recompute; computed once per context)."""
        if self._initial is None:
            self._initial = expected_initial_state(
                self.protocol, self.store, self.session, self.unit
            )
        return self._initial


def open_context(
    protocol: Protocol, store: BlobStore, job: Job, commitment: Commitment, device: str = "cpu"
) -> JobContext:
    """Fetch the spec, dataset and manifest of ``job``'s current attempt; replays run on ``device``."""
    spec = load_spec(store.get("sha256:" + job.spec_hash.hex()))
    session, unit = job_session(
        protocol, store, spec, job.job_id, load_dataset(spec, store), device=device
    )
    manifest, fault = None, None
    try:
        manifest = fetch_manifest(
            store, commitment, job_id=job.job_id, attempt=job.attempt, spec=spec
        )
    except TraceFaultError as err:
        fault = str(err)
    return JobContext(
        job.job_id, job.attempt, spec, session, commitment, manifest, fault, protocol, store, unit
    )


def unavailable_outcome(checkpoint: int | None) -> str:
    """The journal's outcome string of an unavailable segment (the missing blob is encoded)."""
    return f"unavailable:{MANIFEST if checkpoint is None else checkpoint}"


def parse_unavailable(outcome: str) -> int | None:
    what = outcome.partition(":")[2]
    return None if what == MANIFEST else int(what)


def replay_finding(ctx: JobContext, store: BlobStore, segment: int) -> StoredFinding:
    """Audit ``segment`` (0 = the initial state) into a journal finding."""
    job, attempt = ctx.job_id, ctx.attempt
    if ctx.manifest is None:
        return StoredFinding(job, attempt, segment, unavailable_outcome(None), None, ())
    found = audit_segment(
        ctx.session,
        store,
        ctx.manifest,
        job_id=job,
        attempt=attempt,
        segment=segment,
        initial_state=ctx.initial_state,
    )
    if found.verdict is None:
        return StoredFinding(
            job, attempt, segment, unavailable_outcome(found.fault_checkpoint), None, ()
        )
    hashes = found.replay.state_hashes if found.replay else ()
    root = found.replay.seg_root if found.replay else None
    return StoredFinding(job, attempt, segment, "fraud" if found.fraud else "match", root, hashes)


def vote_digest(
    ctx: JobContext, store: BlobStore, d: Dispute, salt: bytes, *, challenger: bool
) -> bytes:
    """The salted digest this verifier votes in dispute ``d`` (``UNAVAILABLE`` when it cannot)."""
    try:
        if d.kind is DisputeKind.INITIAL_STATE:
            return state_digest(salt, ctx.initial_state())
        if d.kind is DisputeKind.AVAILABILITY:
            return _blob_digest(ctx, store, d, salt)
        return _step_digest(ctx, store, d, salt, challenger=challenger)
    except (CrowdtrainError, IndexError):
        return UNAVAILABLE


def _blob_digest(ctx: JobContext, store: BlobStore, d: Dispute, salt: bytes) -> bytes:
    if d.target is Target.MANIFEST:
        address = "sha256:" + ctx.commitment.manifest_hash.hex()
    elif ctx.manifest is None:
        return UNAVAILABLE
    elif d.target is Target.FINAL_MODEL:
        address = ctx.manifest.checkpoints[-1].address
    else:
        address = ctx.manifest.checkpoints[d.segment].address
    return stored_blob_digest(store, address, salt)


def _step_digest(
    ctx: JobContext, store: BlobStore, d: Dispute, salt: bytes, *, challenger: bool
) -> bytes:
    """Digest of state j+1 computed from the published state j.

    The solver publishes state j under its content address; the verifier learns that address by
    regenerating state j from the hash-checked checkpoint i-1 (at most K-1 steps) and then requires
    the blob to be in storage. A juror that finds it missing, or whose state j does not hash to the
    agreed ``stateHash(j)``, votes unavailable. The challenger votes what it computed regardless.
    """
    if ctx.manifest is None:
        return UNAVAILABLE
    start = fetch_checkpoint(ctx.spec, store, ctx.manifest, d.segment - 1)
    state_j = regenerate_state(ctx.session, start, d.pinned_step)
    if not challenger:
        blob, h = encode_state(state_j)
        if h != d.hash_lo or not store.has(address_of(blob)):
            return UNAVAILABLE
    return state_digest(salt, ctx.session.step(state_j))
