"""Static assets of the dashboard (``/static``)."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
