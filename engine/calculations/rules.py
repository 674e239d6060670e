"""Compliance rules read from YAML (a file or a string): each a named CEL expression that must
hold for every row (it reads ``row``) or for the metrics (it reads only ``metrics``), with a
severity. Every problem in a rules document is an error naming its file and line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import WorkflowSpecError
from ..expressions import Expression, ExpressionError

#: what a rule's expression may read: the row checked, the metrics, the run params
RULE_NAMES = ("row", "metrics", "params")
_RULE_KEYS = ("name", "expression", "severity", "description", "scope")
_SEVERITY_ALIASES = {"warn": "warning", "critical": "error", "fatal": "error"}
_EXAMPLE = ("rules:\n  - name: position_limit\n    expression: row.weight <= 0.10\n"
            "    severity: error")


class RuleSeverity(StrEnum):
    """What a violation does: ``error`` fails the step (when asked to), ``warning`` and
    ``info`` are reported only."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ComplianceRulesError(WorkflowSpecError):
    """A rules document that cannot be read: bad YAML, a rule without a name or expression,
    an expression that does not compile; ``source`` and ``line`` say where."""


@dataclass(frozen=True)
class ComplianceRule:
    """One rule: ``expression`` must be true; ``scope`` is ``row`` when it reads ``row``
    (checked once per row), else ``metrics`` (checked once)."""

    name: str
    expression: Expression
    severity: RuleSeverity = RuleSeverity.ERROR
    description: str = ""

    @property
    def scope(self) -> str:
        return "row" if "row" in self.expression.reads else "metrics"

    @property
    def row_fields(self) -> tuple[str, ...]:
        """The row columns the expression names (``row.weight`` → ``weight``), to list with
        a violation."""
        found = re.findall(r"(?<![\w.])row\.([A-Za-z_]\w*)", self.expression.text)
        return tuple(dict.fromkeys(found))

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "expression": self.expression.text,
                "severity": self.severity.value}
        if self.description:
            data["description"] = self.description
        return data


def rule_from(name: Any, expression: Any, severity: Any = "error", description: Any = "",
              scope: Any = None, *, where: tuple[str, int | None] = ("<rules>", None)
              ) -> ComplianceRule:
    """A rule from plain values, every problem a ``ComplianceRulesError`` at ``where``."""
    source, line = where
    if not isinstance(name, str) or not name.strip():
        raise ComplianceRulesError(f"a rule needs a non-empty 'name', got {name!r}", source,
                                   line)
    label = f"rule {name!r}"
    if isinstance(expression, bool | int | float):
        raise ComplianceRulesError(f"{label}: 'expression' is the YAML value {expression!r}, "
                                   "not text; quote it (expression: \"true\")", source, line)
    if not isinstance(expression, str) or not expression.strip():
        raise ComplianceRulesError(f"{label} needs an 'expression' (CEL text that must be "
                                   "true, e.g. 'row.weight <= 0.10')", source, line)
    text = _SEVERITY_ALIASES.get(str(severity).lower(), str(severity).lower())
    try:
        level = RuleSeverity(text)
    except ValueError:
        raise ComplianceRulesError(f"{label}: unknown severity {severity!r}; use error, "
                                   "warning or info", source, line) from None
    try:
        compiled = Expression(expression, names=RULE_NAMES)
    except ExpressionError as exc:
        raise ComplianceRulesError(f"{label}: {exc}", source, line) from None
    rule = ComplianceRule(name.strip(), compiled, level, str(description or ""))
    if scope is not None and scope != rule.scope:
        reads = "reads row" if rule.scope == "row" else "does not read row"
        raise ComplianceRulesError(f"{label}: scope {scope!r} does not fit its expression, "
                                   f"which {reads}; drop 'scope' (it follows the "
                                   "expression) or fix it", source, line)
    return rule


