"""Portable ETL packaged as a .pyz archive that ``python`` runs wherever spine-tui is installed (spec A4).

``extract`` reads the bundled ``data/companies.csv`` (or the ``csv_path`` param), ``transform``
keeps the rows that have a CIK and normalises them, and ``load`` is the ``warehouse.load``
pipeline (``sample_workflows._warehouse``: a SQLite ``companies`` table in the samples scratch
folder). The handlers are named module-level functions, so the archive's definition is a YAML
spec naming them ``module:function``; the archive carries this file and ``_warehouse.py``
(which registers the pipeline) and requires spine-tui for everything else.

Running this file packages the workflow into ``dist/`` under the samples scratch folder, runs
it here, inspects the archive (its manifest, checked against its contents; nothing runs) and
runs ``python dist/portable_etl.pyz`` in a fresh process.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import sample_workflows._warehouse  # noqa: F401  (registers warehouse.load)
from engine import Step, StepResult, Workflow, WorkflowContext
from sample_workflows._common import data_file
from sample_workflows._package_demo import package_run_inspect


# Named handlers (packaged by reference)
def extract_data(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """Read the companies CSV (``csv_path`` param, else the bundled one)."""
    path = Path(ctx.params.get("csv_path") or data_file("companies.csv"))
    if not path.is_file():
        return StepResult.fail(f"no companies CSV at {path} (set by csv_path)",
                               category="DATA_QUALITY")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return StepResult.ok(output={"records": len(rows), "rows": rows, "source": str(path)})


def transform_data(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    """Keep the rows with a CIK: CIKs zero-padded to 10 digits, tickers upper-case."""
    rows = ctx.get_output("extract", "rows", [])
    companies = [{"cik": r["cik"].strip().zfill(10), "ticker": r["ticker"].strip().upper(),
                  "name": " ".join(r["name"].split()), "sector": r["sector"].strip() or "Unknown"}
                 for r in rows if (r.get("cik") or "").strip()]
    return StepResult.ok(output={"transformed": len(companies),
                                 "dropped": len(rows) - len(companies), "companies": companies})


# Build workflow
wf = Workflow(
    name="portable.etl",
    steps=[
        Step.lambda_("extract", extract_data),
        Step.lambda_("transform", transform_data),
        Step.pipeline("load", "warehouse.load"),
    ],
    description="Extract, normalise and load the companies list; shipped as a .pyz archive",
    tags=["portable", "etl"],
)

if __name__ == "__main__":
    package_run_inspect(wf)
