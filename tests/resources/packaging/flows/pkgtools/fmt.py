"""Money formatting for the orders report."""

from __future__ import annotations


def money(value: float) -> str:
    """``1234.5`` -> ``$1,234.50``."""
    return f"${value:,.2f}"