def load_rules(text: str, source: str = "<string>") -> tuple[ComplianceRule, ...]:
    """The rules of one YAML document: ``rules:`` with a list of mappings (or the list alone)."""
    import yaml  # deliberate lazy load: PyYAML is needed only where rules are read

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ComplianceRulesError(f"invalid YAML: {exc.problem or exc}; check indentation, "
                                   "quotes and colons", source,
                                   mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ComplianceRulesError(f"invalid YAML: {exc}", source) from None
    if node is None:
        raise ComplianceRulesError(f"the rules document is empty; write for example:\n"
                                   f"{_EXAMPLE}", source, 1)
    items_node, items = node, data
    if isinstance(data, dict):
        extra = sorted(set(data) - {"rules"})
        if "rules" not in data or extra:
            what = f"unknown key {extra[0]!r}" if extra else "no 'rules' key"
            raise ComplianceRulesError(f"{what} at the top; a rules document is 'rules:' "
                                       f"with a list of rules", source, _line_of(node, extra))
        items_node = _value_node(node, "rules")
        items = data["rules"]
    if not isinstance(items, list) or not items:
        raise ComplianceRulesError(f"'rules' must be a non-empty list of rules, e.g.\n"
                                   f"{_EXAMPLE}", source, items_node.start_mark.line + 1)
    rules: list[ComplianceRule] = []
    seen: dict[str, int] = {}
    for item, item_node in zip(items, items_node.value, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise ComplianceRulesError(f"a rule is a mapping with name, expression and "
                                       f"severity, got {item!r}", source, line)
        unknown = sorted(set(item) - set(_RULE_KEYS))
        if unknown:
            raise ComplianceRulesError(
                f"rule {item.get('name')!r}: unknown key {unknown[0]!r}; a rule has "
                f"{', '.join(_RULE_KEYS)}", source, _line_of(item_node, unknown))
        rule = rule_from(item.get("name"), item.get("expression"), item.get("severity", "error"),
                         item.get("description", ""), item.get("scope"), where=(source, line))
        if rule.name in seen:
            raise ComplianceRulesError(f"rule {rule.name!r} is declared twice (first on line "
                                       f"{seen[rule.name]}); rename one", source, line)
        seen[rule.name] = line
        rules.append(rule)
    return tuple(rules)


def load_rules_file(path: Path) -> tuple[ComplianceRule, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ComplianceRulesError("the rules file does not exist; check rules_path",
                                   str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ComplianceRulesError(f"cannot read the rules file: {exc}", str(path)) from None
    return load_rules(text, str(path))


def rules_from_objects(items: Iterable[Any], source: str = "<rules>") -> tuple[ComplianceRule, ...]:
    """Rules given in code: ``ComplianceRule``s or mappings with the YAML keys."""
    rules: list[ComplianceRule] = []
    for item in items:
        if isinstance(item, ComplianceRule):
            rules.append(item)
        elif isinstance(item, Mapping):
            unknown = sorted(set(item) - set(_RULE_KEYS))
            if unknown:
                raise ComplianceRulesError(f"rule {item.get('name')!r}: unknown key "
                                           f"{unknown[0]!r}; a rule has "
                                           f"{', '.join(_RULE_KEYS)}", source)
            rules.append(rule_from(item.get("name"), item.get("expression"),
                                   item.get("severity", "error"), item.get("description", ""),
                                   item.get("scope"), where=(source, None)))
        else:
            raise ComplianceRulesError(f"a rule is a ComplianceRule or a mapping, got "
                                       f"{type(item).__name__}", source)
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ComplianceRulesError(f"rule {twice[0]!r} is declared twice; rename one", source)
    return tuple(rules)


def _value_node(mapping: Any, key: str) -> Any:
    return next(v for k, v in mapping.value if getattr(k, "value", None) == key)


def _line_of(mapping: Any, keys: list[str]) -> int:
    """The line of the first of ``keys`` in a mapping node (else the mapping's own line)."""
    for k, _ in getattr(mapping, "value", ()):
        if keys and getattr(k, "value", None) == keys[0]:
            return int(k.start_mark.line) + 1
    return int(mapping.start_mark.line) + 1
