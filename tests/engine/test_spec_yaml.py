"""``WorkflowSpec``: spine.io/v1 YAML documents to runtime workflows and back, and bad input."""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from engine import (
    ConcurrencyPolicy,
    ErrorPolicy,
    ExecutionMode,
    ManagedWorkflow,
    RetryPolicy,
    RunStatus,
    Step,
    StepType,
    Workflow,
    WorkflowExecutionPolicy,
    WorkflowRunner,
    WorkflowSpecError,
)
from engine.spec import WorkflowSpec
from engine.steps import ApprovalGate
from engine.workflow import OnConflict

RESOURCES = Path(__file__).resolve().parents[1] / "resources"

I4_YAML = """
apiVersion: spine.io/v1
kind: Workflow
metadata:
  name: etl.sec_filings
  domain: sec
  description: Daily SEC filing ingestion pipeline
  tags: [sec, etl, daily]
spec:
  steps:
    - name: fetch
      pipeline: sec.fetch_filings
      config:
        form_type: "10-K"
    - name: validate
      pipeline: sec.validate_filings
      depends_on: [fetch]
      on_error: continue
    - name: normalize
      pipeline: sec.normalize_filings
      depends_on: [validate]
    - name: store
      pipeline: sec.store_filings
      depends_on: [normalize]
  policy:
    execution: parallel
    max_concurrency: 4
    on_failure: stop
"""


