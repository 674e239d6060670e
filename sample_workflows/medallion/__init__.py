"""The SEC EDGAR medallion sample (spec R1-R10): bronze, silver and gold layers over one
SQLite file, the canonical view, tag mapping, fixtures, and the ``sec.medallion`` workflow
in ``workflow.py``."""
