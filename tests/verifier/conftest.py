"""Session fixtures of the verifier tests."""

from __future__ import annotations

import pytest
from verifier_kit import Trained, train_tiny


@pytest.fixture(scope="session")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """One honest tiny job, trained once per session."""
    return train_tiny(tmp_path_factory.mktemp("honest"))
