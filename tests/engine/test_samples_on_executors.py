"""Every bundled sample runs on the ``processes`` executor as it runs on threads (issue 12:
"any sample can be pointed at a Dask scheduler and runs there"; Dask shares the shipping code
tested here, see test_dask_executor.py).

Each sample runs on threads, then (a re-run, as the first one created its tables and loaded
its rows) once more on threads and once on one shared pool of worker processes; the final
status, every step's status and the outputs must match, once what differs from run to run by
nature is masked (times, generated ids, job ids, database sequence numbers, the pid a step ran
in, artifact keys). Handler steps must really have run on a worker process; job steps (which
start their own process) must have run in this one.

Samples that fail by design on threads are compared too (they must fail the same way):
``debug.pipeline`` (M4) fails deliberately for the debugger; ``infra.vault_credentials`` (F2)
needs its secrets API server; ``backfill.daily_ingest`` (I3) needs a ``date`` param and
``selfheal.reprocess`` (M1) an ``id`` param, which a parameterless run does not give.
"""

from __future__ import annotations

import importlib
import pickle
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import (
    Catalog,
    Expression,
    HandlerNotPortableError,
    LocalArtifactStore,
    LogLine,
    ProcessExecutor,
    RunStatus,
    Step,
    StepFinished,
    StepType,
    Workflow,
    WorkflowResult,
    WorkflowRunner,
    discover,
)
from engine.executors import check_portable
from engine.executors.checks import runs_in_coordinator
from engine.executors.shipping import FunctionRef, pack, resolve
from engine.serialization import to_jsonable
from sample_workflows import SAMPLES_DIR

#: samples whose parameterless run fails on threads, by design (see the module docstring)
FAILS_BY_DESIGN = {
    "debug.pipeline": "M4 fails deliberately, for the debugger",
    "infra.vault_credentials": "F2 needs its secrets API server running",
    "backfill.daily_ingest": "I3 needs a date param per partition",
    "selfheal.reprocess": "M1's reprocess needs the id param of a quarantined record",
}
#: output keys whose values differ between any two runs, whatever the executor
VOLATILE_KEYS = {
    "pid",  # the process a step ran in (finance.parallel_ingest reports it on purpose)
    "pending_bronze_loads",  # load ids: a database sequence that grows with every run
    "seconds",  # how long a medallion stage took
    "job",  # a job's generated id
    "reload_count",  # jobs.hot_reload_dev's adapter counts reloads over the process's life
}
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")
_ID = re.compile(r"\b(?:corr_[0-9a-f]{16}|local-[0-9a-f]{12}|[0-9a-f]{16}|[0-9a-f]{32})\b")
_HANDLER_STEPS = (StepType.LAMBDA, StepType.FUNCTION, StepType.PIPELINE)


