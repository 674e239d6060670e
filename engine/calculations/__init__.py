"""Spec §8's calculation steps: ``FinancialCalculation`` and ``RiskCalculation`` for
``Step.calculate``, ``TimeSeriesAggregation`` for ``Step.aggregate`` and ``ComplianceRules``
for ``Step.validate``.

Each reads tables through run references (``$.artifacts.NAME``, ``$.outputs...``), computes
with ``engine.finance``'s numba kernels (loaded only when a step runs) and hands its table on
as an artifact reference (inline JSON rows when small and the run has no artifact store).
"""

from __future__ import annotations

from .aggregation import TimeSeriesAggregation
from .base import Calculation, CalculationError
from .compliance import ComplianceRules
from .financial import FinancialCalculation
from .risk import RiskCalculation
from .rules import ComplianceRule, ComplianceRulesError, RuleSeverity

__all__ = [
    "Calculation",
    "CalculationError",
    "ComplianceRule",
    "ComplianceRules",
    "ComplianceRulesError",
    "FinancialCalculation",
    "RiskCalculation",
    "RuleSeverity",
    "TimeSeriesAggregation",
]
