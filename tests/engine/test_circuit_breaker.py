"""Circuit breakers over a real store file: their transitions (a clock moved by hand), under
threads and across two real processes, guarding steps, in YAML, and the I5 sample (the spec's
own I5 is run by test_spec_examples)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from waits import wait_until

from engine import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    ErrorCategory,
    ErrorPolicy,
    RetryPolicy,
    RunStatus,
    Step,
    StepResult,
    Workflow,
    WorkflowRunner,
    WorkflowSpec,
    WorkflowSpecError,
    list_breakers,
    register_pipeline,
    start_run,
)
from engine.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_800_000_000.0


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Breakers without a store use ``$SPINE_DB``: each test gets its own file."""
    path = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(path))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker(name: str = "api", clock: Clock | None = None, **thresholds: Any) -> CircuitBreaker:
    options = {"failure_threshold": 3, "recovery_timeout": 60.0, "success_threshold": 2,
               **thresholds}
    return CircuitBreaker(name, **options, clock=clock or Clock())


# --------------------------------------------------------------------------- transitions
def test_consecutive_failures_open_it_and_it_refuses_until_the_recovery_timeout(
        clock: Clock) -> None:
    b = breaker(clock=clock)
    assert b.state is CircuitState.CLOSED and b.allow_request()
    b.record_failure()
    b.record_failure()
    assert b.state is CircuitState.CLOSED and b.failures == 2
    b.record_failure()
    assert b.state is CircuitState.OPEN and not b.allow_request()
    assert b.open_until is not None and b.open_until.timestamp() == T0 + 60
    clock.now += 59.9
    assert not b.allow_request()
    clock.now += 0.1
    assert b.state is CircuitState.HALF_OPEN  # read as half-open before anyone asks
    assert b.snapshot().state is CircuitState.OPEN
    assert b.allow_request()
    assert b.snapshot().state is CircuitState.HALF_OPEN  # asking moved it for everyone


def test_a_success_while_closed_resets_the_count(clock: Clock) -> None:
    b = breaker(clock=clock)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is CircuitState.CLOSED and b.failures == 2