@pytest.fixture(autouse=True)
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``yaml_handlers`` importable by the ``module:qualname`` refs the documents use."""
    monkeypatch.syspath_prepend(str(RESOURCES))
    import yaml_handlers

    yield yaml_handlers


def doc(steps: str, extra: str = "", name: str = "t.flow") -> str:
    """A spine.io/v1 document around an indented ``steps:`` block."""
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "    ")
    return (f"apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: {name}\n"
            f"spec:\n  steps:\n{body}\n{extra}")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def spec_error(text: str, source: str = "flow.yaml") -> WorkflowSpecError:
    """The error from parsing and converting ``text`` (fails the test when there is none)."""
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_yaml(text, source=source).to_workflow()
    assert info.value.source == source
    return info.value


# ------------------------------------------------------------------------------- spec I4
def test_i4_document_parses_and_converts() -> None:
    spec = WorkflowSpec.from_yaml(I4_YAML)
    wf = spec.to_workflow()

    assert (wf.name, wf.domain, wf.tags) == ("etl.sec_filings", "sec", ["sec", "etl", "daily"])
    assert wf.description == "Daily SEC filing ingestion pipeline"
    assert [s.step_type for s in wf.steps] == [StepType.PIPELINE] * 4
    assert [s.pipeline_name for s in wf.steps] == [
        "sec.fetch_filings", "sec.validate_filings", "sec.normalize_filings", "sec.store_filings"]
    assert wf.execution_policy == WorkflowExecutionPolicy(ExecutionMode.PARALLEL, 4,
                                                          ErrorPolicy.STOP)
    assert wf.get_step("validate").on_error is ErrorPolicy.CONTINUE
    assert wf.get_step("fetch").on_error is ErrorPolicy.STOP
    assert wf.get_step("fetch").config == {"form_type": "10-K"}
    assert wf.get_step("fetch").depends_on is None
    assert wf.get_step("store").depends_on == ("normalize",)


def test_i4_round_trip_runtime_spec_yaml_spec_runtime() -> None:
    workflow = WorkflowSpec.from_yaml(I4_YAML).to_workflow()
    spec2 = WorkflowSpec.from_workflow(workflow)
    yaml_output = spec2.to_yaml()
    spec3 = WorkflowSpec.from_yaml(yaml_output)
    workflow2 = spec3.to_workflow()

    assert spec3 == spec2
    assert workflow2.name == workflow.name
    assert workflow2.steps == workflow.steps
    assert workflow2.to_dict() == workflow.to_dict()
    assert "tags: [sec, etl, daily]" in yaml_output
    assert "depends_on: [fetch]" in yaml_output


def test_hand_written_document_exports_only_what_it_declares() -> None:
    spec = WorkflowSpec.from_yaml(I4_YAML)
    out = spec.to_yaml()

    assert WorkflowSpec.from_yaml(out) == spec
    for absent in ("timeout_seconds", "retry", "wait_for_completion", "defaults", "schedule",
                   "version"):
        assert absent not in out
    assert out.startswith("apiVersion: spine.io/v1\nkind: Workflow\n")


# --------------------------------------------------------------------------- round trip
def every_kind_workflow(h: ModuleType) -> Workflow:
    """A workflow using every step kind, a retry policy and both ``depends_on`` forms."""
    retry = RetryPolicy(max_attempts=5, initial_delay_seconds=0.5, backoff_multiplier=3.0,
                        max_delay_seconds=10.0, retryable_categories=("TRANSIENT", "TIMEOUT"))
    return Workflow(
        "yaml.every_kind",
        [
            Step.lambda_("extract", h.extract, config={"n": 4}, depends_on=[],
                         on_error=ErrorPolicy.RETRY, retry_policy=retry, timeout_seconds=30),
            Step.from_function("total", h.total, config={"factor": 10}),
            Step.map("squares", items_path="$.outputs.extract.items", max_concurrency=2,
                     partition_by="group", depends_on=["extract"],
                     iterator_steps=[Step.lambda_("square", h.square),
                                     Step.from_function("label", h.label,
                                                        depends_on=["square"])]),
            Step.workflow("child", "yaml.child", params={"total": "$.outputs.total.total"},
                          wait=False, inherit_context=False, timeout_seconds=None,
                          depends_on=["total", "squares"]),
            Step.workflow("child_default", "yaml.child"),
            Step.pipeline("publish", "yaml.publish", config={"target": "db"},
                          on_error=ErrorPolicy.CONTINUE, description="publish the total"),
            Step.wait("pause", 0.5, depends_on=[]),
            Step.lambda_("echo", h.Handlers.echo, config={"a": [1, 2]}, depends_on=["pause"]),
            h.decorated.as_step(),
        ],
        domain="testing", description="every step kind", version=3, tags=["yaml", "test"],
        defaults={"region": "eu"}, schedule="0 6 * * *",
        execution_policy=WorkflowExecutionPolicy(ExecutionMode.PARALLEL, 8, ErrorPolicy.CONTINUE),
    )


def test_every_step_kind_round_trips_losslessly(handlers: ModuleType) -> None:
    workflow = every_kind_workflow(handlers)

    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    workflow2 = WorkflowSpec.from_yaml(text).to_workflow()

    assert workflow2.steps == workflow.steps  # handlers re-imported are the same functions
    assert workflow2.to_dict() == workflow.to_dict()
    assert (workflow2.version, workflow2.defaults, workflow2.schedule) == (3, {"region": "eu"},
                                                                          "0 6 * * *")
    assert workflow2.execution_policy == workflow.execution_policy
    assert workflow2.get_step("total").depends_on is None
    assert workflow2.get_step("pause").depends_on == ()
    assert workflow2.get_step("extract").retry_policy == workflow.get_step("extract").retry_policy
    child = workflow2.get_step("child")
    assert (child.params, child.wait_for_child, child.inherit_context, child.timeout_seconds) == (
        {"total": "$.outputs.total.total"}, False, False, None)
    assert workflow2.get_step("child_default").timeout_seconds == 600
    assert workflow2.get_step("decorated").handler is handlers.decorated.fn
    assert "lambda: yaml_handlers:extract" in text
    assert "function: yaml_handlers:total" in text
    assert "lambda: yaml_handlers:Handlers.echo" in text


def test_managed_workflow_exports_its_function_steps(handlers: ModuleType) -> None:
    managed = (ManagedWorkflow("yaml.managed").step("extract", handlers.extract)
               .step("total", handlers.total, config={"factor": 2}).build())

    wf = WorkflowSpec.from_yaml(WorkflowSpec.from_workflow(managed).to_yaml()).to_workflow()

    assert wf.steps == managed.workflow.steps
    assert wf.get_step("total").handler is handlers.total


def test_depends_on_absent_and_empty_stay_distinct_in_yaml() -> None:
    text = doc("""
        - name: a
          pipeline: p.a
        - name: b
          pipeline: p.b
        - name: c
          pipeline: p.c
          depends_on: []
    """)
    wf = WorkflowSpec.from_yaml(text).to_workflow()
    assert [s.depends_on for s in wf.steps] == [None, None, ()]
    assert wf.dependencies("b") == ["a"] and wf.dependencies("c") == []

    out = WorkflowSpec.from_workflow(wf).to_yaml()
    assert out.count("depends_on") == 1 and "depends_on: []" in out
    assert [s.depends_on for s in WorkflowSpec.from_yaml(out).to_workflow().steps] == [
        None, None, ()]


def test_sub_workflow_timeout_absent_uses_the_step_default_and_null_means_none() -> None:
    wf = WorkflowSpec.from_yaml(doc("""
        - name: default
          workflow: child.flow
        - name: unlimited
          workflow: child.flow
          timeout_seconds: null
        - name: short
          workflow: child.flow
          timeout_seconds: 5
          wait_for_completion: false
          params: {day: $.params.day}
    """)).to_workflow()
    assert [s.timeout_seconds for s in wf.steps] == [600, None, 5]
    assert wf.get_step("short").wait_for_child is False
    assert wf.get_step("short").params == {"day": "$.params.day"}
    again = WorkflowSpec.from_yaml(WorkflowSpec.from_workflow(wf).to_yaml()).to_workflow()
    assert again.steps == wf.steps


def test_pipelines_and_sub_workflows_are_not_looked_up_at_conversion() -> None:
    wf = WorkflowSpec.from_yaml(doc("""
        - name: a
          pipeline: nobody.registered.this
        - name: b
          workflow: no.such.workflow
    """)).to_workflow()
    assert wf.pipeline_names() == ["nobody.registered.this"]
    assert wf.workflow_names() == ["no.such.workflow"]


def test_yaml_workflow_runs_with_its_imported_handlers() -> None:
    text = doc("""
        - name: extract
          lambda: yaml_handlers:extract
          config: {n: 4}
        - name: total
          function: yaml_handlers:total
          config: {factor: 10}
        - name: squares
          depends_on: [extract]
          map:
            items_path: $.outputs.extract.items
            max_concurrency: 2
            steps:
              - name: square
                lambda: yaml_handlers:square
              - name: label
                function: yaml_handlers:label
        - name: pause
          wait: {duration_seconds: 0}
    """)
    wf = WorkflowSpec.from_yaml(text).to_workflow()
    assert wf.get_step("extract").description == "Produce n numbered items."

    result = WorkflowRunner().execute(wf)

    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["total"] == {"total": 100}
    assert result.outputs["squares"]["results"] == [
        {"label": f"sq={v * v}"} for v in (1, 2, 3, 4)]


def test_from_file_reads_a_document_and_names_the_file_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "i4.yaml"
    good.write_text(I4_YAML, encoding="utf-8")
    assert WorkflowSpec.from_file(good).to_workflow().name == "etl.sec_filings"

    bad = tmp_path / "bad.yaml"
    text = I4_YAML.replace("on_error: continue", "on_error: carry_on")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_file(bad)
    line = line_of(text, "carry_on")
    assert (info.value.source, info.value.line) == (str(bad), line)
    assert str(info.value).startswith(f"{bad}:{line}: spec.steps[1].on_error")

    with pytest.raises(WorkflowSpecError, match="cannot read") as missing:
        WorkflowSpec.from_file(tmp_path / "nope.yaml")
    assert missing.value.source == str(tmp_path / "nope.yaml")


# ------------------------------------------------------------------- export limitations
def _closure() -> Step:
    def nested(ctx: object, config: object) -> dict[str, int]:
        return {}

    return Step.lambda_("nested_step", nested)


@pytest.mark.parametrize("step", [
    Step.lambda_("inline_step", lambda ctx, config: {}),
    _closure(),
], ids=["lambda", "closure"])
def test_from_workflow_rejects_handlers_yaml_cannot_refer_to(step: Step) -> None:
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_workflow(Workflow("yaml.inline", [step]))
    assert repr(step.name) in str(info.value)
    assert "module level" in str(info.value)


def test_from_workflow_rejects_a_handler_without_an_importable_name(
        handlers: ModuleType) -> None:
    step = Step.lambda_("partial_step", functools.partial(handlers.extract))
    with pytest.raises(WorkflowSpecError, match="'partial_step'.*cannot be imported back"):
        WorkflowSpec.from_workflow(Workflow("yaml.partial", [step]))


def test_to_yaml_rejects_config_that_is_not_plain_data() -> None:
    spec = WorkflowSpec.from_workflow(
        Workflow("yaml.objects", [Step.pipeline("a", "p.a", config={"conn": object()})]))
    with pytest.raises(WorkflowSpecError, match="plain data"):
        spec.to_yaml()


# ----------------------------------------------------------------------- bad documents
def test_malformed_yaml_reports_the_problem_line() -> None:
    text = doc("""
        - name: one
          pipeline: [unclosed
        - name: two
          pipeline: p.two
    """)
    err = spec_error(text)
    assert err.line == line_of(text, "- name: two")
    assert "invalid YAML" in err.detail
    assert f"started on line {line_of(text, '[unclosed')}" in err.detail


def test_bad_indentation_reports_its_line() -> None:
    text = "apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: x\n   description: y\n"
    err = spec_error(text)
    assert err.line == 5 and "mapping values are not allowed" in err.detail


def test_duplicate_key_is_rejected_at_the_second_occurrence() -> None:
    text = doc("""
        - name: a
          pipeline: p.a
          pipeline: p.b
    """)
    err = spec_error(text)
    assert err.line == line_of(text, "pipeline: p.b")
    assert f"'pipeline' appears twice in one mapping (first on line {err.line - 1})" in err.detail


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("- just\n- a list\n", 1, "got a list"),
    ("# a comment\nhello\n", 2, "got a str"),
    ("", 1, "the document is empty"),
    ("# nothing but a comment\n", 1, "the document is empty"),
])
def test_a_document_that_is_not_a_mapping(text: str, line: int, fragment: str) -> None:
    err = spec_error(text)
    assert err.line == line and fragment in err.detail


@pytest.mark.parametrize(("old", "new", "message"), [
    ("apiVersion: spine.io/v1", "apiVersion: spine.io/v2",
     "apiVersion is 'spine.io/v2'; expected 'spine.io/v1'"),
    ("kind: Workflow", "kind: Pipeline", "kind is 'Pipeline'; expected 'Workflow'"),
    ("apiVersion: spine.io/v1", "# no version", "missing apiVersion; add 'apiVersion: spine.io/v1'"),
])
def test_wrong_api_version_or_kind_says_what_is_expected(old: str, new: str,
                                                         message: str) -> None:
    text = "# header comment\n" + doc("- name: a\n  pipeline: p.a\n").replace(old, new)
    err = spec_error(text)
    assert message in err.detail
    assert err.line == (line_of(text, new) if "missing" not in message else 1)


SCHEMA_CASES = [
    # (steps block, extra top-level text, path, needle for the line, fragment of the message)
    ("- name: a\n  pipeline: p.a\n- name: b\n  pipeline: p.b\n- name: c\n  pipeline: p.c\n"
     "  on_error: sometimes\n", "", "spec.steps[2].on_error", "sometimes",
     "Input should be 'stop', 'continue' or 'retry' (got 'sometimes')"),
    ("- name: a\n  pipeline: p.a\n- name: b\n  pipeline: p.b\n  depend_on: [a]\n", "",
     "spec.steps[1].depend_on", "depend_on", "unknown key 'depend_on'; did you mean 'depends_on'?"),
    ("- name: a\n  pipeline: p.a\n- pipeline: p.b\n", "", "spec.steps[1].name", "pipeline: p.b",
     "missing required key 'name'"),
    ("- name: a\n  pipeline: p.a\n  lambda: yaml_handlers:extract\n", "", "spec.steps[0]",
     "name: a", "step 'a' needs exactly one of pipeline, workflow, lambda, function, map, wait, "
     "approval, calculate, risk, aggregate, validate, source, transform, sink (found pipeline, "
     "lambda)"),
    ("- name: a\n  config: {x: 1}\n", "", "spec.steps[0]", "name: a", "(found none)"),
    ("- name: a\n  pipeline: p.a\n  timeout_seconds: -5\n", "", "spec.steps[0].timeout_seconds",
     "-5", "Input should be greater than 0 (got -5)"),
    ("- name: a\n  pipeline: p.a\n  params: {x: 1}\n", "", "spec.steps[0]", "name: a",
     "params only apply to workflow steps; put a pipeline step's settings under config"),
    ("- name: a\n  lambda: not a ref\n", "", "spec.steps[0].lambda", "not a ref",
     "expected a 'module:qualname' reference"),
    ("- name: a\n  pipeline: p.a\n- name: b\n  pipeline: p.b\n  depends_on: a\n", "",
     "spec.steps[1].depends_on", "depends_on: a", "Input should be a valid list"),
    ("- name: a\n  pipeline: p.a\n  retry: {max_attempts: 0}\n", "",
     "spec.steps[0].retry.max_attempts", "max_attempts", "greater than or equal to 1"),
    ("- name: a\n  pipeline: p.a\n- name: m\n  map:\n    items_path: $.x\n    steps: []\n", "",
     "spec.steps[1].map.steps", "steps: []", "at least 1 item"),
    ("- name: m\n  map:\n    items_path: $.x\n    steps:\n      - name: i\n        pipeline: p\n"
     "        on_error: later\n", "", "spec.steps[0].map.steps[0].on_error", "later",
     "'stop', 'continue' or 'retry'"),
    ("- name: w\n  wait: {seconds: 3}\n", "", "spec.steps[0].wait.seconds", "seconds",
     "did you mean 'duration_seconds'?"),
    ("- name: a\n  pipeline: p.a\n", "  policy:\n    execution: fast\n", "spec.policy.execution",
     "fast", "Input should be 'sequential' or 'parallel'"),
    ("- name: a\n  pipeline: p.a\n", "  policy:\n    on_failure: retry\n",
     "spec.policy.on_failure", "on_failure", "Input should be 'stop' or 'continue'"),
    ("- name: a\n  pipeline: p.a\n", "  schedule: every day\n", "spec.schedule", "every day",
     "'every day' is not a valid cron expression"),
    ("- name: a\n  pipeline: p.a\n", "labels: {a: b}\n", "labels", "labels",
     "unknown key 'labels'; allowed keys: apiVersion, kind, metadata, spec"),
]


@pytest.mark.parametrize(("steps", "extra", "path", "needle", "fragment"), SCHEMA_CASES,
                         ids=[c[2] for c in SCHEMA_CASES])
def test_schema_errors_name_the_field_line_and_expectation(steps: str, extra: str, path: str,
                                                           needle: str, fragment: str) -> None:
    text = doc(steps, extra)
    err = spec_error(text)
    assert err.detail.startswith(f"{path}: ")
    assert fragment in err.detail
    assert err.line == line_of(text, needle)


def test_metadata_typos_are_caught_with_a_suggestion() -> None:
    text = doc("- name: a\n  pipeline: p.a\n").replace("  name: t.flow\n",
                                                        "  name: t.flow\n  tag: [x]\n")
    err = spec_error(text)
    assert err.detail == "metadata.tag: unknown key 'tag'; did you mean 'tags'?"
    assert err.line == line_of(text, "tag: [x]")


def test_several_schema_errors_are_reported_together_first_line_first() -> None:
    text = doc("""
        - name: a
          pipeline: p.a
          on_error: nope
        - name: b
          pipeline: p.b
          timeout_seconds: 0
    """)
    err = spec_error(text)
    assert err.line == line_of(text, "nope")
    assert err.detail.startswith("spec.steps[0].on_error")
    assert (f"also line {line_of(text, 'timeout_seconds')}: spec.steps[1].timeout_seconds"
            in err.detail)


# ----------------------------------------------------------- errors found by to_workflow
@pytest.mark.parametrize(("steps", "needle", "occurrence", "fragment"), [
    ("- name: a\n  pipeline: p.a\n- name: b\n  pipeline: p.b\n- name: a\n  pipeline: p.c\n",
     "name: a", 2, "duplicate step name(s): a"),
    ("- name: fetch\n  pipeline: p.a\n- name: b\n  pipeline: p.b\n  depends_on: [fetc]\n",
     "depends_on: [fetc]", 1, "did you mean 'fetch'?"),
    ("- name: a\n  pipeline: p.a\n  depends_on: [c]\n- name: b\n  pipeline: p.b\n"
     "- name: c\n  pipeline: p.c\n", "depends_on: [c]", 1, "dependency cycle: b -> c -> a -> b"),
    ("- name: m\n  map:\n    items_path: $.x\n    steps:\n      - name: i\n        pipeline: p\n"
     "        depends_on: [j]\n      - name: j\n        pipeline: p\n        depends_on: [i]\n",
     "depends_on: [j]", 1, "dependency cycle"),
])
def test_workflow_validation_errors_point_at_the_offending_step(
        steps: str, needle: str, occurrence: int, fragment: str) -> None:
    text = doc(steps)
    spec = WorkflowSpec.from_yaml(text, source="flow.yaml")  # the schema itself is fine
    with pytest.raises(WorkflowSpecError) as info:
        spec.to_workflow()
    assert fragment in info.value.detail
    assert (info.value.source, info.value.line) == ("flow.yaml", line_of(text, needle, occurrence))


@pytest.mark.parametrize(("ref", "fragment"), [
    ("no_such_module_for_spine_tests:run", "ModuleNotFoundError"),
    ("yaml_handlers:missing_handler", "AttributeError"),
    ("yaml_handlers:NOT_CALLABLE", "is a int, not a function"),
])
def test_a_handler_ref_that_does_not_resolve_names_the_step_and_ref(ref: str,
                                                                     fragment: str) -> None:
    text = doc(f"""
        - name: first
          pipeline: p.first
        - name: m
          map:
            items_path: $.outputs.first.items
            steps:
              - name: inner
                function: {ref}
    """)
    err = spec_error(text)
    assert "step 'inner'" in err.detail and repr(ref) in err.detail and fragment in err.detail
    assert err.line == line_of(text, f"function: {ref}")


# ---------------------------------------------------------------------------- schema
def test_json_schema_describes_the_document_by_its_yaml_keys() -> None:
    schema = WorkflowSpec.json_schema()
    json.dumps(schema)  # plain JSON data

    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    assert schema["properties"]["apiVersion"]["const"] == "spine.io/v1"
    assert schema["additionalProperties"] is False
    step = schema["$defs"]["StepSpec"]
    assert {"name", "pipeline", "workflow", "lambda", "function", "map", "wait", "approval",
            "config",
            "depends_on", "on_error", "retry", "timeout_seconds", "description", "params",
            "wait_for_completion", "inherit_context", "skip_if", "on_failure",
            "circuit_breaker", "executor", "calculate", "risk", "aggregate", "validate",
            "source", "transform", "sink"} == set(step["properties"])
    assert step["required"] == ["name"] and step["additionalProperties"] is False
    assert set(schema["$defs"]["MapSpec"]["properties"]) == {
        "items_path", "max_concurrency", "partition_by", "steps"}


def test_spec_equality_ignores_where_a_document_came_from() -> None:
    assert WorkflowSpec.from_yaml(I4_YAML, "a.yaml") == WorkflowSpec.from_yaml(I4_YAML, "b.yaml")
    other = WorkflowSpec.from_yaml(I4_YAML.replace("max_concurrency: 4", "max_concurrency: 2"))
    assert other != WorkflowSpec.from_yaml(I4_YAML)


# ------------------------------------------------------- approval steps and concurrency
def release_workflow(h: ModuleType) -> Workflow:
    """Spec 13b's approval gate and 13c's concurrency policy, with no lambda in sight."""
    return Workflow(
        "ml.release",
        [
            Step.from_function("train", h.total, config={"factor": 2}),
            Step.approval(name="deploy_approval", approvers=["team-lead@company.com",
                                                             "risk@company.com"],
                          timeout_hours=24, auto_approve_envs=["dev", "staging"],
                          message="Deploy risk model v3 to production?",
                          context_fields=["risk_score", "model_accuracy"]),
            Step.approval("second_look", description="a second pair of eyes",
                          on_error=ErrorPolicy.CONTINUE, depends_on=[]),
            Step("cleared", StepType.APPROVAL, gate=ApprovalGate(message="ok?"),
                 config={"k": 1}, depends_on=["train"]),
            Step.pipeline("deploy", "ml.deploy", depends_on=["deploy_approval"]),
        ],
        concurrency=ConcurrencyPolicy(max_concurrent_runs=1, on_conflict="queue",
                                      queue_timeout_seconds=300),
    )


def assert_same_workflow(a: Workflow, b: Workflow) -> None:
    assert a.steps == b.steps
    assert a.to_dict() == b.to_dict()
    assert a.concurrency == b.concurrency


def test_a_workflow_with_approval_steps_and_concurrency_exports_and_round_trips(
        handlers: ModuleType) -> None:
    workflow = release_workflow(handlers)

    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    again = WorkflowSpec.from_yaml(text).to_workflow()

    assert_same_workflow(again, workflow)
    gate = again.get_step("deploy_approval")
    assert gate.step_type is StepType.APPROVAL and gate.handler is None
    assert gate.gate == ApprovalGate("Deploy risk model v3 to production?",
                                     ("team-lead@company.com", "risk@company.com"),
                                     ("dev", "staging"), ("risk_score", "model_accuracy"))
    assert gate.timeout_seconds == 24 * 3600 and gate.description == gate.gate.message
    assert again.get_step("cleared").description == ""  # not refilled from the message
    assert again.concurrency == ConcurrencyPolicy(1, OnConflict.QUEUE, 300)
    assert "approval:\n" in text and "timeout_seconds: 86400.0" in text
    assert "lambda" not in text and "?:?" not in text
    assert "concurrency:\n    max_concurrent_runs: 1\n    on_conflict: queue\n" in text
    assert "queue_timeout_seconds" not in text  # the default stays implicit


def test_approval_and_concurrency_document_round_trips_through_a_workflow() -> None:
    path = RESOURCES / "yaml" / "release_gate.yaml"
    spec = WorkflowSpec.from_file(path)
    workflow = spec.to_workflow()

    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    workflow2 = WorkflowSpec.from_yaml(text).to_workflow()

    assert_same_workflow(workflow2, workflow)
    assert WorkflowSpec.from_yaml(spec.to_yaml()) == spec  # the document itself is lossless
    assert "timeout_hours: 24" in spec.to_yaml()
    assert workflow.concurrency == ConcurrencyPolicy(1, "queue", None)
    assert "queue_timeout_seconds: null" in text
    approval = workflow.get_step("deploy_approval")
    assert (approval.timeout_seconds, approval.depends_on) == (86400.0, ("train",))
    assert approval.gate is not None and approval.gate.auto_approve_envs == ("dev", "staging")
    audit = workflow.get_step("audit_gate")
    assert (audit.gate, audit.on_error, audit.depends_on) == (
        ApprovalGate(), ErrorPolicy.CONTINUE, ())
    assert (workflow.version, workflow.defaults, workflow.schedule) == (
        2, {"model": "v3"}, "0 6 * * 1-5")


@pytest.mark.parametrize(("block", "expected"), [
    ("", None),
    ("  concurrency: {max_concurrent_runs: 3, on_conflict: skip}\n",
     ConcurrencyPolicy(3, OnConflict.SKIP, 300.0)),
    ("  concurrency: {on_conflict: cancel_existing, queue_timeout_seconds: 0}\n",
     ConcurrencyPolicy(1, OnConflict.CANCEL_EXISTING, 0.0)),
    ("  concurrency: {}\n", ConcurrencyPolicy()),
])
def test_concurrency_keys_map_to_the_policy_and_back(block: str,
                                                     expected: ConcurrencyPolicy | None) -> None:
    wf = WorkflowSpec.from_yaml(doc("- name: a\n  pipeline: p.a\n", block)).to_workflow()
    assert wf.concurrency == expected
    again = WorkflowSpec.from_yaml(WorkflowSpec.from_workflow(wf).to_yaml()).to_workflow()
    assert again.concurrency == expected


def test_yaml_approval_step_approves_itself_in_an_auto_approve_env(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_ENV", "staging")
    wf = WorkflowSpec.from_file(RESOURCES / "yaml" / "release_gate.yaml").to_workflow()
    gate_only = Workflow("t.gate", [wf.get_step("deploy_approval").with_changes(depends_on=[])])

    result = WorkflowRunner().execute(gate_only)

    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["deploy_approval"] == {"approved": True, "by": "auto",
                                                 "env": "staging"}


GATE_CASES = [
    # (steps block, extra top-level text, path, needle for the line, fragment of the message)
    ("- name: a\n  pipeline: p.a\n", "  concurrency:\n    on_conflict: sometimes\n",
     "spec.concurrency.on_conflict", "sometimes",
     "Input should be 'queue', 'skip' or 'cancel_existing' (got 'sometimes')"),
    ("- name: a\n  pipeline: p.a\n", "  concurrency:\n    max_concurrent_runs: 0\n",
     "spec.concurrency.max_concurrent_runs", "max_concurrent_runs",
     "greater than or equal to 1 (got 0)"),
    ("- name: a\n  pipeline: p.a\n", "  concurrency:\n    queue_timeout_seconds: -1\n",
     "spec.concurrency.queue_timeout_seconds", "queue_timeout", "greater than or equal to 0"),
    ("- name: a\n  pipeline: p.a\n", "  concurrency:\n    max_concurent_runs: 2\n",
     "spec.concurrency.max_concurent_runs", "max_concurent_runs", "did you mean 'max_concurrent_runs'?"),
    ("- name: a\n  pipeline: p.a\n", "  concurrency: 1\n", "spec.concurrency", "concurrency",
     "Input should be a valid dictionary"),
    ("- name: g\n  approval:\n    message: ok?\n    approver: [me]\n",
     "", "spec.steps[0].approval.approver", "approver:", "did you mean 'approvers'?"),
    ("- name: g\n  approval:\n    approvers: me@x.io\n", "", "spec.steps[0].approval.approvers",
     "approvers", "Input should be a valid list"),
    ("- name: g\n  approval:\n    timeout_seconds: 0\n", "",
     "spec.steps[0].approval.timeout_seconds", "timeout_seconds", "greater than 0 (got 0)"),
    ("- name: g\n  approval:\n    timeout_seconds: 60\n    timeout_hours: 1\n", "",
     "spec.steps[0].approval", "approval:", "give timeout_seconds or timeout_hours, not both"),
    ("- name: g\n  approval: {message: deploy}\n  timeout_seconds: 60\n", "", "spec.steps[0]",
     "name: g", "an approval step's timeout goes under approval"),
    ("- name: g\n  approval: {}\n  params: {x: 1}\n", "", "spec.steps[0]", "name: g",
     "put an approval step's settings under config"),
    ("- name: g\n  approval: {}\n  pipeline: p.a\n", "", "spec.steps[0]", "name: g",
     "(found pipeline, approval)"),
    ("- name: g\n  approval:\n", "", "spec.steps[0]", "name: g", "(found none)"),
]


@pytest.mark.parametrize(("steps", "extra", "path", "needle", "fragment"), GATE_CASES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(GATE_CASES)])
def test_approval_and_concurrency_errors_name_the_field_and_line(
        steps: str, extra: str, path: str, needle: str, fragment: str) -> None:
    text = doc(steps, extra)
    err = spec_error(text)
    assert err.detail.startswith(f"{path}: ")
    assert fragment in err.detail
    assert err.line == line_of(text, needle)


def test_json_schema_describes_approval_and_concurrency() -> None:
    defs = WorkflowSpec.json_schema()["$defs"]

    assert set(defs["ApprovalSpec"]["properties"]) == {
        "message", "approvers", "auto_approve_envs", "timeout_seconds", "timeout_hours",
        "context_fields"}
    assert set(defs["WorkflowBody"]["properties"]) == {
        "steps", "policy", "concurrency", "defaults", "schedule", "triggers", "alerts",
        "executor", "scheduler"}
    concurrency = defs["ConcurrencySpec"]
    assert set(concurrency["properties"]) == {"max_concurrent_runs", "on_conflict",
                                              "queue_timeout_seconds"}
    assert concurrency["properties"]["on_conflict"]["enum"] == [c.value for c in OnConflict]
    assert concurrency["additionalProperties"] is False
    assert defs["ApprovalSpec"]["additionalProperties"] is False


def test_control_characters_are_a_spec_error_not_a_crash() -> None:
    """A control character is refused by YAML's reader before parsing starts (found by the
    API's fuzz test); it is reported like any other bad document."""
    with pytest.raises(WorkflowSpecError, match="invalid YAML.*special characters"):
        WorkflowSpec.from_yaml("\x1f", source="<body>")
