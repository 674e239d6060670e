"""Spec §8's calculation steps in a ``spine.io/v1`` document, both ways.

A step says what it computes under one key, each mirroring a class of ``engine.calculations``
field for field (so a key left out means the class's default)::

    - name: ratios
      calculate: {metrics: [debt_to_equity], input_ref: $.artifacts.financials,
                  group_by: [company_id]}                    # FinancialCalculation
    - name: risk
      risk: {prices_ref: $.artifacts.prices, metrics: [var_95, sharpe]}   # RiskCalculation
    - name: returns
      aggregate: {input_ref: $.artifacts.prices, value_columns: [close]}  # TimeSeriesAggregation
    - name: check
      validate: {rules: rules.yaml, input_ref: $.artifacts.ratios}       # ComplianceRules

``validate.rules`` is a rules file (relative paths start from the YAML file's folder) or the
rules inline as a list. Names are checked as the document is read (an unknown metric,
operation or period, a rule that does not compile: the line of its key); a rules file is read
when the workflow is built, its errors naming that file's line and the step's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ..calculations import (
    ComplianceRules,
    ComplianceRulesError,
    FinancialCalculation,
    RiskCalculation,
    TimeSeriesAggregation,
)
from ..calculations.aggregation import PERIOD_FUNCTIONS, PERIODS
from ..calculations.base import OUTPUT_FORMATS, check_reference
from ..calculations.financial import GROUP_FUNCTIONS
from ..calculations.metric_names import TIME_SERIES_OPERATION, check_row_metric, parse_risk_metric
from ..calculations.rules import rule_from
from ..errors import WorkflowSpecError

_STRICT = ConfigDict(extra="forbid", frozen=True)
#: the document key of each calculation class (``risk`` is a ``Step.calculate`` too)
CALC_KINDS: dict[str, type[Any]] = {
    "calculate": FinancialCalculation, "risk": RiskCalculation,
    "aggregate": TimeSeriesAggregation, "validate": ComplianceRules}
#: the ``Step`` factory each key builds with
FACTORY_OF = {"calculate": "calculate", "risk": "calculate", "aggregate": "aggregate",
              "validate": "validate"}
#: fields that name data by run reference: the only form a document can hold
_REFERENCE_FIELDS = ("input_ref", "prices_ref", "portfolio_ref", "returns_ref", "metrics_ref")

OutputFormat = Literal["parquet", "pickle", "json", "records"]
assert set(OutputFormat.__args__) == set(OUTPUT_FORMATS)  # type: ignore[attr-defined]
GroupFunction = Literal["sum", "last", "first", "mean", "min", "max"]
assert set(GroupFunction.__args__) == set(GROUP_FUNCTIONS)  # type: ignore[attr-defined]
PeriodFunction = Literal["last", "first", "sum", "mean", "min", "max", "std", "count",
                         "compound"]
assert set(PeriodFunction.__args__) == set(PERIOD_FUNCTIONS)  # type: ignore[attr-defined]


def _default(cls: type[Any], name: str) -> Any:
    """The dataclass default of ``cls.name``, so the document's defaults are the class's."""
    found = next(f for f in dataclasses.fields(cls) if f.name == name)
    if found.default is not dataclasses.MISSING:
        value = found.default
    else:
        value = found.default_factory()  # type: ignore[misc,operator]
    return list(value) if isinstance(value, tuple) else value


def _reference(value: str | None) -> str | None:
    """A run reference (``$.artifacts.NAME``, ``$.outputs...``, ``$.params...``)."""
    check_reference("", "reference", value, required=False)
    return value


class _RefsModel(BaseModel):
    """Checks every ``*_ref`` field as a run reference (the line of the key on a bad one)."""

    model_config = _STRICT

    @field_validator(*_REFERENCE_FIELDS, mode="after", check_fields=False)
    @classmethod
    def _refs(cls, value: str | None) -> str | None:
        try:
            return _reference(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix(": ")) from None


class CalculateSpec(_RefsModel):
    """``calculate:`` statement metrics by name over a table (``FinancialCalculation``)."""

    metrics: list[str] = Field(min_length=1, description="engine.finance metric names, e.g. "
                               "debt_to_equity, current_ratio, altman_z")
    input_ref: str = Field(description="the table: '$.artifacts.NAME' or '$.outputs...'")
    group_by: list[str] = Field(default_factory=list,
                                description="one result row per group of these columns")
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="metric parameter -> input column")
    aggregate: dict[str, GroupFunction] = Field(
        default_factory=dict, description="how a column combines within a group (sum)")
    output_format: OutputFormat | None = Field(
        default=None, description="artifact format, or records (inline rows)")

    @field_validator("metrics")
    @classmethod
    def _known(cls, metrics: list[str]) -> list[str]:
        for metric in metrics:
            try:
                check_row_metric("calculate", metric)
            except ValueError as exc:
                raise ValueError(str(exc).removeprefix("calculate: ")) from None
        return metrics


class RiskSpec(_RefsModel):
    """``risk:`` VaR, CVaR, Sharpe, Sortino, beta, drawdown, volatility (``RiskCalculation``)."""

    portfolio_ref: str | None = Field(default=None, description="holdings: ticker with "
                                      "quantity or weight")
    prices_ref: str | None = Field(default=None, description="prices, long or wide")
    returns_ref: str | None = Field(default=None, description="a returns series instead")
    metrics: list[str] = Field(default_factory=lambda: _default(RiskCalculation, "metrics"),
                               min_length=1)
    lookback_days: int | None = Field(default=_default(RiskCalculation, "lookback_days"),
                                      ge=2)
    confidence: float = Field(default=_default(RiskCalculation, "confidence"), gt=0, lt=1)
    risk_free_rate: float = _default(RiskCalculation, "risk_free_rate")
    periods_per_year: float = Field(default=_default(RiskCalculation, "periods_per_year"), gt=0)
    benchmark: str | None = None
    time_column: str = _default(RiskCalculation, "time_column")
    ticker_column: str = _default(RiskCalculation, "ticker_column")
    price_column: str = _default(RiskCalculation, "price_column")
    quantity_column: str = _default(RiskCalculation, "quantity_column")
    weight_column: str = _default(RiskCalculation, "weight_column")
    returns_column: str = _default(RiskCalculation, "returns_column")

    @field_validator("metrics")
    @classmethod
    def _known(cls, metrics: list[str]) -> list[str]:
        for metric in metrics:
            parse_risk_metric(metric, 0.95)
        return metrics


class AggregateSpec(_RefsModel):
    """``aggregate:`` per-group time-series operations and period roll-ups
    (``TimeSeriesAggregation``)."""

    input_ref: str
    time_column: str = _default(TimeSeriesAggregation, "time_column")
    value_columns: list[str] = Field(min_length=1)
    operations: list[str] = Field(
        default_factory=lambda: _default(TimeSeriesAggregation, "operations"),
        description="pct_change, pct_change_N, rolling_mean_N, rolling_std_N")
    group_by: list[str] = Field(default_factory=list)
    period: str | None = Field(default=None, description="roll up to D, W, M, Q or Y")
    period_aggregations: dict[str, PeriodFunction] = Field(default_factory=dict)
    output_format: OutputFormat | None = None

    @field_validator("operations")
    @classmethod
    def _known(cls, operations: list[str]) -> list[str]:
        for operation in operations:
            if not TIME_SERIES_OPERATION.fullmatch(operation):
                raise ValueError(f"unknown operation {operation!r}; use pct_change, "
                                 "pct_change_N, rolling_mean_N or rolling_std_N (N rows)")
        return operations

    @field_validator("period")
    @classmethod
    def _period(cls, period: str | None) -> str | None:
        if period is not None and period not in PERIODS:
            raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
        return period


class RuleSpec(BaseModel):
    """One inline compliance rule: a CEL ``expression`` over ``row``/``metrics``/``params``
    that must be true."""

    model_config = _STRICT
    name: str
    expression: str
    severity: Literal["error", "warning", "info", "warn", "critical", "fatal"] = "error"
    description: str = ""
    scope: Literal["row", "metrics"] | None = None

    @model_validator(mode="after")
    def _compiles(self) -> RuleSpec:
        try:
            rule_from(self.name, self.expression, self.severity, self.description, self.scope)
        except ComplianceRulesError as exc:
            raise ValueError(exc.detail) from None
        return self


def _rules_form(value: Any) -> str:
    """Which form ``rules`` takes, so an error names only that form's problem."""
    return "file" if isinstance(value, str) else "inline"


