"""The shop the lineage tests read from: a SQLite ``orders`` table in ``shop.db`` and the
incremental source step (cursor on ``id``) that extracts it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine import IncrementalConfig, Step

SHOP_DB = "shop.db"


def add_orders(db: Path, rows: list[tuple[int, int, float]]) -> None:
    """Append ``(id, qty, price)`` rows to ``orders`` in ``db``, creating the table first."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER, qty INTEGER, price REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", rows)
    conn.close()


def extract_orders(folder: Path) -> Step:
    """Step ``extract``: the rows of ``folder/shop.db``'s orders past the ``id`` cursor."""
    return Step.source("extract", connection=f"sqlite:///{folder / SHOP_DB}", table="orders",
                       incremental=IncrementalConfig(cursor_field="id"))
