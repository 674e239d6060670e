"""Spec §8's calculation steps in YAML: ``calculate``, ``risk``, ``aggregate`` and
``validate`` read and written by ``WorkflowSpec``, with ``file:line`` errors, rules files
found beside the YAML file, replayable stored versions and the CLI's export and validate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import (
    ComplianceRules,
    FinancialCalculation,
    LocalArtifactStore,
    RiskCalculation,
    RunStatus,
    Step,
    TimeSeriesAggregation,
    Workflow,
    WorkflowRunner,
    WorkflowSpec,
    WorkflowSpecError,
)
from engine.store.runs import RunStore
from engine.versions import WorkflowVersionStore

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_workflows" / "calculations_pipeline.yaml"
RULES = ROOT / "sample_workflows" / "_financial_calculations_rules.yaml"
DATA = ROOT / "sample_workflows" / "data"

RULES_TEXT = """\
rules:
  - name: leverage_limit
    expression: row.debt_to_equity == null || row.debt_to_equity <= 2.5
  - name: var_limit
    expression: metrics.var_95 <= 0.03
    severity: warning
"""


def doc(steps: str, name: str = "t.calc") -> str:
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "    ")
    return (f"apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: {name}\n"
            f"spec:\n  steps:\n{body}\n")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def spec_error(text: str, source: str = "calc.yaml") -> WorkflowSpecError:
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_yaml(text, source=source).to_workflow()
    return info.value


def every_calculation() -> Workflow:
    """Each calculation class with non-default settings, rules given three ways."""
    return Workflow("calc.every_kind", [
        Step.calculate("ratios", FinancialCalculation(
            metrics=["debt_to_equity", "quick_ratio"], input_ref="$.artifacts.financials",
            group_by=["company_id"], columns={"debt": "total_debt"},
            aggregate={"cash": "last"}, output_format="records"), depends_on=[],
            timeout_seconds=30, config={"note": "kept"}),
        Step.calculate("risk", RiskCalculation(
            returns_ref="$.outputs.load.returns", metrics=["var_99", "sharpe_ratio", "beta"],
            benchmark="market", lookback_days=None, risk_free_rate=0.02,
            periods_per_year=12), description="monthly risk"),
        Step.aggregate("returns", TimeSeriesAggregation(
            input_ref="$.artifacts.prices", value_columns=["close"],
            operations=["pct_change", "rolling_std_5"], group_by=["ticker"], period="Q"),
            skip_if="params.skip_returns"),
        Step.validate("check_file", ComplianceRules(
            rules_path=str(RULES), input_ref="$.artifacts.ratios",
            metrics_ref="$.outputs.risk.metrics")),
        Step.validate("check_text", ComplianceRules(
            rules=RULES_TEXT, input_ref="$.artifacts.ratios",
            metrics_ref="$.outputs.risk.metrics", fail_on_violation=False, max_listed=3)),
        Step.validate("check_list", ComplianceRules(
            rules=[{"name": "cover", "expression": "metrics.sharpe >= 0",
                    "severity": "info", "description": "positive"}],
            metrics_ref="$.outputs.risk.metrics")),
    ])


def test_every_calculation_round_trips_through_yaml() -> None:
    workflow = every_calculation()

    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    again = WorkflowSpec.from_yaml(text).to_workflow()

    assert again.steps == workflow.steps
    assert again.to_dict() == workflow.to_dict()
    ratios = again.get_step("ratios").handler
    assert isinstance(ratios, FinancialCalculation)
    assert (ratios.columns, ratios.aggregate, ratios.output_format) == (
        {"debt": "total_debt"}, {"cash": "last"}, "records")
    assert again.get_step("ratios").config == {"note": "kept"}
    risk = again.get_step("risk").handler
    assert (risk.lookback_days, risk.periods_per_year, risk.metrics) == (
        None, 12, ("var_99", "sharpe_ratio", "beta"))
    assert again.get_step("risk").description == "monthly risk"
    assert again.get_step("returns").skip_if.text == "params.skip_returns"
    # only what differs from a class's defaults is written; a rules file stays a path
    spec = WorkflowSpec.from_yaml(text).to_dict()
    steps = {s["name"]: s for s in spec["spec"]["steps"]}
    assert steps["risk"]["risk"] == {
        "returns_ref": "$.outputs.load.returns", "metrics": ["var_99", "sharpe_ratio", "beta"],
        "lookback_days": None, "risk_free_rate": 0.02, "periods_per_year": 12,
        "benchmark": "market"}
    assert steps["check_file"]["validate"]["rules"] == str(RULES)
    assert [r["name"] for r in steps["check_text"]["validate"]["rules"]] == [
        "leverage_limit", "var_limit"]
    assert "description" not in steps["ratios"]  # the default one is derived again
    assert "aggregate:\n" in text and "validate:\n" in text and "calculate:\n" in text


def test_a_yaml_rules_path_starts_from_the_yaml_files_folder(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    folder = tmp_path / "flows"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "limits.yaml").write_text(RULES_TEXT)
    (folder / "check.yaml").write_text(doc("""
        - name: check
          validate: {rules: rules/limits.yaml, input_ref: $.params.rows,
                     metrics_ref: $.params.metrics}
        """))
    monkeypatch.chdir(tmp_path)  # not the YAML's folder

    wf = WorkflowSpec.from_file(folder / "check.yaml").to_workflow()

    rules = wf.get_step("check").handler
    assert isinstance(rules, ComplianceRules)
    assert rules.source == str((folder / "rules" / "limits.yaml").resolve())
    assert [r.name for r in rules.loaded] == ["leverage_limit", "var_limit"]
    result = WorkflowRunner().execute(wf, {"rows": [{"debt_to_equity": 3.1}],
                                           "metrics": {"var_95": 0.05}})
    assert result.status is RunStatus.FAILED
    output = result.steps["check"].output
    assert (output["errors"], output["warnings"]) == (1, 1)
    assert output["violations"][0]["values"] == {"debt_to_equity": 3.1}


@pytest.mark.parametrize(("steps", "needle", "message"), [
    ("- name: r\n  calculate:\n    metrics: [debt_to_equity, ebitda_magic]\n"
     "    input_ref: $.artifacts.x\n", "metrics:",
     "unknown metric 'ebitda_magic'; known metrics: altman_z"),
    ("- name: r\n  calculate:\n    metrics: [var_95]\n    input_ref: $.artifacts.x\n",
     "metrics:", "'var_95' is a risk metric over a returns series; compute it with "
     "RiskCalculation"),
    ("- name: r\n  risk:\n    prices_ref: $.artifacts.p\n    metrics: [var_95, omega]\n",
     "metrics:", "unknown risk metric 'omega'"),
    ("- name: r\n  aggregate:\n    input_ref: $.artifacts.p\n    value_columns: [close]\n"
     "    operations: [rolling_median_5]\n", "operations:", "unknown operation "
     "'rolling_median_5'"),
    ("- name: r\n  aggregate:\n    input_ref: $.artifacts.p\n    value_columns: [close]\n"
     "    period: fortnight\n", "period:", "unknown period 'fortnight'"),
    ("- name: r\n  calculate:\n    metrics: [roic]\n    input_ref: artifacts.x\n",
     "input_ref:", "'artifacts.x' is not a run reference"),
    ("- name: r\n  calculate:\n    metrics: [roic]\n    input: $.artifacts.x\n",
     "calculate:", "unknown key 'input'; did you mean 'input_ref'?"),
    ("- name: r\n  risk:\n    metrics: [var_95]\n", "risk:",
     "give prices_ref (with or without portfolio_ref) or returns_ref"),
    ("- name: r\n  validate:\n    metrics_ref: $.params.m\n    rules:\n"
     "      - name: a\n        expression: metrics.x <=\n", "- name: a",
     "rule 'a':"),
    ("- name: r\n  validate:\n    rules:\n      - name: a\n        expression: row.x > 1\n",
     "rules:", "rules ['a'] read 'row' but no input_ref names the rows to check"),
    ("- name: r\n  calculate:\n    metrics: [roic]\n    input_ref: $.artifacts.x\n"
     "  on_failure: nope\n", "on_failure:", "expected a 'module:qualname' reference"),
])
def test_bad_values_are_errors_at_their_line(steps: str, needle: str, message: str) -> None:
    text = doc(steps)
    err = spec_error(text)
    assert message in err.detail
    assert err.line == line_of(text, needle), err
    assert str(err).startswith(f"calc.yaml:{err.line}: ")


def test_a_bad_rules_file_names_its_own_line_and_the_workflows(tmp_path: Path) -> None:
    (tmp_path / "bad_rules.yaml").write_text(
        "rules:\n  - name: ok\n    expression: row.x > 0\n  - name: broken\n"
        "    expression: row.x >>> 1\n")
    workflow = tmp_path / "flow.yaml"
    text = doc("""
        - name: check
          validate:
            input_ref: $.params.rows
            rules: bad_rules.yaml
        """)
    workflow.write_text(text)

    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_file(workflow).to_workflow()

    err = info.value
    assert (err.source, err.line) == (str(workflow), line_of(text, "rules:"))
    assert f"rules ({tmp_path / 'bad_rules.yaml'}:4): rule 'broken':" in err.detail

    (tmp_path / "flow2.yaml").write_text(text.replace("bad_rules.yaml", "missing.yaml"))
    with pytest.raises(WorkflowSpecError, match="the rules file does not exist"):
        WorkflowSpec.from_file(tmp_path / "flow2.yaml").to_workflow()


def test_json_schema_describes_the_calculation_keys() -> None:
    defs = WorkflowSpec.json_schema()["$defs"]
    assert set(defs["CalculateSpec"]["properties"]) == {
        "metrics", "input_ref", "group_by", "columns", "aggregate", "output_format"}
    assert defs["CalculateSpec"]["required"] == ["metrics", "input_ref"]
    assert set(defs["RiskSpec"]["properties"]) == {
        f.name for f in RiskCalculation.__dataclass_fields__.values()}
    assert set(defs["AggregateSpec"]["properties"]) == {
        f.name for f in TimeSeriesAggregation.__dataclass_fields__.values()}
    assert set(defs["ValidateSpec"]["properties"]) == {
        "rules", "input_ref", "metrics_ref", "fail_on_violation", "max_listed"}
    assert set(defs["RuleSpec"]["properties"]) == {"name", "expression", "severity",
                                                   "description", "scope"}


def run_sample(workflow: Workflow, artifacts: Path) -> dict:
    result = WorkflowRunner(artifact_store=LocalArtifactStore(artifacts)).execute(workflow)
    assert result.status is RunStatus.COMPLETED, result.error
    return dict(result.outputs)


def test_the_yaml_sample_computes_what_the_python_sample_does(tmp_path: Path) -> None:
    wf = WorkflowSpec.from_file(SAMPLE).to_workflow()

    outputs = run_sample(wf, tmp_path / "artifacts")

    assert outputs["financials"]["row_count"] == 9 and outputs["prices"]["row_count"] == 516
    assert outputs["compute_ratios"]["row_count"] == 7  # company-years, segments summed
    risk = outputs["portfolio_risk"]
    assert risk["holdings"] == 3 and risk["observations"] == 128
    assert 0.0 < risk["metrics"]["var_95"] < 0.03
    check = outputs["check_compliance"]
    assert (check["passed"], check["errors"], check["warnings"]) == (True, 0, 5)
    assert {r["period"] for r in outputs["monthly_returns"]["rows"]} == {
        f"2024-0{m}" for m in range(1, 7)}


def test_a_published_calculation_workflow_is_replayable_and_reruns(tmp_path: Path) -> None:
    wf = WorkflowSpec.from_file(SAMPLE).to_workflow()
    versions = WorkflowVersionStore(tmp_path / "spine.db")
    try:
        info = versions.publish(wf, source=str(SAMPLE))
        assert info.replayable
        stored = versions.get(wf.name, info.version)
        rebuilt = stored.to_workflow()
    finally:
        versions.db.close()

    assert rebuilt.steps == wf.steps
    assert "calculate:" in stored.to_yaml() and "validate:" in stored.to_yaml()
    first = run_sample(wf, tmp_path / "a1")
    again = run_sample(rebuilt, tmp_path / "a2")
    assert again["portfolio_risk"] == first["portfolio_risk"]
    assert again["check_compliance"] == first["check_compliance"]


def test_a_tracked_run_records_a_replayable_version_that_reruns_elsewhere(
        tmp_path: Path) -> None:
    """A run's stored version rebuilds in another process, from another working folder."""
    db = tmp_path / "spine.db"
    env = {**os.environ, "SPINE_DB": str(db), "SPINE_HOME": str(tmp_path / "home")}
    ran = subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", "run", str(SAMPLE),
                          "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    store = RunStore(db)
    try:
        record = store.get_run(run_id)
        info = WorkflowVersionStore(store.db).get(record.workflow, record.version)
        assert info.replayable
        definition = json.dumps(info.definition)
    finally:
        store.close()
    assert str(DATA / "calc_prices.csv") in definition  # absolute: readable from anywhere

    script = textwrap.dedent(f"""
        import json
        from engine import LocalArtifactStore, WorkflowRunner
        from engine.versions import WorkflowVersionStore
        info = WorkflowVersionStore({str(db)!r}).get({record.workflow!r}, {record.version})
        result = WorkflowRunner(artifact_store=LocalArtifactStore("art")).execute(
            info.to_workflow())
        print(json.dumps({{"status": result.status.value,
                          "risk": result.outputs["portfolio_risk"]["metrics"]}}))
    """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    replay = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True,
                            text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT)})
    assert replay.returncode == 0, replay.stderr
    replayed = json.loads(replay.stdout.strip().splitlines()[-1])
    assert replayed["status"] == "completed"
    assert replayed["risk"] == json.loads(ran.stdout)["outputs"]["portfolio_risk"]["metrics"]


def cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spine_tui.engine_cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SPINE_DEBUG": ""})


def test_cli_validates_and_exports_calculation_steps(tmp_path: Path) -> None:
    checked = cli("validate", str(SAMPLE), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    exported = cli("export", "finance.calculations_yaml", "--paths", str(SAMPLE), "--yaml",
                   cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    spec = WorkflowSpec.from_yaml(exported.stdout)
    assert spec == WorkflowSpec.from_workflow(WorkflowSpec.from_file(SAMPLE).to_workflow())
    assert "risk:\n" in exported.stdout and f"rules: {RULES}" in exported.stdout

    python_sample = cli("export", "finance.calculations", "--yaml", cwd=tmp_path)
    assert python_sample.returncode == 0, python_sample.stderr
    assert "calculate:\n" in python_sample.stdout and "lambda: " in python_sample.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(SAMPLE.read_text().replace("net_margin,", "net_margn,"))
    refused = cli("validate", str(bad), cwd=tmp_path)
    assert refused.returncode == 2
    out = refused.stdout + refused.stderr
    assert f"bad.yaml:{line_of(bad.read_text(), 'net_margn')}: " in out
    assert "unknown metric 'net_margn'" in out
