"""Deterministic sample data sets for the bundled sample workflows (standard library only, so
``import engine`` stays light): ``generate_sec_dataset`` writes the SEC-style quarterly data
sets the medallion sample (spec R1-R10) loads."""

from __future__ import annotations

from .sec import MANIFEST_NAME, SecDataset, generate_sec_dataset

__all__ = ["MANIFEST_NAME", "SecDataset", "generate_sec_dataset"]