def test_success_threshold_trial_successes_close_it_and_a_trial_failure_reopens_it(
        clock: Clock) -> None:
    b = breaker(clock=clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 60
    assert b.allow_request()
    b.record_success()
    assert b.state is CircuitState.HALF_OPEN and b.snapshot().successes == 1
    b.record_failure()  # a trial failed: open again, for another full timeout
    assert b.state is CircuitState.OPEN and b.snapshot().opened_at == clock.now
    clock.now += 60
    assert b.allow_request()
    b.record_success()
    b.record_success()
    record = b.snapshot()
    assert (record.state, record.failures, record.successes, record.opened_at) == (
        CircuitState.CLOSED, 0, 0, None)


def test_late_outcomes_while_open_change_nothing(clock: Clock) -> None:
    b = breaker(clock=clock)
    for _ in range(3):
        b.record_failure()
    before = b.snapshot()
    clock.now += 10
    b.record_success()
    b.record_failure()
    assert b.snapshot() == before


def test_reset_and_trip_are_operator_overrides(clock: Clock) -> None:
    b = breaker(clock=clock)
    b.trip()
    assert not b.allow_request()
    b.reset()
    assert b.state is CircuitState.CLOSED and b.allow_request()


def test_call_and_with_raise_circuit_open_error_while_open(clock: Clock) -> None:
    b = breaker(clock=clock)
    assert b.call(lambda x: x * 2, 21) == 42
    for _ in range(3):
        with pytest.raises(ConnectionError):
            b.call(_raise, ConnectionError("down"))
    with pytest.raises(CircuitOpenError) as info:
        b.call(lambda: "never called")
    assert info.value.breaker == "api" and info.value.category == ErrorCategory.DEPENDENCY
    assert "circuit breaker 'api' is open until" in str(info.value)
    assert "(3 failures in a row)" in str(info.value)
    with pytest.raises(CircuitOpenError), b:
        raise AssertionError("the body must not run")
    clock.now += 60
    ran = []
    with b:  # a body that finishes is a success of the half-open breaker
        ran.append("trial")
    with b:
        ran.append("second")
    assert ran == ["trial", "second"]
    assert b.state is CircuitState.CLOSED


def test_the_spec_raises_circuit_open_error_with_just_a_message() -> None:
    error = CircuitOpenError("EDGAR API circuit open — too many failures")
    assert str(error) == "EDGAR API circuit open — too many failures"
    assert error.category == ErrorCategory.DEPENDENCY


def _raise(exc: BaseException) -> None:
    raise exc


def test_bad_thresholds_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'x': failure_threshold must be a whole number >= 1"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="recovery_timeout must be seconds >= 0"):
        CircuitBreaker("x", recovery_timeout=-1)
    with pytest.raises(ValueError, match="success_threshold"):
        CircuitBreaker("x", success_threshold=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty name"):
        CircuitBreaker(" ")


def test_building_one_touches_no_file_until_it_is_used(tmp_path: Path) -> None:
    path = tmp_path / "later" / "store.db"
    b = CircuitBreaker("lazy", store=path)
    assert not path.exists()
    assert b.allow_request()
    assert path.exists()
    assert [r.name for r in list_breakers(path)] == ["lazy"]  # listed from its first use


def test_without_a_store_it_follows_spine_db_at_each_use(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    b = CircuitBreaker("moving", failure_threshold=1)
    b.record_failure()
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "other.db"))
    assert b.state is CircuitState.CLOSED  # another store: its own state
    assert [r.state for r in list_breakers(tmp_path / "spine.db")] == [CircuitState.OPEN]


def test_named_finds_the_breaker_built_in_this_process_else_the_stored_thresholds(
        tmp_path: Path) -> None:
    built = CircuitBreaker("edgar", failure_threshold=7)
    assert CircuitBreaker.named("edgar") is built
    other = tmp_path / "other.db"
    CircuitBreaker("remote", failure_threshold=4, recovery_timeout=9, store=other).reset()
    adopted = CircuitBreaker.named("remote", store=other)
    assert (adopted.failure_threshold, adopted.recovery_timeout) == (4, 9.0)
    assert CircuitBreaker.named("never-used").failure_threshold == 5  # the defaults


# --------------------------------------------------------------------------- threads, processes
def test_threads_lose_no_count_and_open_it_exactly_at_the_threshold(default_store: Path) -> None:
    counting = CircuitBreaker("counted", failure_threshold=10_000)
    opening = CircuitBreaker("opening", failure_threshold=100)
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        for _ in range(50):
            counting.record_failure()
            opening.record_failure()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counting.snapshot().failures == 400
    record = opening.snapshot()
    assert (record.state, record.failures) == (CircuitState.OPEN, 100)  # no count past open


def test_threads_racing_a_half_open_breaker_close_it_once(clock: Clock) -> None:
    b = breaker("racing", clock=clock, success_threshold=5)
    for _ in range(3):
        b.record_failure()
    clock.now += 60
    start = threading.Barrier(6)
    allowed: list[bool] = []

    def trial() -> None:
        start.wait()
        allowed.append(b.allow_request())
        b.record_success()

    threads = [threading.Thread(target=trial) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed == [True] * 6
    record = b.snapshot()
    assert (record.state, record.successes, record.failures) == (CircuitState.CLOSED, 0, 0)


WORKER = textwrap.dedent("""
    import sys
    from engine import CircuitBreaker
    name, action, count, threshold, timeout = sys.argv[1:6]
    b = CircuitBreaker(name, failure_threshold=int(threshold), recovery_timeout=float(timeout))
    ready, go = sys.argv[6:8]
    open(ready, "w").close()
    import os, time
    while not os.path.exists(go):
        time.sleep(0.001)
    for _ in range(int(count)):
        if action == "fail":
            b.record_failure()
        elif action == "trial":
            assert b.allow_request()
            b.record_success()
    print(b.state.value, b.allow_request())
""")


def worker(tmp_path: Path, tag: str, *args: Any) -> tuple[subprocess.Popen[str], Path]:
    """A real process using breaker ``args[0]`` of ``$SPINE_DB``; it starts its loop once the
    file ``go`` exists (so two of them run at the same time) and says when it is ready."""
    ready, go = tmp_path / f"ready-{tag}", tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, *map(str, args), str(ready), str(go)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ}, cwd=ROOT)
    return proc, ready


def run_together(tmp_path: Path, *workers: tuple[subprocess.Popen[str], Path]) -> list[str]:
    wait_until(lambda: all(ready.exists() for _, ready in workers), what="workers ready")
    (tmp_path / "go").touch()
    outs = []
    for proc, _ in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out.strip())
    (tmp_path / "go").unlink()
    return outs


