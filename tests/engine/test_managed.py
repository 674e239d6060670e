"""``ManagedWorkflow``, the workflow templates, ``@workflow_step`` and ``FeatureFlags``."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from engine import (
    DuplicateStepError,
    FeatureFlags,
    ManagedWorkflow,
    RunStatus,
    Step,
    StepResult,
    StepType,
    Workflow,
    WorkflowError,
    WorkflowRunner,
    WorkflowStepFunction,
    etl_pipeline,
    list_pipelines,
    register_pipeline,
    scheduled_batch,
    unregister_pipeline,
    workflow_step,
)


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore the process-wide flag registry and pipelines this module registers."""
    pipelines = set(list_pipelines())
    monkeypatch.setattr(FeatureFlags, "_flags", dict(FeatureFlags._flags))
    monkeypatch.setattr(FeatureFlags, "_values", dict(FeatureFlags._values))
    monkeypatch.setattr(FeatureFlags, "_overrides", {})
    yield
    for name in set(list_pipelines()) - pipelines:
        unregister_pipeline(name)


def greet(name: str = "World") -> dict[str, Any]:
    return {"message": f"Hello, {name}!"}


def shout(message: str = "") -> dict[str, Any]:
    return {"shouted": message.upper()}


def explode() -> dict[str, Any]:
    raise RuntimeError("disk full")


@workflow_step(name="extract_csv", config={"path": "a.csv"})
def extract_csv(path: str) -> dict[str, Any]:
    """Read the CSV file."""
    return {"records": [{"cik": "1"}, {"cik": ""}, {"cik": "3"}], "source": path}


@workflow_step(name="validate_records")
def validate_records(records: list[dict[str, str]]) -> dict[str, Any]:
    valid = [r for r in records if r.get("cik")]
    return {"valid_records": valid, "rejected": len(records) - len(valid)}


@workflow_step
def load_to_db(valid_records: list[dict[str, str]]) -> dict[str, Any]:
    return {"inserted": len(valid_records)}


@workflow_step(name="validate_report")
def validate_report(rows: int = 0) -> dict[str, Any]:
    return {"valid": rows > 0}


@workflow_step(name="send_email")
def send_email(report: str = "", valid: bool = False) -> dict[str, Any]:
    return {"sent": valid, "subject": report}


def generate_daily(report_date: str = "today") -> dict[str, Any]:
    return {"report": f"P&L for {report_date}", "rows": 42}


def hello() -> ManagedWorkflow:
    return (ManagedWorkflow("hello.world")
            .step("greet", greet, config={"name": "spine"})
            .step("shout", shout))


# --------------------------------------------------------------------------- ManagedWorkflow
def test_build_run_and_outputs_follow_the_spec_example() -> None:
    wf = hello().build()
    result = wf.run()
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {"greet": {"message": "Hello, spine!"},
                              "shout": {"shouted": "HELLO, SPINE!"}}
    assert wf.last_result is result
    assert [s.step_type for s in wf.steps] == [StepType.FUNCTION, StepType.FUNCTION]


def test_run_params_reach_functions_below_config() -> None:
    wf = ManagedWorkflow("p").step("greet", greet)
    assert wf.run({"name": "param"}).outputs["greet"] == {"message": "Hello, param!"}


def test_build_validates_and_freezes() -> None:
    wf = ManagedWorkflow("dup").step("a", greet).step("a", shout)
    with pytest.raises(DuplicateStepError):
        wf.build()
    built = hello().build()
    assert built.build() is built and isinstance(built.workflow, Workflow)
    with pytest.raises(WorkflowError, match="already built"):
        built.step("late", greet)


def test_db_makes_runs_persistent(tmp_path) -> None:
    from engine import RunStore

    db = tmp_path / "runs.db"
    wf = ManagedWorkflow("x", db=str(db)).step("a", greet).build()
    result = wf.run()
    run = RunStore(db).get_run(result.run_id)
    assert run.workflow == "x" and run.status == "completed"
    assert run.source == "managed:x"


