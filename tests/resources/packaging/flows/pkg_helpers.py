"""Helpers the orders workflow imports: a local module, plus a third-party import (PyYAML)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

#: a handler writes a marker here when this module runs: a tampered archive must never get here
MARKER_ENV = "PKG_TEST_MARKER"


def total(orders: list[dict], unit_price: float) -> float:
    """Units times the unit price, summed (and a marker written, when asked)."""
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(yaml.safe_dump({"ran": True}), encoding="utf-8")
    return sum(o["units"] for o in orders) * unit_price