def test_two_processes_share_one_state(tmp_path: Path) -> None:
    # both count failures at once: nothing is lost between processes
    run_together(tmp_path, worker(tmp_path, "a", "shared", "fail", 150, 10_000, 60),
                 worker(tmp_path, "b", "shared", "fail", 150, 10_000, 60))
    assert CircuitBreaker.named("shared").snapshot().failures == 300

    # one process opens a breaker: this one refuses at once
    [out] = run_together(tmp_path, worker(tmp_path, "c", "edgar", "fail", 3, 3, 0.5))
    assert out == "open False"
    here = CircuitBreaker("edgar", failure_threshold=3, recovery_timeout=0.5)
    record = here.snapshot()
    assert record.state is CircuitState.OPEN and record.opened_at is not None

    # once the timeout has passed (stored times are wall-clock), another process's trials
    # close it for everybody
    wait_until(lambda: here.state is CircuitState.HALF_OPEN, what="the recovery timeout")
    [out] = run_together(tmp_path, worker(tmp_path, "d", "edgar", "trial", 1, 3, 0.5))
    assert out == "closed True"
    assert here.state is CircuitState.CLOSED and here.allow_request()


# --------------------------------------------------------------------------- the step option
def test_a_guarded_step_fails_fast_while_open_and_counts_every_attempt(clock: Clock) -> None:
    guard = breaker("flaky", clock=clock)
    calls: list[int] = []

    def call_api(ctx: Any, config: Any) -> StepResult:
        calls.append(1)
        raise ConnectionError("connection refused")

    retry = RetryPolicy(max_attempts=5, initial_delay_seconds=0)
    wf = Workflow("guarded", [Step.lambda_("fetch", call_api, on_error=ErrorPolicy.RETRY,
                                           retry_policy=retry, circuit_breaker="flaky")])
    result = WorkflowRunner().execute(wf)
    step = result.steps["fetch"]
    assert result.status is RunStatus.FAILED and step.attempts == 5
    assert len(calls) == 3  # attempts 4 and 5 never called the API
    assert step.error_category == "DEPENDENCY" and step.error_type == "CircuitOpenError"
    assert step.error == ("circuit breaker 'flaky' is open until 2027-01-15T08:01:00Z "
                          "(3 failures in a row); step 'fetch' was not run")
    assert guard.state is CircuitState.OPEN

    clock.now += 60  # past the timeout the attempt is a trial: two successes close it
    ok = Workflow("guarded", [Step.lambda_("fetch", lambda ctx, cfg: {"n": 1},
                                           circuit_breaker=guard)])
    assert WorkflowRunner().execute(ok).status is RunStatus.COMPLETED
    assert guard.state is CircuitState.HALF_OPEN
    assert WorkflowRunner().execute(ok).status is RunStatus.COMPLETED
    assert guard.state is CircuitState.CLOSED


def test_skipped_and_cancelled_attempts_say_nothing_about_the_dependency(clock: Clock) -> None:
    guard = breaker("quiet", clock=clock, failure_threshold=1)
    wf = Workflow("quiet", [
        Step.lambda_("skipped", lambda ctx, cfg: {}, skip_if="true", circuit_breaker=guard),
        Step.lambda_("cancelled", lambda ctx, cfg: StepResult.fail(
            "stopped", category=ErrorCategory.CANCELLED), circuit_breaker=guard),
    ])
    WorkflowRunner().execute(wf)
    assert guard.state is CircuitState.CLOSED and guard.failures == 0


def test_a_timed_out_attempt_is_a_failure(clock: Clock) -> None:
    gate = threading.Event()
    guard = breaker("slow", clock=clock, failure_threshold=1)
    wf = Workflow("slow", [Step.lambda_("wait", lambda ctx, cfg: gate.wait(5), timeout_seconds=0.05,
                                        circuit_breaker=guard)])
    result = WorkflowRunner().execute(wf)
    gate.set()
    assert result.steps["wait"].error_category == "TIMEOUT"
    assert guard.state is CircuitState.OPEN


def test_a_tracked_run_guards_its_steps_with_the_shared_state(default_store: Path) -> None:
    guard = CircuitBreaker("tracked", failure_threshold=1)
    guard.trip()
    wf = Workflow("tracked.guarded", [Step.lambda_("fetch", lambda ctx, cfg: {},
                                                   circuit_breaker="tracked")])
    result = start_run(wf, db=default_store).wait(30)
    assert result.status is RunStatus.FAILED
    store = RunStore(default_store)
    try:
        [step] = store.step_runs(result.run_id)
    finally:
        store.close()
    assert (step.error_category, step.error_type) == ("DEPENDENCY", "CircuitOpenError")


