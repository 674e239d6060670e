"""The spec's examples as runnable workflows, shipped so a fresh install has a catalog."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).parent
