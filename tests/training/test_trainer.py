"""The trainer: determinism, resume after SIGKILL, the result and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from node.errors import TraceError
from node.storage import LocalBlobStore
from node.trace.manifest import parse_manifest
from node.trace.merkle import checkpoint_leaf, verify_proof
from node.trace.workdir import CheckpointRecord
from node.training.checkpoint import load_checkpoint, verify_final_model
from node.training.spec import JobSpec
from node.training.trainer import train

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "crowdtrain")


def test_train_commits_a_consistent_trace(
    spec: JobSpec, store: LocalBlobStore, tmp_path: Path
) -> None:
    seen: list[CheckpointRecord] = []
    result = train(
        spec,
        store=store,
        work_dir=tmp_path / "w",
        job_id=3,
        attempt=1,
        threads=1,
        on_checkpoint=seen.append,
    )
    n = spec.segments
    assert [r.index for r in seen] == list(range(n + 1))
    manifest = parse_manifest(store.get(result.manifest_address))
    assert manifest == result.manifest and len(manifest.losses) == spec.steps
    assert result.manifest_address == "sha256:" + result.manifest_hash.hex()
    assert manifest.final_state_hash == "0x" + result.final_state_hash.hex()
    leaf = checkpoint_leaf(3, 1, n, result.final_state_hash)
    assert verify_proof(result.state_root, leaf, n, n + 1, result.final_state_proof)
    final = store.get(result.checkpoints[-1].address)
    state = verify_final_model(spec, final, result.final_state_hash)
    assert state.step == spec.steps and float(state.loss) == result.losses[-1]
    with pytest.raises(TraceError, match="does not match"):
        load_checkpoint(spec, store.get(result.checkpoints[1].address), result.final_state_hash)
    assert result.losses[-1] < result.losses[0]


def test_same_spec_twice_gives_same_roots(
    spec: JobSpec, store: LocalBlobStore, tmp_path: Path
) -> None:
    a = train(spec, store=store, work_dir=tmp_path / "a", job_id=0, attempt=0, threads=1)
    b = train(spec, store=store, work_dir=tmp_path / "b", job_id=0, attempt=0, threads=1)
    assert (a.state_root, a.seg_roots_root, a.final_state_hash) == (
        b.state_root,
        b.seg_roots_root,
        b.final_state_hash,
    )
    c = train(spec, store=store, work_dir=tmp_path / "c", job_id=0, attempt=1, threads=1)
    assert c.final_state_hash == a.final_state_hash and c.state_root != a.state_root
    again = train(spec, store=store, work_dir=tmp_path / "a", job_id=0, attempt=0, threads=1)
    assert again.state_root == a.state_root and again.resumed_from_step == spec.steps
    with pytest.raises(TraceError, match="another run"):
        train(spec, store=store, work_dir=tmp_path / "a", job_id=9, attempt=0, threads=1)


def test_gpt_with_dropout_is_deterministic(
    digits: bytes, text: bytes, store: LocalBlobStore, tmp_path: Path
) -> None:
    from node.storage import address_of
    from node.training.spec import parse_spec

    spec = parse_spec(
        {
            "model": {
                "architecture": "gpt",
                "vocab_size": 64,
                "block_size": 16,
                "n_layer": 1,
                "n_head": 2,
                "n_embd": 16,
                "dropout": 0.2,
            },
            "dataset": {"address": address_of(text), "format": "tokens"},
            "optimizer": {"name": "adamw", "lr": 0.01},
            "batch_size": 4,
            "steps": 4,
            "checkpoint_every": 2,
            "runtime": "native",
        }
    )
    a = train(spec, store=store, work_dir=tmp_path / "a", job_id=0, attempt=0, threads=1)
    b = train(spec, store=store, work_dir=tmp_path / "b", job_id=0, attempt=0, threads=1)
    assert a.seg_roots_root == b.seg_roots_root


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from node.storage import LocalBlobStore
    from node.training.spec import load_spec
    from node.training import trainer
    mode, spec_path, blobs, work = sys.argv[1:5]
    store = LocalBlobStore(blobs)
    puts = 0
    if mode == "after-blob":  # die between storing checkpoint 2 and recording it
        real_put = store.put
        def put(data):
            global puts
            address = real_put(data)
            puts += 1
            if puts == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return address
        store.put = put
    if mode == "mid-step":  # die inside the 7th training step (forward pass)
        real_step = trainer.TrainingSession.step
        def step(self, state):
            if state.step == 6:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_step(self, state)
        trainer.TrainingSession.step = step
    trainer.train(load_spec(spec_path), store=store, work_dir=work, job_id=0, attempt=0, threads=1)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["after-blob", "mid-step"])
def test_sigkill_then_resume_gives_the_same_roots(
    mode: str, spec: JobSpec, store: LocalBlobStore, tmp_path: Path
) -> None:
    spec_path = tmp_path / "spec.json"
    spec_path.write_bytes(spec.canonical_json())
    work = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, mode, str(spec_path), str(store.root), str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    progress = json.loads((work / "progress.json").read_text())
    assert 1 <= len(progress["checkpoints"]) <= spec.segments
    resumed = train(spec, store=store, work_dir=work, job_id=0, attempt=0, threads=1)
    assert resumed.resumed_from_step > 0
    fresh = train(spec, store=store, work_dir=tmp_path / "fresh", job_id=0, attempt=0, threads=1)
    assert (resumed.state_root, resumed.seg_roots_root, resumed.manifest_address) == (
        fresh.state_root,
        fresh.seg_roots_root,
        fresh.manifest_address,
    )


@pytest.mark.slow
def test_cli_train_json_in_a_fresh_process(store: LocalBlobStore, tmp_path: Path) -> None:
    """The example spec via the CLI (fresh process, 1 thread) matches an in-process run."""
    from node.training.spec import load_spec

    spec_path = ROOT / "examples" / "specs" / "mlp_digits.json"
    env = {**os.environ, "CROWDTRAIN_THREADS": "1", "CROWDTRAIN_BLOB_DIR": str(store.root)}
    env.pop("CROWDTRAIN_API_URL", None)
    cmd = [CLI, "train", str(spec_path), "--out", str(tmp_path / "cli"), "--steps", "40", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    local = train(
        load_spec(spec_path).with_overrides(steps=40),
        store=store,
        work_dir=tmp_path / "py",
        job_id=0,
        attempt=0,
        threads=1,
    )
    assert summary["final_state_hash"] == "0x" + local.final_state_hash.hex()
    assert summary["state_root"] == "0x" + local.state_root.hex()
    assert summary["manifest"] == local.manifest_address and summary["steps"] == 40
    bad = subprocess.run(
        [*cmd[:-3], "--steps", "30"], capture_output=True, text=True, check=False, env=env
    )
    assert (
        bad.returncode == 1
        and "error: invalid job spec: steps (30) must be a multiple" in bad.stderr
    )
    cpu_cmd = [*cmd[:3], "--out", str(tmp_path / "cli-cpu"), *cmd[5:], "--device", "cpu"]
    on_cpu = subprocess.run(cpu_cmd, capture_output=True, text=True, check=False, env=env)
    assert on_cpu.returncode == 0, on_cpu.stderr
    on_cpu_summary = json.loads(on_cpu.stdout.strip().splitlines()[-1])
    assert on_cpu_summary["final_state_hash"] == summary["final_state_hash"]
    no_tpu = subprocess.run(
        [*cmd, "--device", "tpu"], capture_output=True, text=True, check=False, env=env
    )
    assert no_tpu.returncode == 1 and "--device must be cpu, cuda or cuda:N" in no_tpu.stderr
