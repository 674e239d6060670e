"""Document parsing and extraction (spec §11): a filing's ``Item`` sections as
``DocumentChunk``s, its tables as rows of numbers, its inline-XBRL facts, a cross-check of
tagged values against table totals, and the steps that chain them in a workflow.

Importing this package is cheap; lxml is loaded when the first filing is parsed.
"""

from __future__ import annotations

from .checks import (
    check_components,
    check_facts_against_tables,
    check_tagged_cells,
    check_xbrl_totals,
)
from .filing import REQUIRED_ITEMS, ParsedFiling, parse_filing
from .models import (
    LOW_CONFIDENCE,
    DocumentChunk,
    ExtractionResult,
    ValidationFinding,
    XbrlFact,
)
from .numbers import parse_number, scale_of
from .schema import SCHEMA, FieldSpec
from .steps import (
    REQUIRED_FIELDS,
    extract_financial_tables,
    extract_mda_section,
    filing_quality_gate,
    map_xbrl_to_schema,
    parse_filing_structure,
    validate_xbrl_totals,
)

__all__ = [
    "LOW_CONFIDENCE",
    "REQUIRED_FIELDS",
    "REQUIRED_ITEMS",
    "SCHEMA",
    "DocumentChunk",
    "ExtractionResult",
    "FieldSpec",
    "ParsedFiling",
    "ValidationFinding",
    "XbrlFact",
    "check_components",
    "check_facts_against_tables",
    "check_tagged_cells",
    "check_xbrl_totals",
    "extract_financial_tables",
    "extract_mda_section",
    "filing_quality_gate",
    "map_xbrl_to_schema",
    "parse_filing",
    "parse_filing_structure",
    "parse_number",
    "scale_of",
    "validate_xbrl_totals",
]
