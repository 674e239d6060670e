"""ComplianceRules: YAML rules (a file or a string) as CEL expressions over each row or the
metrics; violations listed with their values; error severity fails the step as DATA_QUALITY;
every malformed rules document is an error with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from calc_runs import run_after_load

from engine import (
    ComplianceRule,
    ComplianceRules,
    ComplianceRulesError,
    ErrorCategory,
    RuleSeverity,
    RunStatus,
    Step,
    WorkflowResult,
)

POSITIONS = [
    {"ticker": "AAA", "weight": 0.08, "sector": "tech"},
    {"ticker": "BBB", "weight": 0.14, "sector": "tech"},
    {"ticker": "CCC", "weight": None, "sector": "energy"},
    {"ticker": "DDD", "weight": 0.11, "sector": "banks"},
]
RISK = {"var_95": 0.021, "max_drawdown": -0.31, "sharpe": None}

RULES = """\
rules:
  - name: position_limit
    description: No position above 10% of the book
    expression: row.weight <= 0.10
    severity: error
  - name: energy_watch
    expression: row.sector != "energy"
    severity: warning
  - name: var_limit
    expression: metrics.var_95 <= params.var_limit
    severity: error
  - name: drawdown_limit
    expression: metrics.max_drawdown >= -0.25
    severity: info
"""


def run(rules: ComplianceRules, params: dict[str, Any] | None = None) -> WorkflowResult:
    return run_after_load("rules.test", Step.validate("check", rules),
                          {"positions": POSITIONS, "risk": RISK}, params)


def test_error_violations_fail_as_data_quality_listing_rows_and_values() -> None:
    rules = ComplianceRules(rules=RULES, input_ref="$.outputs.load.positions",
                            metrics_ref="$.outputs.load.risk")
    result = run(rules, {"var_limit": 0.02})
    step = result.steps["check"]
    assert step.status is RunStatus.FAILED
    assert step.category == ErrorCategory.DATA_QUALITY.value
    assert step.error is not None
    assert step.error.startswith("4 compliance violation(s) of error severity (6 in all): "
                                 "position_limit on row 1 (weight=0.14); position_limit on "
                                 "row 2 (weight=None)")
    output = step.output
    assert output["passed"] is False
    assert (output["errors"], output["warnings"], output["infos"]) == (4, 1, 1)
    assert output["checked_rows"] == 4
    assert {r["name"]: r["violations"] for r in output["rules"]} == {
        "position_limit": 3, "energy_watch": 1, "var_limit": 1, "drawdown_limit": 1}
    first, missing = output["violations"][:2]
    assert first == {"rule": "position_limit", "severity": "error", "reason": "false",
                     "row": 1, "values": {"weight": 0.14}}
    assert missing["row"] == 2 and missing["reason"].startswith("could not be evaluated")
    metric = next(v for v in output["violations"] if v["rule"] == "var_limit")
    assert metric == {"rule": "var_limit", "severity": "error", "reason": "false"}


def test_warnings_pass_and_fail_on_violation_false_reports_errors_only() -> None:
    warning_only = ComplianceRules(rules=[{"name": "energy_watch", "severity": "warn",
                                           "expression": 'row.sector != "energy"'}],
                                   input_ref="$.outputs.load.positions")
    result = run(warning_only)
    assert result.status is RunStatus.COMPLETED
    assert result.outputs["check"]["passed"] is True
    assert result.outputs["check"]["warnings"] == 1
    lenient = ComplianceRules(rules=RULES, input_ref="$.outputs.load.positions",
                              metrics_ref="$.outputs.load.risk", fail_on_violation=False)
    result = run(lenient, {"var_limit": 0.05})
    assert result.status is RunStatus.COMPLETED
    assert result.outputs["check"]["passed"] is False
    assert result.outputs["check"]["errors"] == 3


def test_max_listed_caps_the_list_not_the_counts() -> None:
    rules = ComplianceRules(rules=[ComplianceRule("positive", _expr("row.weight > 0.5"),
                                                  RuleSeverity.WARNING)],
                            input_ref="$.outputs.load.positions", max_listed=1)
    output = run(rules).outputs["check"]
    assert output["violation_count"] == 4 and len(output["violations"]) == 1


def _expr(text: str) -> Any:
    from engine import Expression

    return Expression(text)


def test_rules_file_relative_to_the_working_folder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "compliance").mkdir()
    (tmp_path / "compliance" / "sec_rules.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    rules = ComplianceRules(rules_path="compliance/sec_rules.yaml",
                            input_ref="$.outputs.load.positions",
                            metrics_ref="$.outputs.load.risk")
    assert rules.source == str(tmp_path / "compliance" / "sec_rules.yaml")
    assert [r.name for r in rules.loaded] == ["position_limit", "energy_watch", "var_limit",
                                              "drawdown_limit"]
    assert [r.scope for r in rules.loaded] == ["row", "row", "metrics", "metrics"]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("rules:\n  - name: a\n    expression: row.x > 1\n   severity: error\n", 4,
     "invalid YAML"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n  - name: b\n    severity: error\n", 4,
     "rule 'b' needs an 'expression'"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n    severty: error\n", 4,
     "unknown key 'severty'"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n  - name: b\n    expression: row.x >\n",
     4, "rule 'b': invalid expression"),
    ("rules:\n  - name: a\n    expression: rows.x > 1\n", 2, "unknown name 'rows'"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n    severity: fatalish\n", 2,
     "unknown severity 'fatalish'"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n  - name: a\n    expression: 'true'\n",
     4, "declared twice (first on line 2)"),
    ("rules:\n  - name: a\n    expression: true\n", 2, "not text; quote it"),
    ("policies:\n  - name: a\n", 1, "unknown key 'policies'"),
    ("rules: []\n", 1, "non-empty list"),
    ("# nothing here\n", 1, "the rules document is empty"),
    ("rules:\n  - name: a\n    expression: row.x > 1\n    scope: metrics\n", 2,
     "scope 'metrics' does not fit"),
])
def test_malformed_rules_files_fail_with_file_and_line(tmp_path: Path, text: str, line: int,
                                                       message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ComplianceRulesError) as caught:
        ComplianceRules(rules_path=path, input_ref="$.outputs.load.positions",
                        metrics_ref="$.outputs.load.risk")
    assert caught.value.source == str(path)
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_rule_setup_errors() -> None:
    with pytest.raises(ComplianceRulesError, match=r"rules \['position_limit', "
                                                   r"'energy_watch'\] read 'row' but no "
                                                   "input_ref"):
        ComplianceRules(rules=RULES, metrics_ref="$.outputs.load.risk")
    with pytest.raises(ComplianceRulesError, match="no metrics_ref names them"):
        ComplianceRules(rules=RULES, input_ref="$.outputs.load.positions")
    with pytest.raises(ValueError, match="rules_path .* or rules"):
        ComplianceRules(input_ref="$.outputs.load.positions")
    with pytest.raises(ComplianceRulesError, match="the rules file does not exist"):
        ComplianceRules(rules_path="no/such/rules.yaml", input_ref="$.outputs.x")
    with pytest.raises(TypeError, match="Step.validate takes ComplianceRules"):
        Step.validate("v", RULES)


def test_rules_string_errors_name_the_string_source() -> None:
    text = textwrap.dedent("""\
        rules:
          - name: ok
            expression: row.a > 1
          - name: broken
            expression: row.a >>> 1
        """)
    with pytest.raises(ComplianceRulesError, match=r"^<rules>:4: rule 'broken'"):
        ComplianceRules(rules=text, input_ref="$.outputs.load.positions")