def test_summary_before_and_after_a_run() -> None:
    wf = hello()
    assert wf.summary() == "hello.world — 2 steps — not run yet"
    wf.run()
    lines = wf.summary().splitlines()
    assert lines[0].startswith("✅ hello.world — 2 steps — completed in ")
    assert lines[1] == '   ✅ greet  → {"message": "Hello, spine!"}'
    assert lines[2] == '   ✅ shout  → {"shouted": "HELLO, SPINE!"}'


def test_summary_shows_failures_with_category_and_skips() -> None:
    wf = ManagedWorkflow("boom").step("explode", explode).step("after", greet)
    result = wf.run()
    assert result.status is RunStatus.FAILED
    lines = wf.summary().splitlines()
    assert lines[0].startswith("❌ boom")
    assert lines[1] == "   ❌ explode  → failed: RuntimeError: disk full [INTERNAL]"
    assert lines[2] == "   ⏭ after    → skipped: not run: step 'explode' failed"


def test_long_outputs_are_cut_to_one_line() -> None:
    wf = ManagedWorkflow("long").step("big", lambda: {"text": "x" * 500})
    wf.run()
    line = wf.summary().splitlines()[1]
    assert line.endswith("…") and len(line) < 100


def test_show_prints_and_returns_the_summary() -> None:
    wf = hello()
    wf.run()
    out = io.StringIO()
    text = wf.show(file=out)
    assert out.getvalue() == text + "\n"
    assert text == wf.summary()


def test_managed_step_accepts_decorated_functions_and_policies() -> None:
    wf = ManagedWorkflow("dec").step("extract", extract_csv, config={"path": "b.csv"})
    assert wf.steps[0].handler is extract_csv.fn
    assert wf.run().outputs["extract"]["source"] == "b.csv"


# --------------------------------------------------------------------------- workflow_step
def test_decorated_function_is_still_callable_and_keeps_metadata() -> None:
    assert isinstance(extract_csv, WorkflowStepFunction)
    assert extract_csv("x.csv")["source"] == "x.csv"
    assert extract_csv.__name__ == "extract_csv" and extract_csv.__doc__ == "Read the CSV file."
    assert load_to_db.step_name == "load_to_db"
    assert "extract_csv" in repr(extract_csv)


def test_as_step_merges_decorator_and_call_config() -> None:
    step = extract_csv.as_step(config={"extra": 1}, depends_on=[])
    assert step.name == "extract_csv" and step.step_type is StepType.FUNCTION
    assert step.config == {"path": "a.csv", "extra": 1}
    assert step.depends_on == ()
    assert step.description == "Read the CSV file."
    assert extract_csv.as_step(name="other").name == "other"


# --------------------------------------------------------------------------- templates
def test_etl_pipeline_chains_extract_validate_transform_load() -> None:
    def transform(valid_records: list[dict[str, str]]) -> dict[str, Any]:
        return {"valid_records": [{**r, "t": True} for r in valid_records]}

    wf = etl_pipeline("csv.loader", extract=extract_csv, validate=validate_records,
                      transform=transform, load=load_to_db, domain="etl")
    assert wf.step_names() == ["extract_csv", "validate_records", "transform", "load_to_db"]
    assert wf.plan.edges() == [("extract_csv", "validate_records"),
                               ("validate_records", "transform"), ("transform", "load_to_db")]
    assert wf.tags == ["etl"] and wf.domain == "etl"
    result = WorkflowRunner().execute(wf)
    assert result.outputs["load_to_db"] == {"inserted": 2}
    assert result.outputs["validate_records"]["rejected"] == 1


def test_etl_pipeline_accepts_pipeline_names_steps_and_skips_missing_parts() -> None:
    register_pipeline("etl.extract", lambda ctx, config: StepResult.ok({"rows": 5}))
    wf = etl_pipeline("named", extract="etl.extract",
                      load=Step.from_function("store", lambda rows: {"stored": rows}))
    assert wf.step_names() == ["extract", "store"]
    assert wf.get_step("extract").pipeline_name == "etl.extract"
    assert WorkflowRunner().execute(wf).outputs["store"] == {"stored": 5}
    with pytest.raises(TypeError, match="template part 'load'"):
        etl_pipeline("bad", extract="etl.extract", load=42)  # type: ignore[arg-type]


