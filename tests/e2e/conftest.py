"""Fixtures of the end-to-end tests (the helpers live in market_kit.py)."""

from market_kit import market

__all__ = ["market"]
