"""The solver daemon: claim a job it can do, train, commit, finalize after the window, withdraw.

Structure (STYLE.md): the chain is the source of truth, ``decide.next_action`` is the pure
decision, this module executes it, and ``SolverJournal`` records every transition so a restart
(even after SIGKILL mid-training) resumes the same claim from its last checkpoint instead of
claiming again or starting over.

A claimed job whose dataset is missing or does not hash to its address (for ``token-shards``: its manifest or any shard) is not left to time out
(docs/SECURITY.md: a submitter withholding its dataset to get solvers slashed): the solver opens a Dataset
availability claim before its solve deadline and plays the claimant's side of the jury
(``SolverDisputes``); if upheld the job is aborted and the lock released without a slash.

Which open job to claim is the claim policy's call (``node.solver.policy.judge``, docs/MARKET.md
"Daemon policy"): only jobs this machine (``Capability``) can hold in memory and finish well inside
the solve timeout, at an auction offer worth the operator's ``--min-price-per-pflop``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from node import faults
from node.chain.client import chain_time
from node.chain.dispute_types import Target
from node.chain.protocol import Protocol
from node.chain.types import Job, JobStatus, RoundsStatus
from node.errors import (
    CrowdtrainError,
    SpecError,
    StorageError,
    StorageUnavailableError,
    TransactionRevertedError,
)
from node.outage import OUTAGES, note_outage
from node.rounds import RoundGates, expected_initial_state, job_session, unit_of_job
from node.rounds.inputs import RoundsInputError
from node.solver.capability import Capability, measure_capability
from node.solver.decide import Action, DatasetClaim, can_claim, next_action
from node.solver.disputes import SolverDisputes
from node.solver.journal import Phase, SolverJournal
from node.solver.open_jobs import OpenJobs
from node.solver.policy import ClaimPolicy, judge
from node.storage import BlobStore
from node.training.estimate import JobEstimate, estimate_job
from node.training.shards import dataset_blobs
from node.training.spec import JobSpec, load_spec
from node.training.trainer import train
from node.votes import job_spec

log = logging.getLogger("crowdtrain.solver")


@dataclass
class SolverStats:
    """What one run did; printed by the CLI and checked by tests."""

    claimed: list[int] = field(default_factory=list)
    committed: list[int] = field(default_factory=list)
    finalized: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)
    withdrawn: int = 0


class Solver:
    """One solver account working through jobs, one at a time."""

    def __init__(
        self,
        protocol: Protocol,
        store: BlobStore,
        data_dir: Path,
        *,
        threads: int | None = None,
        device: str = "cpu",
        poll_interval: float = 0.5,
        now: Callable[[], int] | None = None,
        capability: Capability | None = None,
        policy: ClaimPolicy | None = None,
    ) -> None:
        self.protocol = protocol
        self.store = store
        self.data_dir = data_dir
        self.journal = SolverJournal(data_dir / "solver.sqlite")
        self.threads = threads
        self.device = device
        self.poll_interval = poll_interval
        self._now = now or (lambda: int(chain_time(protocol.w3)))
        self.me = protocol.address
        self.stats = SolverStats()
        self._skipped: set[tuple[int, int]] = set()
        self.policy = policy or ClaimPolicy()
        self._capability = capability
        self._estimates: dict[bytes, JobEstimate] = {}
        self._unfit: dict[tuple[int, int], int] = {}
        self._price_wait: dict[int, int] = {}
        self._logged: set[tuple[int, int, str]] = set()
        self._dataset_ok: set[tuple[int, int]] = set()
        self.disputes = SolverDisputes(protocol, store, data_dir, self.journal, self._now)
        self.open_jobs = OpenJobs(protocol)
        self.reveal_phase = protocol.deployment.params.reveal_phase
        self.gates = RoundGates(protocol, self._now)

    # --- the loop ---

    def run(self, *, once: bool = False, max_seconds: float | None = None) -> SolverStats:
        """Work until stopped; with ``once``, stop after one job is finalized and paid (or lost)."""
        started = time.monotonic()
        while True:
            try:
                progressed = self.tick()
            except OUTAGES as err:  # the claim is journalled: the next pass decides again
                note_outage(log, err, self.poll_interval)
                progressed = False
            if (
                once
                and (self.stats.finalized or self.stats.abandoned)
                and not self.journal.active()
                and self.disputes.open_count() == 0
            ):
                return self.stats
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                return self.stats
            if not progressed:
                time.sleep(self.poll_interval)

    def tick(self) -> bool:
        """One pass: answer disputes, advance active claims, else try to claim. True if anything
        happened."""
        answered = self.disputes.tick() | self.gates.tick()
        active = self.journal.active()
        if active:
            entry = active[0]
            job = self.protocol.market.get_job(entry.job_id)
            return self._advance(job, entry.attempt) or answered
        return self._claim_next() or answered

    # --- claims ---

    def _claim_next(self) -> bool:
        """Claim the oldest open job the policy accepts (``node.solver.policy.judge``).

        A job that does not fit is skipped at this attempt (judged again only once our record
        changed: a job may want more finalized jobs than we have yet); one whose offer is below
        our price is not looked at again before the chain time its offer reaches it."""
        market = self.protocol.market
        free = self.protocol.registry.free_stake_of(self.me)
        now = self._now()
        candidates = self.open_jobs.candidates()
        # a wait ends when its job leaves Open: if it reopens, its ramp restarts and is judged anew
        still_open = set(candidates)
        self._price_wait = {j: t for j, t in self._price_wait.items() if j in still_open}
        for job_id in candidates:
            if self._price_wait.get(job_id, now) > now:
                continue
            job = market.get_job(job_id)
            key = (job_id, job.attempt)
            if key in self._skipped or job.status is not JobStatus.OPEN:
                continue
            if self._unfit.get(key) == len(self.stats.finalized):
                continue
            if not can_claim(job, free_stake=free, lock=market.solver_lock_of(job_id)):
                continue
            spec = self._load_spec(job)
            if spec is None or not self._unit_live(job_id):
                self._skipped.add(key)
                continue
            if not self._accepts(job, spec, now):
                continue
            try:
                claimed = market.claim_job(job_id)
            except TransactionRevertedError as err:  # another solver was first, or a cancel
                log.info("claim of job %d failed: %s", job_id, err)
                continue
            self.journal.record(job_id, claimed.attempt, Phase.CLAIMED)
            self.stats.claimed.append(job_id)
            log.info(
                "claimed job %d (attempt %d), deadline %d",
                job_id,
                claimed.attempt,
                claimed.solve_deadline,
            )
            return True
        return False

    def _accepts(self, job: Job, spec: JobSpec, now: int) -> bool:
        """The policy's verdict on ``job`` now; a refusal is logged once per (job, attempt,
        reason) and remembered (unfit, or price-waiting until the offer crosses our minimum)."""
        estimate = self._estimate(spec)
        if estimate is None:
            self._skipped.add((job.job_id, job.attempt))
            return False
        market = self.protocol.market
        verdict = judge(
            spec=spec,
            estimate=estimate,
            terms=market.terms_of(job.job_id),
            solve_timeout=job.solve_timeout,
            record=market.record_of(self.me),
            capability=self.capability,
            policy=self.policy,
            now=now,
        )
        if verdict.claim:
            self._price_wait.pop(job.job_id, None)
            return True
        if verdict.wait_until is None:
            self._unfit[(job.job_id, job.attempt)] = len(self.stats.finalized)
        else:
            self._price_wait[job.job_id] = verdict.wait_until
        if (job.job_id, job.attempt, verdict.reason) not in self._logged:
            self._logged.add((job.job_id, job.attempt, verdict.reason))
            log.info("skipping job %d (attempt %d): %s", job.job_id, job.attempt, verdict.reason)
        return False

    @property
    def capability(self) -> Capability:
        """This machine as the policy sees it; measured on first use (throughput cached under
        the data dir) unless the caller measured it."""
        if self._capability is None:
            self._capability = measure_capability(self.data_dir, device=self.device)
        return self._capability

    def _estimate(self, spec: JobSpec) -> JobEstimate | None:
        """The job's estimate, once per spec (pure, so cached by specHash); None (logged) for a
        spec the estimator cannot size."""
        key = spec.spec_hash()
        if key not in self._estimates:
            try:
                self._estimates[key] = estimate_job(spec)
            except (CrowdtrainError, ValueError) as err:
                log.warning("skipping spec %s: no estimate: %s", spec.address(), err)
                return None
        return self._estimates[key]

    def _unit_live(self, job_id: int) -> bool:
        """False for a unit whose round is closed (or whose rounds job ended): a unit reopened
        after its round closed is left out of the mean, so training it would be wasted work.
        Such a stale unit is cancelled instead (anyone may: ``cancelStaleUnits``), which refunds
        its escrow to the submitter."""
        ref = unit_of_job(self.protocol, job_id)
        if ref is None:
            return True
        rounds_market = self.protocol.rounds_market
        rounds_job = rounds_market.get_rounds_job(ref.rounds_id)
        if rounds_job.status is RoundsStatus.RUNNING and rounds_job.round == ref.unit.round_:
            return True
        try:
            rounds_market.cancel_stale_units(ref.rounds_id, ref.unit.round_)
            log.info("job %d: cancelled as a stale unit %s of a closed round", job_id, ref.unit)
        except TransactionRevertedError as err:  # another daemon was first
            log.info("skipping job %d: unit %s of a closed round (%s)", job_id, ref.unit, err)
        return False

    def _load_spec(self, job: Job) -> JobSpec | None:
        """The job's spec if we can do it: spec and dataset fetchable, valid and consistent.

        The dataset is only looked up here (``has``: no download per open job and tick); once the
        job is ours ``_dataset_available`` reads and verifies it, and a dataset found missing or
        corrupt then is never claimed again (journalled, so a restart remembers it)."""
        try:
            spec = load_spec(self.store.get("sha256:" + job.spec_hash.hex()))
            if spec.runtime != "repro-v1":
                raise SpecError(f"runtime {spec.runtime!r} cannot be verified on-chain")
            if spec.steps != job.steps or spec.checkpoint_every != job.checkpoint_every:
                raise SpecError("spec steps/checkpointEvery differ from the on-chain job")
            if not self.store.has(spec.dataset.address):
                raise StorageError(f"dataset {spec.dataset.address} is not available")
            if self.journal.get_move(_bad_dataset_key(spec.dataset.address)) is not None:
                raise StorageError(f"dataset {spec.dataset.address} was found unavailable before")
        except StorageUnavailableError:
            raise  # our store is down: skip nothing, the next pass looks again
        except CrowdtrainError as err:
            log.warning("skipping job %d: %s", job.job_id, err)
            return None
        return spec

    # --- one claim ---

    def _advance(self, job: Job, attempt: int) -> bool:
        ok, claim = True, DatasetClaim.NONE
        ours = job.attempt == attempt and job.solver == self.me
        if ours and job.status is JobStatus.CLAIMED and job.open_disputes == 0:
            claim = self.disputes.dataset_claim(job.job_id, attempt)
            ok = faults.dataset_available(  # FAULT HOOK
                faults.active(),
                self._dataset_available(job, attempt),
                claimed_before=claim is not DatasetClaim.NONE,
            )
        action = next_action(
            job,
            me=self.me,
            attempt=attempt,
            now=self._now(),
            reveal_phase=self.reveal_phase,
            dataset_ok=ok,
            dataset_claim=claim,
        )
        if action is Action.WAIT:
            return False
        if action is Action.ABANDON:
            log.warning(
                "job %d attempt %d is no longer ours (%s)", job.job_id, attempt, job.status.name
            )
            self.journal.record(job.job_id, attempt, Phase.ABANDONED)
            self.stats.abandoned.append(job.job_id)
        elif action is Action.CLAIM_DATASET:
            self._claim_dataset(job, attempt)
        elif action is Action.TRAIN_AND_COMMIT:
            self._train_and_commit(job, attempt)
        elif action is Action.FINALIZE:
            self.protocol.market.finalize_job(job.job_id)
            log.info("finalized job %d", job.job_id)
        elif action is Action.COLLECT:
            self._collect(job.job_id, attempt)
        return True

    def _dataset_available(self, job: Job, attempt: int) -> bool:
        """Read and verify the dataset of our claim (a full read: ``has`` trusts a file name).
        Once good it is not read again until training loads it; a bad one is journalled so the
        job is never claimed again, even after a restart."""
        key = (job.job_id, attempt)
        if key in self._dataset_ok:
            return True
        try:
            dataset = job_spec(self.store, job).dataset
        except StorageUnavailableError:
            raise
        except CrowdtrainError:
            return True  # no spec: not a dataset question (training fails as before)
        address = dataset.address
        try:  # a token-shards manifest and every shard it names, one blob in memory at a time
            for blob in dataset_blobs(self.store, address, dataset.format):
                self.store.get(blob)
        except StorageUnavailableError:
            raise  # our store is down: not the submitter's fault, never claimed as unavailable
        except CrowdtrainError as err:
            log.warning("job %d: dataset unavailable: %s", job.job_id, err)
            self.journal.put_move(_bad_dataset_key(address), f"{job.job_id}:{attempt}")
            return False
        self._dataset_ok.add(key)
        return True

    def _claim_dataset(self, job: Job, attempt: int) -> None:
        """Open the Dataset availability claim (the submitter responds; DISPUTES.md). The chain
        records it, so a restart sees it and never opens a second one."""
        game = self.protocol.dispute_game
        bond = game.challenge_bond_of(job.job_id)
        free = self.protocol.registry.free_stake_of(self.me)
        if free < bond:
            log.error(
                "job %d: dataset unavailable but free stake %d < claim bond %d: letting it time out",
                job.job_id,
                free,
                bond,
            )
            self.journal.put_move(f"dataset-claim:{job.job_id}:{attempt}", "failed")
            return
        try:
            opened = game.open_availability_claim(job.job_id, Target.DATASET, 0)
        except TransactionRevertedError as err:
            log.error("job %d: dataset claim rejected: %s", job.job_id, err)
            self.journal.put_move(f"dataset-claim:{job.job_id}:{attempt}", "failed")
            return
        log.info(
            "job %d attempt %d: dataset unavailable, opened availability claim %d",
            job.job_id,
            attempt,
            opened.dispute_id,
        )

    def _train_and_commit(self, job: Job, attempt: int) -> None:
        spec = self._load_spec(job)
        if spec is None:
            return  # the spec vanished after the claim (a missing dataset is claimed instead)
        work_dir = self.data_dir / "work" / f"job-{job.job_id}-attempt-{attempt}"
        session, ref = job_session(self.protocol, self.store, spec, job.job_id, None)
        try:  # a unit starts from its round-start state (docs/ROUNDS.md), resolved from the chain
            start = (
                None
                if ref is None
                else expected_initial_state(self.protocol, self.store, session, ref)
            )
        except RoundsInputError as err:
            log.warning("job %d: state 0 not resolvable yet: %s", job.job_id, err)
            return  # retried next tick, until the solve deadline
        result = train(
            spec,
            store=self.store,
            work_dir=work_dir,
            job_id=job.job_id,
            attempt=attempt,
            threads=self.threads,
            device=self.device,
            unit=None if ref is None else ref.unit,
            start=start,
        )
        self.journal.record(job.job_id, attempt, Phase.TRAINED, result.manifest_address)
        fresh = self.protocol.market.get_job(job.job_id)
        if (
            next_action(fresh, me=self.me, attempt=attempt, now=self._now())
            is not Action.TRAIN_AND_COMMIT
        ):
            return  # the next tick abandons it (deadline passed while training)
        from node.chain.types import Commitment

        self.protocol.market.commit_trace(
            job.job_id,
            Commitment(
                result.state_root,
                result.seg_roots_root,
                result.final_state_hash,
                result.manifest_hash,
            ),
            result.final_state_proof,
        )
        self.journal.record(job.job_id, attempt, Phase.COMMITTED)
        self.stats.committed.append(job.job_id)
        addresses = [r.address for r in result.checkpoints]
        faults.after_commit(
            faults.active(), self.store, result.manifest_address, addresses
        )  # FAULT HOOK
        log.info("committed job %d: finalStateHash 0x%s", job.job_id, result.final_state_hash.hex())

    def _collect(self, job_id: int, attempt: int) -> None:
        credit = self.protocol.market.credit_of(self.me)
        if credit > 0:
            self.protocol.market.withdraw()
            self.stats.withdrawn += credit
            log.info("withdrew %d wei of credit", credit)
        self.journal.record(job_id, attempt, Phase.FINALIZED)
        self.stats.finalized.append(job_id)


def _bad_dataset_key(address: str) -> str:
    return f"bad-dataset:{address}"
