"""End to end on a real Anvil: a transformers Llama is imported, fine-tuned as a paid job by the
solver daemon, and downloaded with ``--format hf`` into a folder transformers loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from market_kit import Market, json_line, wait_for_status

from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.training.checkpoint import verify_final_model
from node.training.spec import parse_spec

transformers = pytest.importorskip("transformers")

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_fine_tune_job_downloads_as_a_hugging_face_model(market: Market, tmp_path: Path) -> None:
    config = transformers.LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path / "pretrained")
    dataset = market.cli(market.submitter, "data", "prepare", "text").stdout.strip()
    imported = json_line(
        market.cli(
            market.submitter, "model", "import", str(tmp_path / "pretrained"), "--json"
        ).stdout
    )
    spec = parse_spec(
        {
            "model": {**imported["model"], "block_size": 16},  # type: ignore[dict-item]
            "dataset": {"address": dataset, "format": "tokens"},
            "optimizer": {"name": "adamw", "lr": 0.01},
            "schedule": {"warmup_steps": 2},
            "batch_size": 4,
            "micro_batch_size": 2,
            "steps": 4,
            "checkpoint_every": 2,
            "init": imported["init"],
        }
    )
    spec_path = tmp_path / "spec.json"
    spec_path.write_bytes(spec.canonical_json())
    market.cli(market.solver, "stake", "500")
    out = market.cli(
        market.submitter, "job", "submit", str(spec_path), "--reward", "100", "--json"
    ).stdout
    job_id = int(json_line(out)["job_id"])  # type: ignore[arg-type]
    proc = market.spawn(market.solver, "solver", "run", log=tmp_path / "solver.log")
    try:
        wait_for_status(market, job_id, JobStatus.COMMITTED, proc)
    finally:
        proc.kill()
        proc.wait()

    folder = tmp_path / "hf"
    done = json_line(
        market.cli(
            market.submitter,
            "job",
            "download",
            str(job_id),
            "--format",
            "hf",
            "--out",
            str(folder),
            "--json",
        ).stdout
    )
    assert done["format"] == "hf" and done["verified"] is True
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    store = LocalBlobStore(market.root / "blobs")
    commitment = market.deployer.market.get_commitment(job_id)
    assert commitment is not None
    manifest = json.loads((folder / "manifest.json").read_text())
    final = verify_final_model(
        spec, store.get(manifest["checkpoints"][-1]["address"]), commitment.final_state_hash
    )
    for name, t in model.state_dict().items():
        assert torch.equal(t, final.params[name]), name