def stable(value: Any, key: str = "") -> Any:
    """``value`` (JSON-like) with what differs from run to run masked."""
    if key in VOLATILE_KEYS or (key.endswith("_id") and isinstance(value, int)):
        return "<volatile>"  # an integer ``*_id`` is a database sequence number
    if isinstance(value, dict):
        if value.get("type") == "artifact_ref":  # key names the run; time, size vary
            return {"artifact_ref": value.get("store")}
        return {k: stable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [stable(item) for item in value]
    if isinstance(value, str):
        return _ID.sub("<id>", _TIME.sub("<time>", value))
    return value


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private store and scratch folder, set before the pool spawns (workers inherit)."""
    root = tmp_path_factory.mktemp("samples-on-executors")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPINE_DB", str(root / "runs.db"))
        patch.setenv("SPINE_SAMPLES_SCRATCH", str(root / "scratch"))
        yield root


@pytest.fixture(scope="module")
def pool(env: Path) -> Iterator[ProcessExecutor]:
    """One pool of two worker processes for the whole module (spawning is the slow part)."""
    with ProcessExecutor(2) as executor:
        yield executor  # type: ignore[misc]


@pytest.fixture(scope="module")
def catalog(env: Path) -> Catalog:
    """The samples, freshly loaded. Discovery re-executes each sample file, but not the
    helper modules they import (``_warehouse`` registers pipelines at import): an earlier
    test's registry clean-up may have dropped those, so they are re-executed first."""
    for name in [n for n in sys.modules if n.startswith("sample_workflows._")]:
        importlib.reload(sys.modules[name])
    found = discover([SAMPLES_DIR])
    assert found.errors == ()
    return found


def run(workflow: Workflow, store: LocalArtifactStore,
        executor: ProcessExecutor | None = None) -> tuple[WorkflowResult, list[Any]]:
    events: list[Any] = []
    runner = WorkflowRunner(artifact_store=store, executor=executor, capture_logs=True,
                            listeners=[events.append])
    return runner.execute(workflow), events


def test_every_sample_gives_the_same_result_on_processes_as_on_threads(
        catalog: Catalog, pool: ProcessExecutor, env: Path) -> None:
    store = LocalArtifactStore(env / "artifacts")
    assert len(catalog) >= 30
    problems: list[str] = []
    for item in catalog.workflows:
        workflow = item.workflow
        run(workflow, store)  # a first run creates what re-runs find (tables, loaded rows)
        threads, _ = run(workflow, store)
        remote, events = run(workflow, store, pool)
        name = item.name
        expected = RunStatus.FAILED if name in FAILS_BY_DESIGN else RunStatus.COMPLETED
        if threads.status is not expected or remote.status is not threads.status:
            problems.append(f"{name}: threads {threads.status.value}, processes "
                            f"{remote.status.value} (expected {expected.value}): "
                            f"{remote.error or threads.error}")
            continue
        statuses = {n: s.status.value for n, s in threads.steps.items()}
        if {n: s.status.value for n, s in remote.steps.items()} != statuses:
            problems.append(f"{name}: step statuses differ")
        differ = differences(stable(to_jsonable(threads.outputs)),
                             stable(to_jsonable(remote.outputs)))
        if differ:
            problems.append(f"{name}: outputs differ at {differ[:3]}")
        problems += where_steps_ran(workflow, remote, events)
    assert problems == [], "\n".join(problems)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ (``path: threads != processes``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r:.60} != {b!r:.60}"]


def where_steps_ran(workflow: Workflow, result: WorkflowResult, events: list[Any]) -> list[str]:
    """Handler steps that ran must have run on a worker process, job steps (and steps pinned
    to threads) here; a step's worker is on its record and on its ``StepFinished``."""
    problems = []
    finished = {e.step: e.worker for e in events if isinstance(e, StepFinished)}
    for step in workflow.steps:
        state = result.steps.get(step.name)
        if step.step_type not in _HANDLER_STEPS or state is None \
                or state.status is RunStatus.SKIPPED or state.attempts == 0:
            continue
        here = runs_in_coordinator(step) or step.executor == "threads"
        worker = state.worker or ""
        if here != (worker == "") or finished.get(step.name) != state.worker:
            problems.append(f"{workflow.name}.{step.name}: ran on {worker or 'this process'}")
        elif not here and not worker.startswith("process:"):
            problems.append(f"{workflow.name}.{step.name}: worker {worker!r}")
    return problems


def test_job_steps_run_here_and_stream_their_lines(catalog: Catalog, pool: ProcessExecutor,
                                                    env: Path) -> None:
    item = catalog.get("jobs.local_process")
    assert item is not None
    transform = next(s for s in item.workflow.steps if s.name == "transform")
    assert runs_in_coordinator(transform)
    result, events = run(item.workflow, LocalArtifactStore(env / "jobs"), pool)
    assert result.status is RunStatus.COMPLETED
    assert result.steps["transform"].worker is None
    assert result.outputs["transform"]["processed"] == 42
    lines = [e for e in events if isinstance(e, LogLine) and e.step == "transform"]
    assert lines, "the job's log lines reach the run's stream"


def test_a_workflow_step_function_travels_by_its_reference(pool: ProcessExecutor,
                                                           catalog: Catalog) -> None:
    """``@workflow_step`` leaves a wrapper at the module attribute: pickle refuses the
    function, its reference (one ``__wrapped__`` link) does not."""
    module = importlib.import_module("sample_workflows.b2_csv_loader")
    fn = module.extract_csv.fn
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(fn)
    check_portable(fn, "extract_csv", "processes")
    shipped = pack(fn)
    assert shipped == FunctionRef("sample_workflows.b2_csv_loader", "extract_csv", 1)
    assert resolve(pickle.loads(pickle.dumps(shipped))) is fn


def test_a_workflow_built_before_a_reload_still_runs_on_workers(pool: ProcessExecutor,
                                                                env: Path) -> None:
    """A hot reload re-executes the module: the functions an earlier workflow holds are no
    longer its attributes, and the worker runs the current function of the same name."""
    file = SAMPLES_DIR / "b2_csv_loader.py"
    before = discover([file]).get("csv.loader")
    discover([file])  # re-executes the module, as a hot reload does
    assert before is not None
    stale = before.workflow.steps[0].handler
    current = importlib.import_module("sample_workflows.b2_csv_loader").extract_csv.fn
    assert stale is not current and stale.__qualname__ == current.__qualname__
    assert pack(stale) == FunctionRef("sample_workflows.b2_csv_loader", "extract_csv", 1)
    result = WorkflowRunner(executor=pool).execute(before.workflow)
    assert result.status is RunStatus.COMPLETED
    assert result.steps["extract_csv"].worker.startswith("process:")
    assert result.outputs == WorkflowRunner().execute(before.workflow).outputs


class Locked:
    """A callable whose state does not pickle."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, ctx: Any, config: Any) -> dict[str, Any]:
        return {}


class Counter:
    """A callable instance that pickles: shipped by value."""

    def __init__(self, start: int) -> None:
        self.start = start

    def __call__(self, ctx: Any, config: Any) -> dict[str, Any]:
        return {"next": self.start + len(ctx.outputs)}


def test_callable_instances_travel_by_value_or_are_refused_with_the_reason(
        pool: ProcessExecutor) -> None:
    with pytest.raises(HandlerNotPortableError, match=r"test_samples_on_executors:Locked "
                       r"instance .* cannot be pickled \(TypeError: .*lock"):
        check_portable(Locked(), "s", "processes")

    class Local:
        def __call__(self, ctx: Any, config: Any) -> None:
            return None

    with pytest.raises(HandlerNotPortableError, match="its class is defined inside a function"):
        check_portable(Local(), "s", "dask")
    wf = Workflow("exec.instance", [Step.lambda_("a", Counter(10)),
                                    Step.lambda_("b", Counter(20))])
    result = WorkflowRunner(executor=pool).execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert result.outputs == {"a": {"next": 10}, "b": {"next": 21}}
    assert result.steps["b"].worker.startswith("process:")
    assert pack(Counter(1)).start == 1  # the object itself travels, not a reference


def test_a_compiled_expression_pickles_as_its_text() -> None:
    """Compliance rules hold compiled CEL programs, which do not pickle; the expression
    travels as its text and compiles again on the worker."""
    rule = Expression("row.weight <= 0.10")
    back = pickle.loads(pickle.dumps(rule))
    assert back == rule and back.reads == rule.reads == {"row"}
    assert back.evaluate({"row": {"weight": 0.2}}) is False
