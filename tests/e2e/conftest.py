"""Fixtures of the end-to-end tests (the helpers live in market_kit.py and fault_kit.py)."""

from fault_kit import restartable
from market_kit import market

__all__ = ["market", "restartable"]
