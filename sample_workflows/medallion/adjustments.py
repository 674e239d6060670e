"""Spec R1's ``adjustments`` step: per-share figures put on today's share basis.

A company that split its stock reports EPS and weighted diluted shares on the old basis in
every filing made before the ex-date, and on the new one after, so a series of reported EPS
jumps by the split ratio although nothing changed. This step builds one
``engine.AdjustmentChain`` per company from the imported corporate actions and writes, for
each of its canonical EPS and diluted-share figures, the reported and the adjusted value to
``silver_per_share_adjustments`` (gold reads them). A figure's basis is that of the day it
was filed: a filing made after a split already restates earlier periods, as GAAP requires,
so ``observed_on`` is the filing date, not the period end.

The step also checks the feed against silver's own split detection (R3's
``TRANSFORM_STOCK_SPLITS``): a split is ``confirmed`` when silver saw shares outstanding jump
by the same ratio across its ex-date. The table is rebuilt on every run, so a new action
re-bases every earlier figure.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date
from typing import Any

from engine import AdjustmentChain, AdjustmentFactor, AdjustmentMethod
from sample_workflows.medallion.schema import transaction

#: canonical concepts that are amounts per share (divided) and share counts (multiplied)
PER_SHARE = ("eps_diluted",)
SHARE_COUNTS = ("diluted_shares",)


def company_chains(conn: sqlite3.Connection) -> dict[int, AdjustmentChain]:
    """Each silver company's corporate actions as one chain (companies without any left out)."""
    factors: dict[int, list[AdjustmentFactor]] = defaultdict(list)
    for company_id, ex_date, method, factor, description in conn.execute(
            "SELECT c.company_id, a.ex_date, a.method, a.factor, a.description "
            "FROM ref_corporate_actions a JOIN silver_companies c ON c.cik = a.cik "
            "ORDER BY c.company_id, a.ex_date"):
        factors[int(company_id)].append(AdjustmentFactor(
            date.fromisoformat(ex_date), float(factor), AdjustmentMethod(method), description))
    return {company: AdjustmentChain(tuple(found)) for company, found in factors.items()}


def adjust_per_share(conn: sqlite3.Connection) -> dict[str, Any]:
    """Rebuild ``silver_per_share_adjustments`` from the chains; what changed and was checked."""
    chains = company_chains(conn)
    rows = []
    if chains:
        marks = ", ".join("?" * len(chains))
        concepts = PER_SHARE + SHARE_COUNTS
        facts = conn.execute(
            "SELECT company_id, fact_period_end_date, period_type, standard_tag_norm, "
            "value_usd, filing_date FROM v0_facts_canonical "
            f"WHERE company_id IN ({marks}) AND standard_tag_norm IN "
            f"({', '.join('?' * len(concepts))}) AND period_type IN ('annual', 'quarterly')",
            (*chains, *concepts)).fetchall()
        for company, end, period_type, concept, value, filed in facts:
            chain, observed = chains[company], date.fromisoformat(filed)
            if concept in PER_SHARE:
                factor, adjusted = chain.factor_for(observed), chain.adjust_price(value, observed)
            else:
                factor = chain.share_factor_for(observed)
                adjusted = chain.adjust_shares(value, observed)
            rows.append((company, end, period_type, concept, value, adjusted, factor, filed,
                         json.dumps(chain.to_dict()["factors"])))
    with transaction(conn):
        conn.execute("DELETE FROM silver_per_share_adjustments")
        conn.executemany("INSERT INTO silver_per_share_adjustments VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    confirmed, unconfirmed = _check_against_silver(conn, chains)
    return {"companies_with_actions": len(chains),
            "actions": sum(len(c.factors) for c in chains.values()),
            "figures_checked": len(rows),
            "figures_adjusted": sum(1 for r in rows if r[6] != 1.0),
            "splits_confirmed": confirmed, "splits_unconfirmed": unconfirmed}


def _check_against_silver(conn: sqlite3.Connection, chains: dict[int, AdjustmentChain]
                          ) -> tuple[int, list[dict[str, Any]]]:
    """How many feed splits silver detected too, and the ones it did not (to look at)."""
    detected: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for company, after, on, ratio in conn.execute(
            "SELECT company_id, effective_after, detected_on, ratio FROM silver_stock_splits"):
        detected[int(company)].append((after, on, int(ratio)))
    confirmed, unconfirmed = 0, []
    for company, chain in chains.items():
        for f in chain.factors:
            if f.method is not AdjustmentMethod.SPLIT:
                continue
            ex = f.effective_date.isoformat()
            if any(after < ex <= on and ratio == round(f.factor)
                   for after, on, ratio in detected[company]):
                confirmed += 1
            else:
                unconfirmed.append({"company_id": company, "ex_date": ex, "factor": f.factor})
    return confirmed, unconfirmed
