"""Device selection (``--device``) and the CPU path of a device-aware training step.

No GPU here: CUDA itself is exercised by ``scripts/device_check`` on a GPU machine. These tests
check the choice of device, the error for a missing one, and that a session whose step runs on
an explicit device keeps its states on the CPU with the same bits as the default session.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from node.config import REPO_ROOT as ROOT
from node.errors import ConfigError
from node.runtime.device import resolve_device
from node.training.data import decode_dataset, example_blob
from node.training.session import TrainingSession
from node.training.spec import load_spec


def test_resolve_device_default_and_errors() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="--device must be cpu, cuda or cuda:N, got 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device is available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="CUDA device"):
        resolve_device("cuda:99")


@pytest.mark.parametrize("runtime", ["native", "repro-v1"])
def test_explicit_cpu_session_steps_like_the_default_and_keeps_states_on_cpu(runtime: str) -> None:
    spec = load_spec(ROOT / "examples" / "specs" / "llama_text.json").with_overrides(
        runtime=runtime
    )
    data = decode_dataset(spec, example_blob("text"))
    default, explicit = TrainingSession(spec, data), TrainingSession(spec, data, device="cpu")
    a = default.step(default.step(default.initial_state()))
    b = explicit.step(explicit.step(explicit.initial_state()))
    assert all(t.device.type == "cpu" for t in [*b.params.values(), *b.optim.values(), b.loss])
    assert all(torch.equal(a.params[n], b.params[n]) for n in a.params)
    assert all(torch.equal(a.optim[n], b.optim[n]) for n in a.optim)
    assert torch.equal(a.loss, b.loss)


@pytest.mark.parametrize("command", [["solver", "run"], ["verifier", "run"]])
def test_daemons_reject_a_bad_device_before_touching_the_chain(command: list[str]) -> None:
    env = {**os.environ, "CROWDTRAIN_RPC_URL": "http://127.0.0.1:9"}  # nothing listens there
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", *command, "--device", "tpu"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "error: --device must be cpu, cuda or cuda:N, got 'tpu'"
    )