class ValidateSpec(_RefsModel):
    """``validate:`` compliance rules over rows and metrics (``ComplianceRules``)."""

    rules: Annotated[Annotated[str, Tag("file")] | Annotated[list[RuleSpec], Tag("inline")],
                     Discriminator(_rules_form)] = Field(
        description="a rules YAML file (relative to this file's folder) or the rules inline")
    input_ref: str | None = None
    metrics_ref: str | None = None
    fail_on_violation: bool = True
    max_listed: int = Field(default=_default(ComplianceRules, "max_listed"), ge=0)


#: the model under each calculation key (for "allowed keys" hints)
CALC_MODELS: dict[str, type[BaseModel]] = {
    "calculate": CalculateSpec, "risk": RiskSpec, "aggregate": AggregateSpec,
    "validate": ValidateSpec, "rules": RuleSpec}


# ------------------------------------------------------------------ runtime -> document
def calculation_doc(step: str, body: Any, source: str) -> tuple[str, dict[str, Any]] | None:
    """``(key, mapping)`` of a step whose handler is a calculation, else None."""
    key = next((k for k, cls in CALC_KINDS.items() if type(body) is cls), None)
    if key is None:
        return None
    for name in _REFERENCE_FIELDS:
        value = getattr(body, name, None)
        if value is not None and not isinstance(value, str):
            raise WorkflowSpecError(
                f"step {step!r}: {name} is a {type(value).__name__} handed in directly, which "
                "a YAML file cannot hold; name the data by reference ('$.artifacts.NAME')",
                source)
    if isinstance(body, ComplianceRules):
        return key, _rules_doc(body)
    doc: dict[str, Any] = {}
    for f in dataclasses.fields(body):
        if not f.init:
            continue
        value = plain(getattr(body, f.name))
        if value != plain(_default(type(body), f.name)):
            doc[f.name] = value
    if isinstance(body, FinancialCalculation):
        doc.setdefault("metrics", list(body.metrics))
    return key, doc


