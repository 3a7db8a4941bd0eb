"""A solver killed with SIGKILL mid-training resumes its claim from the last checkpoint and commits
the same roots as an uninterrupted run."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from market_kit import REPO, Market, submit_example, wait_for_status, wait_until

from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.training.spec import load_spec
from node.training.trainer import train

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _checkpoints_recorded(work: Path) -> int:
    progress = work / "progress.json"
    try:
        return len(json.loads(progress.read_text())["checkpoints"])
    except (OSError, ValueError, KeyError):
        return 0


def test_solver_killed_mid_training_resumes_and_commits_same_roots(
    market: Market, tmp_path: Path
) -> None:
    spec_path = REPO / "examples/specs/gpt_text.json"
    spec = load_spec(spec_path)
    market.cli(market.submitter, "data", "prepare", "text")
    market.cli(market.solver, "stake", "500")
    job_id = submit_example(market, "gpt_text", "--reward", "100")
    work = market.root / "data" / "work" / f"job-{job_id}-attempt-0"

    first = market.spawn(market.solver, "solver", "run", "--once", log=tmp_path / "first.log")
    try:
        wait_until(
            lambda: _checkpoints_recorded(work) >= 3,
            timeout=300,
            what="two checkpoints past the initial state",
            proc=first,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = _checkpoints_recorded(work)
    assert 3 <= killed_at < spec.segments + 1, "the kill must land mid-training"
    assert market.deployer.market.get_job(job_id).status is JobStatus.CLAIMED

    second = market.spawn(market.solver, "solver", "run", "--once", log=tmp_path / "second.log")
    try:
        wait_for_status(market, job_id, JobStatus.COMMITTED, second)
        market.advance(
            market.deployer.market.challenge_window() + market.deployer.market.reveal_phase() + 1
        )
        assert second.wait(timeout=120) == 0, (tmp_path / "second.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()
    # One claim only: the restart resumed the journalled claim instead of claiming again.
    assert market.deployer.market.get_job(job_id).attempt == 0
    assert market.deployer.market.get_job(job_id).status is JobStatus.FINALIZED

    reference = train(
        spec,
        store=LocalBlobStore(market.root / "blobs"),
        work_dir=tmp_path / "uninterrupted",
        job_id=job_id,
        attempt=0,
        threads=1,
    )
    assert reference.resumed_from_step == 0
    commitment = market.deployer.market.get_commitment(job_id)
    assert commitment is not None
    assert commitment.state_root == reference.state_root
    assert commitment.seg_roots_root == reference.seg_roots_root
    assert commitment.final_state_hash == reference.final_state_hash
    assert commitment.manifest_hash == reference.manifest_hash
