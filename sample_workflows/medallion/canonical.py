"""Spec R7 and R10: the canonical view every financial statement view is built on, and the
partial covering index whose WHERE clause matches the view's term for term.

``v0_facts_canonical`` keeps consolidated, non-segment, non-comparative facts of the latest
version of each filing (``filing_version_rank = 1``: a 10-K/A outranks the 10-K it restates),
classifies each as instant, quarterly, annual or other, and keeps one fact per company,
standard concept, period end and period type with ``ROW_NUMBER`` (latest filing first, then
the concept's preferred XBRL tag). The statement views then pivot concepts into columns.

The R10 lesson holds in SQLite too: the planner uses a partial index only when the query's
WHERE contains the index's WHERE terms, so ``PARTIAL_INDEX_WHERE`` is written once and used
by both (``EXPLAIN QUERY PLAN`` in the tests shows the index in use). The PostgreSQL view's
``is_discrete_quarterly(...)`` function becomes the duration test it stands for.

R10's other lesson showed up here as well: a plain index on ``silver_financial_facts
(filing_id)`` made the planner drive the view from ``silver_filings`` and read every fact row
(4x slower over 500,000 facts than scanning this covering index), so there is none; the rare
re-rank after an amendment scans the table instead.
"""

from __future__ import annotations

_FILTER = """COALESCE({t}scope, 'consolidated') LIKE 'consolidated%'
        AND COALESCE({t}segments_context, '') = ''
        AND {t}filing_version_rank = 1
        AND {t}is_comparative_period = 0
        AND {t}value_usd IS NOT NULL"""


def canonical_filter(alias: str = "") -> str:
    """The foundation view's filter over ``silver_financial_facts`` (as ``alias``), shared
    term for term by the view and the partial index (R10)."""
    return _FILTER.format(t=f"{alias}." if alias else "")


PARTIAL_INDEX_WHERE = canonical_filter()

#: the canonical concepts the statement views pivot into columns, per view
INCOME_COLUMNS = ("total_revenue", "cost_of_revenue", "gross_profit", "sga",
                  "operating_income", "interest_expense", "income_tax", "net_income",
                  "eps_diluted", "diluted_shares", "operating_cash_flow",
                  "depreciation_amortization")
BALANCE_COLUMNS = ("total_assets", "current_assets", "cash", "receivables", "inventory",
                   "ppe", "securities",
                   "total_liabilities", "current_liabilities", "long_term_debt",
                   "stockholders_equity", "retained_earnings", "liabilities_and_equity")


def _pivot(columns: tuple[str, ...]) -> str:
    return ",\n    ".join(
        f"MAX(CASE WHEN standard_tag_norm = '{c}' THEN value_usd END) AS {c}" for c in columns)


COVERING_INDEX = "idx_sff_canonical_optimized"
COVERING_INDEX_DDL = f"""
CREATE INDEX IF NOT EXISTS {COVERING_INDEX}
    ON silver_financial_facts (company_id, fact_period_end_date, standard_tag_norm, filing_id,
                               qtrs, period_duration_days, is_instant, is_quarterly, is_annual,
                               tag_priority, value_usd, scope, segments_context,
                               filing_version_rank, is_comparative_period)
    WHERE {PARTIAL_INDEX_WHERE};
"""

#: the views, dropped and re-created when the schema version moves (their columns change)
CANONICAL_VIEWS = ("v_cover_page", "v_balance_sheet_instant", "v_income_statement",
                   "v0_facts_canonical")

CANONICAL_DDL = COVERING_INDEX_DDL + f"""
CREATE VIEW IF NOT EXISTS v0_facts_canonical AS
WITH base AS (
    SELECT sff.fact_id, sff.company_id, sff.filing_id, sff.standard_tag_norm, sff.tag_priority,
           sff.fact_period_end_date, sff.qtrs, sff.value_usd,
           sf.adsh, sf.form_type, sf.filing_date, sf.fiscal_year, sf.fiscal_quarter,
           sf.period_end_date AS filing_period_end_date,
           CASE
               WHEN sff.is_instant = 1 THEN 'instant'
               WHEN sff.is_quarterly = 1 AND sff.period_duration_days BETWEEN 80 AND 100
                   THEN 'quarterly'
               WHEN sff.is_annual = 1 THEN 'annual'
               ELSE 'other'
           END AS period_type
    FROM silver_financial_facts sff
    JOIN silver_filings sf ON sf.filing_id = sff.filing_id
    WHERE {canonical_filter("sff")}
        AND sf.filing_version_rank = 1
),
ranked AS (
    SELECT *,
           ROW_NUMBER() OVER (
               PARTITION BY company_id, standard_tag_norm, fact_period_end_date, period_type
               ORDER BY filing_date DESC, filing_period_end_date DESC, tag_priority, fact_id
           ) AS dedup_rank
    FROM base
)
SELECT * FROM ranked WHERE dedup_rank = 1;

CREATE VIEW IF NOT EXISTS v_income_statement AS
SELECT company_id, fact_period_end_date AS period_end_date, period_type,
    MAX(fiscal_year) AS fiscal_year,
    {_pivot(INCOME_COLUMNS)}
FROM v0_facts_canonical
WHERE period_type IN ('annual', 'quarterly')
GROUP BY company_id, fact_period_end_date, period_type;

CREATE VIEW IF NOT EXISTS v_balance_sheet_instant AS
SELECT company_id, fact_period_end_date AS period_end_date,
    {_pivot(BALANCE_COLUMNS)}
FROM v0_facts_canonical
WHERE period_type = 'instant'
GROUP BY company_id, fact_period_end_date;

CREATE VIEW IF NOT EXISTS v_cover_page AS
SELECT company_id, fact_period_end_date AS as_of_date,
    MAX(CASE WHEN standard_tag_norm = 'public_float' THEN value_usd END) AS public_float,
    MAX(CASE WHEN standard_tag_norm = 'shares_outstanding' THEN value_usd END)
        AS shares_outstanding
FROM v0_facts_canonical
WHERE standard_tag_norm IN ('public_float', 'shares_outstanding')
GROUP BY company_id, fact_period_end_date;
"""
