-- A small SQLite stand-in for the SEC EDGAR "sec_dev_data" database the spec's F5/F10 query:
-- the Silver tables and the canonical view chain, with a handful of real-shaped rows.
CREATE TABLE silver_companies (
    company_id INTEGER PRIMARY KEY,
    cik        TEXT NOT NULL UNIQUE,
    ticker     TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL
);

-- One XBRL fact per row; a later filing of the same (company, year, tag) is a restatement.
CREATE TABLE silver_financial_facts (
    company_id  INTEGER NOT NULL REFERENCES silver_companies(company_id),
    fiscal_year INTEGER NOT NULL,
    period_end  TEXT NOT NULL,
    tag         TEXT NOT NULL,
    value       NUMERIC NOT NULL,
    adsh        TEXT NOT NULL,
    filed       TEXT NOT NULL
);

CREATE TABLE silver_filings (
    adsh              TEXT PRIMARY KEY,
    cik               TEXT NOT NULL,
    form_type         TEXT NOT NULL,
    filing_date       TEXT NOT NULL,
    fiscal_period_end TEXT NOT NULL
);

-- Restatement resolution: keep the most recently filed value of each fact.
CREATE VIEW v0_facts_canonical AS
SELECT f.*
FROM silver_financial_facts AS f
WHERE f.filed = (
    SELECT MAX(g.filed) FROM silver_financial_facts AS g
    WHERE g.company_id = f.company_id AND g.fiscal_year = f.fiscal_year AND g.tag = f.tag
);

CREATE VIEW v_income_statement_annual AS
SELECT company_id, fiscal_year,
       MAX(CASE WHEN tag = 'Revenues' THEN value END)                AS total_revenue,
       MAX(CASE WHEN tag = 'GrossProfit' THEN value END)             AS gross_profit,
       MAX(CASE WHEN tag = 'OperatingIncomeLoss' THEN value END)     AS operating_income,
       MAX(CASE WHEN tag = 'NetIncomeLoss' THEN value END)           AS net_income,
       MAX(CASE WHEN tag = 'EarningsPerShareDiluted' THEN value END) AS eps_diluted
FROM v0_facts_canonical
GROUP BY company_id, fiscal_year;

CREATE VIEW v_balance_sheet_instant AS
SELECT b.*,
       b.fiscal_year = (SELECT MAX(fiscal_year) FROM v0_facts_canonical AS c
                        WHERE c.company_id = b.company_id AND c.tag = 'Assets') AS is_most_recent
FROM (
    SELECT company_id, fiscal_year, period_end,
           MAX(CASE WHEN tag = 'Assets' THEN value END)                  AS total_assets,
           MAX(CASE WHEN tag = 'Liabilities' THEN value END)             AS total_liabilities,
           MAX(CASE WHEN tag = 'StockholdersEquity' THEN value END)      AS stockholders_equity,
           MAX(CASE WHEN tag = 'CashAndCashEquivalents' THEN value END)  AS cash_and_equivalents,
           MAX(CASE WHEN tag = 'AssetsCurrent' THEN value END)           AS current_assets,
           MAX(CASE WHEN tag = 'LiabilitiesCurrent' THEN value END)      AS current_liabilities
    FROM v0_facts_canonical
    WHERE tag IN ('Assets', 'Liabilities', 'StockholdersEquity', 'CashAndCashEquivalents',
                  'AssetsCurrent', 'LiabilitiesCurrent')
    GROUP BY company_id, fiscal_year, period_end
) AS b;

INSERT INTO silver_companies (company_id, cik, ticker, name) VALUES
    (1, '0000320193', 'AAPL', 'Apple Inc.'),
    (2, '0000789019', 'MSFT', 'Microsoft Corporation'),
    (3, '0001045810', 'NVDA', 'NVIDIA Corporation'),
    (4, '0001018724', 'AMZN', 'Amazon.com, Inc.'),
    (5, '0001318605', 'TSLA', 'Tesla, Inc.'),
    (6, '0001375365', 'SMCI', 'Super Micro Computer, Inc.'),
    (7, '0001326380', 'GME', 'GameStop Corp.');

-- NVIDIA, fiscal years 2023-2025 (amounts in USD). The FY2024 revenue was first reported
-- lower and restated in the next 10-K: v0_facts_canonical keeps the restated value.
INSERT INTO silver_financial_facts
    (company_id, fiscal_year, period_end, tag, value, adsh, filed) VALUES
    (3, 2023, '2023-01-29', 'Revenues',                26974000000, '0001045810-23-000017', '2023-02-24'),
    (3, 2023, '2023-01-29', 'GrossProfit',             15356000000, '0001045810-23-000017', '2023-02-24'),
    (3, 2023, '2023-01-29', 'OperatingIncomeLoss',      4224000000, '0001045810-23-000017', '2023-02-24'),
    (3, 2023, '2023-01-29', 'NetIncomeLoss',            4368000000, '0001045810-23-000017', '2023-02-24'),
    (3, 2023, '2023-01-29', 'EarningsPerShareDiluted',        0.17, '0001045810-23-000017', '2023-02-24'),
    (3, 2024, '2024-01-28', 'Revenues',                60900000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'Revenues',                60922000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2024, '2024-01-28', 'GrossProfit',             44327000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'OperatingIncomeLoss',     32972000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'NetIncomeLoss',           29760000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'EarningsPerShareDiluted',        1.19, '0001045810-24-000029', '2024-02-21'),
    (3, 2025, '2025-01-26', 'Revenues',               130497000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'GrossProfit',             97729000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'OperatingIncomeLoss',     81453000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'NetIncomeLoss',           72880000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'EarningsPerShareDiluted',        2.94, '0001045810-25-000023', '2025-02-26'),
    (3, 2024, '2024-01-28', 'Assets',                  65728000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'Liabilities',             22750000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'StockholdersEquity',      42978000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'AssetsCurrent',           44345000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2024, '2024-01-28', 'LiabilitiesCurrent',      10631000000, '0001045810-24-000029', '2024-02-21'),
    (3, 2025, '2025-01-26', 'Assets',                 112198000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'Liabilities',             30882000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'StockholdersEquity',      81316000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'CashAndCashEquivalents',   8589000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'AssetsCurrent',           80126000000, '0001045810-25-000023', '2025-02-26'),
    (3, 2025, '2025-01-26', 'LiabilitiesCurrent',      19215000000, '0001045810-25-000023', '2025-02-26');

-- 10-Q filings for the quarter ended 2025-12-31 (and one 10-K that must not count as a 10-Q).
INSERT INTO silver_filings (adsh, cik, form_type, filing_date, fiscal_period_end) VALUES
    ('0000320193-26-000006', '0000320193', '10-Q', '2026-01-30', '2025-12-31'),
    ('0000950170-26-000012', '0000789019', '10-Q', '2026-01-28', '2025-12-31'),
    ('0001045810-26-000004', '0001045810', '10-Q', '2026-02-05', '2025-12-31'),
    ('0001018724-26-000002', '0001018724', '10-Q', '2026-02-06', '2025-12-31'),
    ('0001628280-26-000031', '0001318605', '10-K', '2026-01-29', '2025-12-31');
