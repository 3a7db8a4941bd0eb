"""Fine-tune an imported transformers Llama in both runtimes; the exported folder loads back in
transformers and computes crowdtrain's logits (within 1e-4) on a fixed batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from node.hf.export import export_model
from node.hf.importer import import_checkpoint
from node.runtime import get_ops
from node.runtime.models import build_model
from node.storage import LocalBlobStore
from node.training.checkpoint import verify_final_model
from node.training.spec import JobSpec
from node.training.trainer import train

from .hf_kit import init_spec, save, tiny_llama, transformers

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "crowdtrain")
BATCH = torch.tensor([[3, 17, 42, 8, 0, 59, 21, 33, 5, 12, 40, 41, 2, 7, 19, 60]] * 2)
BATCH[1] = BATCH[1].flip(0)


def crowdtrain_logits(spec: JobSpec, params: dict[str, torch.Tensor]) -> torch.Tensor:
    model = build_model(
        "llama", spec.model.model_dump(exclude={"architecture"}), get_ops(spec.runtime)
    )
    model.load_state_dict(params, strict=True)
    with torch.no_grad():
        out: torch.Tensor = model.logits(BATCH)  # type: ignore[operator]
    return out


def hf_logits(folder: Path) -> torch.Tensor:
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager")
    with torch.no_grad():
        out: torch.Tensor = model(BATCH).logits
    return out


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["native", "repro-v1"])
def test_fine_tuned_model_loads_in_transformers_with_the_same_logits(
    runtime: str,
    tmp_path: Path,
    store: LocalBlobStore,
) -> None:
    imported = import_checkpoint(save(tiny_llama(), tmp_path / "in"), store)
    spec = init_spec(
        imported.model,
        imported.address,
        runtime=runtime,
        steps=6,
        checkpoint_every=3,
        schedule={"warmup_steps": 2, "decay": "cosine", "min_lr": 0.001},
        micro_batch_size=2,
    )
    before = hf_logits(tmp_path / "in")
    result = train(spec, store=store, work_dir=tmp_path / "work", job_id=0, attempt=0, threads=1)
    assert result.losses[-1] < result.losses[0]
    final = verify_final_model(
        spec, store.get(result.checkpoints[-1].address), result.final_state_hash
    )
    out = export_model(spec, final.params, store, tmp_path / "out")
    after = hf_logits(out)
    ours = crowdtrain_logits(spec, final.params)
    assert (after - ours).abs().max().item() < 1e-4
    assert (after - before).abs().max().item() > 1e-2  # training moved the model


@pytest.mark.slow
def test_cli_model_import_and_train_format_hf(tmp_path: Path, store: LocalBlobStore) -> None:
    env = {**os.environ, "CROWDTRAIN_THREADS": "1", "CROWDTRAIN_BLOB_DIR": str(store.root)}
    env.pop("CROWDTRAIN_API_URL", None)
    folder = save(tiny_llama(tied=True), tmp_path / "in")
    run = subprocess.run(
        [CLI, "model", "import", str(folder), "--json"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    imported = json.loads(run.stdout)
    spec = init_spec(imported["model"], imported["address"], runtime="native")
    spec_path = tmp_path / "spec.json"
    spec_path.write_bytes(spec.canonical_json())
    cmd = [CLI, "train", str(spec_path), "--out", str(tmp_path / "w"), "--format", "hf", "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    hf_dir = Path(summary["hf"])
    assert json.loads((hf_dir / "spec.json").read_text())["init"] == {
        "address": imported["address"]
    }
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir)
    assert model.config.tie_word_embeddings is True
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    run = subprocess.run(
        [CLI, "model", "import", str(folder)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 1 and run.stderr.startswith("error: ") and "pickle" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
