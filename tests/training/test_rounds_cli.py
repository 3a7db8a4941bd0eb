"""``crowdtrain train`` of a rounds spec and ``crowdtrain bench rounds --quick``."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from node.storage import LocalBlobStore

from .test_rounds import rounds_data


def test_train_runs_a_rounds_spec_locally(digits: bytes, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    LocalBlobStore(blobs).put(digits)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(rounds_data(digits)))
    args = ["train", str(spec_path), "--out", str(tmp_path / "out"), "--blob-dir", str(blobs)]
    first = CliRunner().invoke(app, [*args, "--json", "--device", "cpu"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["workers"] == 2 and summary["rounds"] == 2 and len(summary["losses"]) == 2
    assert "round 1 train_loss" in first.stderr
    assert json.loads((tmp_path / "out" / "rounds.json").read_text()) == summary
    again = CliRunner().invoke(app, [*args, "--json", "--device", "cpu"])
    assert json.loads(again.stdout.strip().splitlines()[-1])["final_hash"] == summary["final_hash"]


def test_bench_rounds_quick_prints_the_figures() -> None:
    out = CliRunner().invoke(app, ["bench", "rounds", "--quick", "--json", "--no-chain"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert math.isfinite(result["loss_ratio"]) and result["loss_ratio"] > 0
    assert len(result["val_loss_per_round"]) == 3
    # W=2, H=4: all-reduce moves 2·|θ|·4 per round; a rounds worker uploads |θ| and downloads the
    # published outer blob (|θ| and its header), or, computing the outer step itself, the other
    # slot's |θ|
    theta, blob = result["param_bytes"], result["outer_blob_bytes"]
    assert theta < blob < theta + 4_096  # the safetensors header: names, shapes, offsets
    assert result["bytes_per_worker_per_round"] == theta + blob
    assert result["bytes_ratio"] == 8 * theta / (theta + blob)
    assert result["bytes_ratio_self_outer"] == 4.0
    assert result["sync_bytes_per_worker_per_round"] == 8 * result["param_bytes"]
    assert result["checkpoint_bytes_per_unit"] == 2 * result["state_bytes"]
    assert result["gas_per_unit"] is None and result["gate_wait_share"] is None  # --no-chain
    assert result["config"]["workers"] == 2
    assert result["loss_target_met"] is (result["loss_ratio"] <= 1.05)
