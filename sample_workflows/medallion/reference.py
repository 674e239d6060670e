"""Spec R1's ``import_tickers``: the ticker map and the corporate-actions feed, imported into
``ref_company_tickers`` and ``ref_corporate_actions`` before bronze runs.

Both files are what ``generate_sec_dataset`` writes beside the quarterly ZIPs (SEC's
``company_tickers_exchange.json`` layout; a vendor's tab-separated split feed). Each action
is parsed into an ``engine.AdjustmentFactor``, so a row the adjustment chain would refuse (a
"split" of ratio 1, an unknown action, a date that is not one) is rejected here with its line
and reason, and the rest of the file still loads. Importing the same files again changes
nothing: rows are upserted on their keys.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from engine import AdjustmentFactor, AdjustmentMethod
from sample_workflows.medallion.schema import transaction, utc_now

TICKERS_FILE = "company_tickers.json"
ACTIONS_FILE = "corporate_actions.tsv"
_ACTION_COLUMNS = ("cik", "ticker", "ex_date", "action", "ratio", "description")


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One feed row: whose action (by CIK) and the adjustment factor it stands for."""

    cik: int
    ticker: str
    factor: AdjustmentFactor


@dataclass(slots=True)
class ImportResult:
    """What one import read, added and turned away (``rejected``: ``file:line: reason``)."""

    tickers_read: int = 0
    tickers_new: int = 0
    actions_read: int = 0
    actions_new: int = 0
    rejected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tickers_read": self.tickers_read, "tickers_new": self.tickers_new,
                "actions_read": self.actions_read, "actions_new": self.actions_new,
                "rejected": len(self.rejected), "rejections": self.rejected[:20],
                "missing_files": self.missing}


def read_tickers(path: Path, rejected: list[str]) -> list[tuple[int, str, str, str]]:
    """``(cik, ticker, name, exchange)`` per well-formed entry; the rest go to ``rejected``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fields = list(data["fields"])
        entries = list(data["data"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a ticker file in SEC's company_tickers_exchange.json "
                         f"layout ({{\"fields\": [...], \"data\": [...]}}): {exc}") from exc
    wanted = ("cik", "name", "ticker", "exchange")
    if not set(wanted) <= set(fields):
        raise ValueError(f"{path}: fields {fields} lack {sorted(set(wanted) - set(fields))}")
    at = {name: fields.index(name) for name in wanted}
    out = []
    for number, entry in enumerate(entries, start=1):
        try:
            cik = int(entry[at["cik"]])
            ticker = str(entry[at["ticker"]]).strip().upper()
            if cik <= 0 or not ticker:
                raise ValueError("needs a positive cik and a ticker")
            out.append((cik, ticker, str(entry[at["name"]]), str(entry[at["exchange"]] or "")))
        except (ValueError, TypeError, IndexError) as exc:
            rejected.append(f"{path.name}: entry {number}: {exc}")
    return out


def read_actions(path: Path, rejected: list[str]) -> list[CorporateAction]:
    """Every well-formed feed row as a ``CorporateAction``; the rest go to ``rejected``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != _ACTION_COLUMNS:
        raise ValueError(f"{path}: the header must be {chr(9).join(_ACTION_COLUMNS)!r}")
    out = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if len(parts) != len(_ACTION_COLUMNS):
                raise ValueError(f"{len(parts)} fields where the header has "
                                 f"{len(_ACTION_COLUMNS)}")
            cik, ticker, ex_date, action, ratio, description = parts
            factor = AdjustmentFactor(date.fromisoformat(ex_date), float(ratio),
                                      AdjustmentMethod(action), description)
            out.append(CorporateAction(int(cik), ticker, factor))
        except (ValueError, TypeError) as exc:
            rejected.append(f"{path.name}:{number}: {exc}")
    return out


def import_reference(conn: sqlite3.Connection, folder: Path) -> ImportResult:
    """Upsert the folder's ticker map and corporate actions (a missing file is reported)."""
    result = ImportResult()
    tickers_path, actions_path = folder / TICKERS_FILE, folder / ACTIONS_FILE
    tickers = read_tickers(tickers_path, result.rejected) if tickers_path.exists() else []
    actions = read_actions(actions_path, result.rejected) if actions_path.exists() else []
    result.missing = [p.name for p in (tickers_path, actions_path) if not p.exists()]
    result.tickers_read, result.actions_read = len(tickers), len(actions)
    now = utc_now()
    with transaction(conn):
        before = _counts(conn)
        conn.executemany(
            "INSERT INTO ref_company_tickers VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cik) DO "
            "UPDATE SET ticker = excluded.ticker, name = excluded.name, "
            "exchange = excluded.exchange, source_file = excluded.source_file",
            [(*row, tickers_path.name, now) for row in tickers])
        conn.executemany(
            "INSERT INTO ref_corporate_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (cik, ex_date, method) DO UPDATE SET factor = excluded.factor, "
            "ticker = excluded.ticker, description = excluded.description",
            [(a.cik, a.factor.effective_date.isoformat(), a.factor.method.value,
              a.factor.factor, a.ticker, a.factor.description, actions_path.name, now)
             for a in actions])
        after = _counts(conn)
    result.tickers_new, result.actions_new = after[0] - before[0], after[1] - before[1]
    return result


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    row = conn.execute("SELECT (SELECT COUNT(*) FROM ref_company_tickers), "
                       "(SELECT COUNT(*) FROM ref_corporate_actions)").fetchone()
    return int(row[0]), int(row[1])