def _rules_doc(body: ComplianceRules) -> dict[str, Any]:
    rules: Any = str(body.source) if body.rules_path is not None else \
        [r.to_dict() for r in body.loaded]
    doc: dict[str, Any] = {"rules": rules}
    for name in ("input_ref", "metrics_ref"):
        if getattr(body, name) is not None:
            doc[name] = getattr(body, name)
    if not body.fail_on_violation:
        doc["fail_on_violation"] = False
    if body.max_listed != _default(ComplianceRules, "max_listed"):
        doc["max_listed"] = body.max_listed
    return doc


def plain(value: Any) -> Any:
    """Tuples as lists and mappings as dicts, recursively (document data)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# ------------------------------------------------------------------ document -> runtime
def build_calculation(key: str, spec: BaseModel, base: Path | None,
                      error: Callable[[str, tuple[str | int, ...]], WorkflowSpecError],
                      loc: tuple[str | int, ...]) -> Any:
    """The calculation object of one document section (``key`` names its class)."""
    values = spec.model_dump(exclude_unset=True)
    if isinstance(spec, ValidateSpec):
        rules = values.pop("rules")
        if isinstance(rules, str):
            path = Path(rules).expanduser()
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            values["rules_path"] = str(path.resolve())
        else:
            values["rules"] = [{k: v for k, v in r.items() if v is not None} for r in rules]
        try:
            return ComplianceRules(**values)
        except ComplianceRulesError as exc:
            where = f"{exc.source}:{exc.line}" if exc.line else exc.source
            inline = exc.source.startswith("<")
            raise error(exc.detail if inline else f"rules ({where}): {exc.detail}",
                        (*loc, "rules")) from None
    return CALC_KINDS[key](**values)