def test_scheduled_batch_follows_the_spec_example() -> None:
    register_pipeline("reports.generate_daily", generate_daily)
    wf = scheduled_batch(name="daily.pnl_report", pipeline="reports.generate_daily",
                         validator=validate_report, notifier=send_email, domain="reporting",
                         description="Daily P&L report with email delivery")
    assert wf.step_names() == ["generate_daily", "validate_report", "send_email"]
    assert wf.schedule == "0 6 * * *"
    assert wf.tags == ["scheduled", "batch"] and wf.domain == "reporting"
    result = WorkflowRunner().execute(wf, {"report_date": "2024-03-01"})
    assert result.outputs["send_email"] == {"sent": True, "subject": "P&L for 2024-03-01"}


def test_scheduled_batch_takes_a_custom_schedule() -> None:
    wf = scheduled_batch("hourly", pipeline=generate_daily, schedule="0 * * * *")
    assert wf.step_names() == ["batch"] and wf.schedule == "0 * * * *"


# --------------------------------------------------------------------------- feature flags
def test_flag_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    FeatureFlags.register("test.new_parser", default=False, description="v2 parser")
    assert FeatureFlags.is_enabled("test.new_parser") is False
    monkeypatch.setenv(FeatureFlags.env_var("test.new_parser"), "yes")
    assert FeatureFlags.env_var("test.new_parser") == "SPINE_FEATURE_TEST_NEW_PARSER"
    assert FeatureFlags.is_enabled("test.new_parser") is True
    FeatureFlags.set("test.new_parser", False)
    assert FeatureFlags.is_enabled("test.new_parser") is False
    with FeatureFlags.override("test.new_parser", True):
        assert FeatureFlags.is_enabled("test.new_parser") is True
        with FeatureFlags.override("test.new_parser", False):
            assert FeatureFlags.is_enabled("test.new_parser") is False
        assert FeatureFlags.is_enabled("test.new_parser") is True
    assert FeatureFlags.is_enabled("test.new_parser") is False
    FeatureFlags.reset("test.new_parser")
    assert FeatureFlags.is_enabled("test.new_parser") is True  # back to the env value


def test_unknown_flag_and_bad_env_value_explain_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    FeatureFlags.register("test.known", default=True)
    with pytest.raises(KeyError, match="test.known"):
        FeatureFlags.is_enabled("test.unknown")
    with pytest.raises(KeyError, match="register"):
        FeatureFlags.set("test.unknown", True)
    monkeypatch.setenv("SPINE_FEATURE_TEST_KNOWN", "maybe")
    with pytest.raises(ValueError, match="not a boolean"):
        FeatureFlags.is_enabled("test.known")


def test_override_is_undone_when_the_block_raises() -> None:
    FeatureFlags.register("test.temp", default=False)
    with pytest.raises(RuntimeError), FeatureFlags.override("test.temp", True):
        raise RuntimeError("inside")
    assert FeatureFlags.is_enabled("test.temp") is False
    assert FeatureFlags.all()["test.temp"] is False


def test_flags_choose_steps_like_the_spec_example() -> None:
    FeatureFlags.register("use_new_parser", default=False)
    FeatureFlags.register("enable_enrichment", default=True)

    def build() -> Workflow:
        parser = "parse_v2" if FeatureFlags.is_enabled("use_new_parser") else "parse_v1"
        steps = [Step.from_function("fetch", lambda: {"data": {}}),
                 Step.from_function(parser, lambda: {"parser": parser})]
        if FeatureFlags.is_enabled("enable_enrichment"):
            steps.append(Step.from_function("enrich", lambda: {}))
        return Workflow("flagged", steps)

    assert build().step_names() == ["fetch", "parse_v1", "enrich"]
    with FeatureFlags.override("use_new_parser", True), \
            FeatureFlags.override("enable_enrichment", False):
        assert build().step_names() == ["fetch", "parse_v2"]


def test_overrides_from_threads_do_not_corrupt_the_registry() -> None:
    FeatureFlags.register("test.threads", default=False)
    errors: list[BaseException] = []

    def toggle() -> None:
        try:
            for _ in range(200):
                with FeatureFlags.override("test.threads", True):
                    FeatureFlags.is_enabled("test.threads")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=toggle) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert FeatureFlags.is_enabled("test.threads") is False