def test_the_option_is_checked_when_the_step_is_built() -> None:
    with pytest.raises(ValueError, match="guards steps that call something, not a wait step"):
        Step("nap", "wait", circuit_breaker="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a CircuitBreaker or a breaker's name, got int"):
        Step.lambda_("a", lambda ctx, cfg: {}, circuit_breaker=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a breaker name"):
        Step.pipeline("a", "p", circuit_breaker=" ")
    b = CircuitBreaker("shown", failure_threshold=2)
    assert Step.pipeline("a", "p", circuit_breaker=b).to_dict()["circuit_breaker"] == {
        "name": "shown", "failure_threshold": 2, "recovery_timeout": 60.0,
        "success_threshold": 1}
    assert Step.workflow("a", "w", circuit_breaker="n").to_dict()["circuit_breaker"] == "n"


# --------------------------------------------------------------------------- YAML
DOC = """\
apiVersion: spine.io/v1
kind: Workflow
metadata: {name: yaml.guarded}
spec:
  steps:
    - name: by_name
      pipeline: some.pipeline
      circuit_breaker: edgar
    - name: with_thresholds
      pipeline: some.pipeline
      circuit_breaker:
        name: data_api
        failure_threshold: 3
        recovery_timeout: 30
"""


def test_yaml_names_a_breaker_or_declares_one_and_exports_it_back() -> None:
    wf = WorkflowSpec.from_yaml(DOC).to_workflow()
    named, declared = (s.circuit_breaker for s in wf.steps)
    assert named == "edgar"
    assert declared == CircuitBreaker("data_api", failure_threshold=3, recovery_timeout=30)
    text = WorkflowSpec.from_workflow(wf).to_yaml()
    assert "circuit_breaker: edgar" in text
    assert "name: data_api\n        failure_threshold: 3\n        recovery_timeout: 30" in text
    again = WorkflowSpec.from_yaml(text).to_workflow()
    assert [s.circuit_breaker for s in again.steps] == [named, declared]


def test_yaml_refuses_a_breaker_on_a_wait_step_with_its_line() -> None:
    bad = DOC.replace("pipeline: some.pipeline\n      circuit_breaker: edgar",
                      "wait: {duration_seconds: 0}\n      circuit_breaker: edgar")
    with pytest.raises(WorkflowSpecError, match=r":6: .*not a wait step"):
        WorkflowSpec.from_yaml(bad)
    with pytest.raises(WorkflowSpecError, match="failure_threshold"):
        WorkflowSpec.from_yaml(DOC.replace("failure_threshold: 3", "failure_threshold: 0"))


# --------------------------------------------------------------------------- I5
def i5_sample() -> Any:
    """The I5 sample, its pipeline registered (importing it does that once; a test that
    cleaned the registry since may have dropped it)."""
    from sample_workflows import i5_circuit_protected_ingest as i5

    register_pipeline("sec.process_filings", i5.process_filings)
    return i5


def test_i5_sample_fetches_the_bundled_index_and_keeps_its_breaker_closed() -> None:
    i5 = i5_sample()
    with i5.FILINGS_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    forms = Counter(row["form_type"].strip().upper() for row in rows)
    apple_forms = sorted(row["form_type"] for row in rows if row["cik"].strip() == "320193")

    result = WorkflowRunner().execute(i5.wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["process"]["processed"] == len(rows)
    assert result.outputs["process"]["by_form"] == dict(forms)
    apple = WorkflowRunner().execute(i5.wf, {"cik": "0000320193"})
    filings = apple.outputs["fetch"]["filings"]
    assert sorted(f["form"] for f in filings) == apple_forms and len(apple_forms) >= 1
    assert {(f["cik"], f["company"]) for f in filings} == {("0000320193", "APPLE INC.")}
    [record] = list_breakers()
    assert (record.name, record.state, record.success_threshold) == (
        "sec_edgar", CircuitState.CLOSED, 2)


def test_i5_sample_opens_its_breaker_on_an_unreachable_source_and_backs_off(
        tmp_path: Path) -> None:
    i5 = i5_sample()
    fast = RetryPolicy(max_attempts=5, initial_delay_seconds=0,
                       retryable_categories=("TRANSIENT", "DEPENDENCY"))
    wf = Workflow("i5.fast", [i5.wf.steps[0].with_changes(retry_policy=fast)])
    result = WorkflowRunner().execute(wf, {"edgar_source": str(tmp_path / "missing.csv")})
    step = result.steps["fetch"]
    assert result.status is RunStatus.FAILED and step.attempts == 5
    assert (step.error, step.error_category) == ("EDGAR API circuit open — backing off",
                                                  "DEPENDENCY")
    record = i5.edgar_circuit.snapshot()
    assert (record.state, record.failures) == (CircuitState.OPEN, 3)
