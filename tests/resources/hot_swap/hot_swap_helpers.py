"""The helper module ``hot_swap_flow`` imports: edited by tests to fix ``check``."""

from __future__ import annotations


def threshold() -> int:
    return 3
