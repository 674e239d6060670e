"""The helper module ``tui_swap_flow`` imports: the tests edit ``threshold`` to fix ``check``."""

from __future__ import annotations


def threshold() -> int:
    return 3
