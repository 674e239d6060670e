"""YAML ``executor:`` at the workflow level (with ``scheduler:`` for dask) and per step:
read into a ``Workflow``, written back out, round-tripped, run where it says, and bad values
reported with the file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine import Step, Workflow, WorkflowRunner, WorkflowSpecError, WorkflowValidationError
from engine.executor_names import EXECUTOR_NAMES
from engine.executors.choice import RunExecutors
from engine.spec.document import WorkflowSpec
from engine.spec.models import ExecutorName

HEAD = """\
apiVersion: spine.io/v1
kind: Workflow
metadata:
  name: spec.executor
spec:
"""


def doc(body: str) -> str:
    return HEAD + textwrap.indent(textwrap.dedent(body), "  ")


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(doc(body))
    return path


ROUND_TRIP = """\
executor: dask
scheduler: tcp://127.0.0.1:8786
steps:
  - name: numbers
    function: executor_handlers:numbers
    executor: processes
  - name: fan
    map:
      items_path: $.outputs.numbers.numbers
      steps:
        - name: square
          function: executor_handlers:square
          executor: threads
  - name: total
    function: executor_handlers:total
    config: {results: []}
"""


def test_executor_and_scheduler_reach_the_workflow_and_its_steps(tmp_path: Path) -> None:
    wf = WorkflowSpec.from_file(write(tmp_path, ROUND_TRIP)).to_workflow()
    assert (wf.executor, wf.scheduler) == ("dask", "tcp://127.0.0.1:8786")
    assert wf.get_step("numbers").executor == "processes"
    assert wf.get_step("fan").iterator_steps[0].executor == "threads"
    assert wf.get_step("total").executor is None  # the workflow's choice applies
    choice = RunExecutors(None, wf)
    assert choice.default == "dask"
    assert choice.name_for(wf.get_step("numbers")) == "processes"
    assert choice.name_for(wf.get_step("total")) == "dask"
    assert wf.to_dict()["scheduler"] == "tcp://127.0.0.1:8786"


def test_the_document_round_trips_through_the_runtime_workflow(tmp_path: Path) -> None:
    spec = WorkflowSpec.from_file(write(tmp_path, ROUND_TRIP))
    again = WorkflowSpec.from_workflow(spec.to_workflow())
    assert again == WorkflowSpec.from_yaml(again.to_yaml())
    body = again.to_dict()["spec"]
    assert (body["executor"], body["scheduler"]) == ("dask", "tcp://127.0.0.1:8786")
    steps = body["steps"]
    assert steps[0]["executor"] == "processes"
    assert steps[1]["map"]["steps"][0]["executor"] == "threads"
    assert "executor" not in steps[2]
    wf = again.to_workflow()
    assert wf.to_dict() == spec.to_workflow().to_dict()


def test_a_python_workflow_exports_its_executor_and_a_default_one_exports_nothing() -> None:
    from executor_handlers import numbers, square

    wf = Workflow("spec.py_exec", [Step.from_function("numbers", numbers).with_changes(
                                       executor="processes"),
                                   Step.from_function("square", square, config={"item": 3})],
                  executor="processes")
    text = WorkflowSpec.from_workflow(wf).to_yaml()
    assert "executor: processes" in text and "scheduler" not in text
    back = WorkflowSpec.from_yaml(text).to_workflow()
    assert back.executor == "processes" and back.get_step("numbers").executor == "processes"
    plain = Workflow("spec.plain", [Step.from_function("numbers", numbers)])
    assert "executor:" not in WorkflowSpec.from_workflow(plain).to_yaml()


def test_the_literal_lists_every_executor_the_engine_knows() -> None:
    assert ExecutorName.__args__ == EXECUTOR_NAMES  # type: ignore[attr-defined]


def test_a_workflow_from_yaml_runs_its_steps_where_it_says(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        executor: processes
        steps:
          - name: numbers
            function: executor_handlers:numbers
            config: {count: 3}
          - name: here
            function: executor_handlers:square
            executor: threads
            config: {item: 4}
        """)
    wf = WorkflowSpec.from_file(path).to_workflow()
    result = WorkflowRunner().execute(wf)
    assert result.status == "completed", result.error
    workers = {name: s.worker for name, s in result.steps.items()}
    assert workers["numbers"] is not None and workers["numbers"].startswith("process:")
    assert workers["here"] is None  # threads: in this process


@pytest.mark.parametrize(("body", "line", "says"), [
    ("""\
        executor: gpu
        steps:
          - name: a
            function: executor_handlers:numbers
        """, 6, "Input should be 'threads', 'processes' or 'dask'"),
    ("""\
        steps:
          - name: a
            function: executor_handlers:numbers
          - name: b
            function: executor_handlers:numbers
            executor: cluster
        """, 11, "Input should be 'threads', 'processes' or 'dask'"),
    ("""\
        executor: dask
        scheduler: 127.0.0.1:8786
        steps:
          - name: a
            function: executor_handlers:numbers
        """, 7, "tcp://HOST:PORT"),
    ("""\
        executor: processes
        scheduler: tcp://127.0.0.1:8786
        steps:
          - name: a
            function: executor_handlers:numbers
        """, 7, "nothing here runs on dask"),
    ("""\
        steps:
          - name: a
            function: executor_handlers:numbers
            executor: dask
            scheduler: tcp://127.0.0.1:8786
        """, 7, "scheduler goes at the workflow level"),
])
def test_bad_executor_values_name_the_file_and_line(tmp_path: Path, body: str, line: int,
                                                    says: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert says in message


def test_a_step_on_dask_makes_a_workflow_scheduler_valid(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        scheduler: tcp://10.0.0.5:8786
        steps:
          - name: fan
            map:
              items_path: $.params.items
              steps:
                - name: square
                  function: executor_handlers:square
                  executor: dask
        """)
    wf = WorkflowSpec.from_file(path).to_workflow()
    assert wf.executor is None and wf.scheduler == "tcp://10.0.0.5:8786"
    assert RunExecutors(None, wf).name_for(wf.get_step("fan").iterator_steps[0],
                                           wf.get_step("fan")) == "dask"


def test_the_python_api_checks_the_scheduler_too() -> None:
    from executor_handlers import numbers

    with pytest.raises(WorkflowValidationError, match="spec.bad.*not a Dask address"):
        Workflow("spec.bad", [Step.from_function("n", numbers)], executor="dask",
                 scheduler="http://x:1")
