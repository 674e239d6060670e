"""``ComplianceRules``: spec §8's compliance check — rules from YAML run over every row of a
table and over a step's metrics; violations are listed, and error-severity ones fail the step
as DATA_QUALITY."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..expressions import ExpressionError
from ..policies import ErrorCategory
from ..results import StepResult
from .base import Calculation, CalculationError, check_reference
from .rules import (
    ComplianceRule,
    ComplianceRulesError,
    RuleSeverity,
    load_rules,
    load_rules_file,
    rules_from_objects,
)
from .tables import json_safe, read_table, records

if TYPE_CHECKING:
    from ..context import WorkflowContext

_HERE = Path(__file__).resolve().parent
#: violations shown in the failure message (all of them, up to ``max_listed``, in the output)
_IN_MESSAGE = 5


@dataclass(frozen=True, eq=False)
class ComplianceRules(Calculation):
    """Rules (``rules_path``: a YAML file; or ``rules``: YAML text or a list of rules) checked
    against the rows of ``input_ref`` and the mapping ``metrics_ref`` names.

    A rule reading ``row`` runs once per row (``row.weight <= 0.10``); one that does not runs
    once over ``metrics`` (``metrics.var_95 <= 0.03``). Both may read ``params``. A rule is
    violated when its expression is false, or cannot be evaluated for that row (a missing
    value: write ``row.x == null || ...`` to allow one). A relative ``rules_path`` is found
    next to the module that builds the rules (the workflow file), else in the working folder.

    The step's output lists every rule with its count of violations and up to ``max_listed``
    violations (rule, severity, row number, the values the rule read). With
    ``fail_on_violation`` an error-severity violation fails the step as DATA_QUALITY (the
    output still attached); warnings and info never do.
    """

    rules_path: str | Path | None = None
    input_ref: Any = None
    fail_on_violation: bool = True
    rules: str | Iterable[Any] | None = None
    metrics_ref: Any = None
    max_listed: int = 50
    loaded: tuple[ComplianceRule, ...] = field(default=(), init=False, repr=False)
    source: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        owner = "ComplianceRules"
        if (self.rules_path is None) == (self.rules is None):
            raise ValueError(f"{owner}: give rules_path (a YAML file) or rules (YAML text or a "
                             "list of rules), one of the two")
        if self.rules_path is not None:
            path = _find(Path(self.rules_path))
            loaded, source = load_rules_file(path), str(path)
        elif isinstance(self.rules, str):
            loaded, source = load_rules(self.rules, "<rules>"), "<rules>"
        else:
            loaded, source = rules_from_objects(self.rules or ()), "<rules>"
        object.__setattr__(self, "loaded", loaded)
        object.__setattr__(self, "source", source)
        check_reference(owner, "input_ref", self.input_ref, required=False)
        check_reference(owner, "metrics_ref", self.metrics_ref, required=False)
        row_rules = [r.name for r in loaded if r.scope == "row"]
        if row_rules and self.input_ref is None:
            raise ComplianceRulesError(f"rules {row_rules} read 'row' but no input_ref names "
                                       "the rows to check; set input_ref", source)
        if any(r.scope == "metrics" for r in loaded) and self.metrics_ref is None:
            names = [r.name for r in loaded if r.scope == "metrics"]
            raise ComplianceRulesError(f"rules {names} do not read 'row', so they check "
                                       "metrics, but no metrics_ref names them; set "
                                       "metrics_ref (e.g. '$.outputs.portfolio_risk.metrics')",
                                       source)
        if self.max_listed < 0:
            raise ValueError(f"{owner}: max_listed must be >= 0")

    kind = "validate"

    def _identity(self) -> tuple[Any, ...]:
        """What the step checks: the loaded rules, not how they were given (a file, YAML
        text or a list), so a definition read back from its YAML form equals the original."""
        return (self.loaded, self.input_ref, self.metrics_ref, self.fail_on_violation,
                self.max_listed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComplianceRules):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((ComplianceRules, self.loaded, self.fail_on_violation, self.max_listed))

    def describe(self) -> str:
        target = self.input_ref or self.metrics_ref
        return f"{len(self.loaded)} compliance rules ({self.source}) over {target}"

    def run(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        spec = self
        params = dict(ctx.params)
        metrics: Any = None
        if spec.metrics_ref is not None:
            metrics = json_safe(ctx.resolve(spec.metrics_ref) if isinstance(
                spec.metrics_ref, str) else spec.metrics_ref)
            if not isinstance(metrics, Mapping):
                raise CalculationError(f"metrics_ref {spec.metrics_ref!r} is a "
                                       f"{type(metrics).__name__}, not a mapping of metrics",
                                       ErrorCategory.DATA_QUALITY)
        rows: list[dict[str, Any]] = []
        if spec.input_ref is not None:
            rows = records(read_table(ctx, spec.input_ref, "input_ref"))
        counts = {r.name: 0 for r in spec.loaded}
        violations: list[dict[str, Any]] = []

        def check(rule: ComplianceRule, names: dict[str, Any], row: int | None) -> None:
            reason = _verdict(rule, names)
            if reason is None:
                return
            counts[rule.name] += 1
            if len(violations) < spec.max_listed:
                found: dict[str, Any] = {"rule": rule.name, "severity": rule.severity.value,
                                         "reason": reason}
                if row is not None:
                    found["row"] = row
                    found["values"] = {f: names["row"].get(f) for f in rule.row_fields}
                violations.append(found)

        for rule in spec.loaded:
            if rule.scope == "metrics":
                check(rule, {"metrics": metrics or {}, "params": params}, None)
            else:
                for number, row in enumerate(rows):
                    check(rule, {"row": row, "metrics": metrics or {}, "params": params},
                          number)
        by_severity = {s.value: sum(counts[r.name] for r in spec.loaded if r.severity is s)
                       for s in RuleSeverity}
        output = {
            "passed": by_severity["error"] == 0, "checked_rows": len(rows),
            "violation_count": sum(counts.values()), **{f"{k}s": v for k, v in
                                                         by_severity.items()},
            "rules": [{**r.to_dict(), "violations": counts[r.name]} for r in spec.loaded],
            "violations": violations}
        if by_severity["error"] and spec.fail_on_violation:
            return StepResult.fail(_message(output, violations), ErrorCategory.DATA_QUALITY,
                                   output=output)
        return StepResult.ok(output)


def _verdict(rule: ComplianceRule, names: dict[str, Any]) -> str | None:
    """Why the rule does not hold for these values (None when it holds)."""
    reads = rule.expression.reads  # bind only what it reads: each name is copied per call
    try:
        value = rule.expression.evaluate({n: v for n, v in names.items() if n in reads})
    except ExpressionError as exc:
        return f"could not be evaluated: {exc.reason}"
    if value is True:
        return None
    if value is False:
        return "false"
    if value is None:
        return "a value it reads is missing"
    return f"gave {value!r}, not true or false"


def _message(output: Mapping[str, Any], violations: list[dict[str, Any]]) -> str:
    shown = []
    for v in violations[:_IN_MESSAGE]:
        where = f" on row {v['row']} ({_values(v['values'])})" if "row" in v else ""
        shown.append(f"{v['rule']}{where}")
    more = output["violation_count"] - len(shown)
    tail = f"; and {more} more" if more > 0 else ""
    return (f"{output['errors']} compliance violation(s) of error severity "
            f"({output['violation_count']} in all): {'; '.join(shown)}{tail}")


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _find(path: Path) -> Path:
    """A relative rules path next to the calling workflow module, else in the working folder."""
    if path.is_absolute():
        return path
    for frame in inspect.stack(context=0)[1:]:
        filename = frame.filename
        if filename.startswith("<") or Path(filename).resolve().parent == _HERE:
            continue
        candidate = Path(filename).resolve().parent / path
        if candidate.exists():
            return candidate
        break
    return path.resolve()
