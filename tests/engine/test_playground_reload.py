"""Edit and continue: a real workflow file is run, edited and saved, and the playground re-runs
just what changed with the new code (``WorkflowPlayground.reload``/``reload_file``)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import (
    RunControl,
    RunStatus,
    RunStore,
    Step,
    StepResult,
    Workflow,
    register_workflow,
    resolve_workflow,
    start_run,
)
from engine.playground import (
    ChangeReason,
    NothingStaleError,
    ReloadError,
    RetryStoredError,
    SavedFiles,
    SnapshotKind,
    StopReason,
    WorkflowPlayground,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "hot_swap"
MODULES = ("hot_swap_flow", "hot_swap_helpers")
FIX = ("return 3", "return 10")  # hot_swap_helpers.threshold: check passes from then on


class Flow:
    """The fixture copied to a tmp folder: its files, and how often ``fetch`` ran."""

    def __init__(self, folder: Path, calls: Path) -> None:
        self.folder = folder
        self.file = folder / "hot_swap_flow.py"
        self.helpers = folder / "hot_swap_helpers.py"
        self.calls = calls

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new))

    def fetches(self) -> int:
        return self.calls.read_text().split().count("fetch") if self.calls.exists() else 0

    def workflow(self) -> Workflow:
        return resolve_workflow(str(self.file)).workflow


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    folder = tmp_path / "flows"
    shutil.copytree(RESOURCES, folder)
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("HOT_SWAP_CALLS", str(calls))
    monkeypatch.syspath_prepend(str(folder))
    for name in MODULES:
        sys.modules.pop(name, None)
    yield Flow(folder, calls)
    for name in MODULES:
        sys.modules.pop(name, None)


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def failed_at_check(flow: Flow) -> WorkflowPlayground:
    pg = WorkflowPlayground()
    pg.load(flow.workflow())
    pg.continue_()
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.FAILURE
    assert pg.current.runs["check"].error == "rows above 3: [4]"
    return pg


def test_a_fixed_helper_reruns_only_the_stale_step_with_the_new_code(flow: Flow) -> None:
    pg = failed_at_check(flow)
    flow.edit(flow.helpers, *FIX)
    report = pg.reload_file(flow.file)
    assert report.stale == ("check",) and report.first_stale == "check"
    assert [(c.step, c.reasons, c.code) for c in report.changed] == [
        ("check", (ChangeReason.CODE,), ("hot_swap_helpers.threshold",))]
    assert report.unchanged == ("fetch", "report")
    assert report.modules == ("hot_swap_helpers",)
    assert str(flow.helpers) in report.files
    assert report.snapshot.kind is SnapshotKind.RELOAD
    assert pg.stale_steps == ("check",) and pg.current.stale == ("check",)
    assert pg.current.runs["check"].status is RunStatus.FAILED  # kept, marked stale

    done = pg.continue_stale()
    assert [(s.step_name, s.kind, s.status) for s in done] == [
        ("check", SnapshotKind.RERUN, RunStatus.COMPLETED)]
    assert done[0].output == {"checked": 4}
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.TARGET
    assert pg.last_stop.step == "report" and pg.stale_steps == ()
    pg.continue_()
    assert pg.outputs["report"] == {"summary": "4 rows ok"}
    assert flow.fetches() == 1  # the unchanged upstream step never ran again
    assert sys.modules["hot_swap_helpers"].threshold() == 10  # no stale module left behind


def test_stepping_back_shows_the_output_from_before_the_edit(flow: Flow) -> None:
    pg = failed_at_check(flow)
    failed = pg.position
    flow.edit(flow.helpers, *FIX)
    pg.reload_file(flow.file)
    fixed = pg.continue_stale()[0].index
    diff = pg.diff(failed, fixed)
    assert diff.statuses_changed == {"check": (RunStatus.FAILED, RunStatus.COMPLETED)}
    assert diff.outputs_added == {"check": {"checked": 4}}
    before = pg.goto(failed)
    assert before.runs["check"].status is RunStatus.FAILED and before.stale == ()
    # acting from before the edit runs the current code, never the old one
    pg.rerun("check")
    assert [s.kind for s in pg.snapshots[failed + 1:]] == [SnapshotKind.RELOAD,
                                                            SnapshotKind.RERUN]
    assert "rebased" in pg.snapshots[failed + 1].note
    assert pg.current.status is RunStatus.COMPLETED and flow.fetches() == 1


def test_unchanged_code_keeps_every_record(flow: Flow) -> None:
    pg = failed_at_check(flow)
    flow.edit(flow.file, "def check(ctx, config):\n",
              "# a comment and a blank line\n\ndef check(ctx, config):\n")
    report = pg.reload_file(flow.file)
    assert report.changed == () and report.stale == ()
    assert report.describe() == "no step changed"
    with pytest.raises(NothingStaleError):
        pg.continue_stale()


def test_a_changed_upstream_step_makes_everything_after_it_stale(flow: Flow) -> None:
    pg = WorkflowPlayground()
    flow.edit(flow.helpers, *FIX)
    pg.load(flow.workflow())
    pg.continue_()
    assert pg.is_complete and flow.fetches() == 1
    flow.edit(flow.file, "[1, 2, 3, 4]", "[1, 2]")
    report = pg.reload_file(flow.file)
    assert report.stale == ("fetch", "check", "report")
    assert [c.step for c in report.changed] == ["fetch"]
    pg.continue_stale()
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.END
    assert pg.outputs["report"] == {"summary": "2 rows ok"} and flow.fetches() == 2


def test_breakpoints_and_failures_pause_the_stale_reruns(flow: Flow) -> None:
    pg = WorkflowPlayground()
    pg.load(flow.workflow())
    pg.add_breakpoint("fetch")
    pg.continue_()  # paused before fetch
    pg.continue_()  # fetch, then check fails
    flow.edit(flow.file, "[1, 2, 3, 4]", "[1, 2, 3, 5]")
    pg.reload_file(flow.file)
    assert pg.stale_steps == ("fetch", "check")
    assert pg.continue_stale() == []
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.BREAKPOINT
    done = pg.continue_stale()  # resumes past the breakpoint, stops at the failure again
    assert [s.step_name for s in done] == ["fetch", "check"]
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.FAILURE
    assert done[-1].error == "rows above 3: [5]"  # the new output reached check


def test_a_broken_save_keeps_the_last_good_definition(flow: Flow) -> None:
    pg = failed_at_check(flow)
    snapshots = pg.snapshots
    good = flow.file.read_text()
    flow.file.write_text(good.replace("def report(ctx, config):", "def report(ctx, config:"))
    with pytest.raises(ReloadError) as caught:
        pg.reload_file(flow.file)
    (error,) = caught.value.errors
    line = line_of(good, "def report(ctx, config):")
    assert (error.path, error.line, error.error_type) == (str(flow.file), line, "SyntaxError")
    assert f"{flow.file}:{line}:" in str(caught.value)
    assert pg.snapshots == snapshots  # nothing recorded, nothing lost

    flow.file.write_text(good.replace('Step.lambda_("report", report)',
                                      'Step.lambda_("report", report, depends_on=["report"])'))
    with pytest.raises(ReloadError, match="dependency cycle") as caught:
        pg.reload_file(flow.file)
    assert caught.value.errors[0].line == line_of(good, "wf = Workflow(")
    assert sys.modules["hot_swap_flow"].wf is not None

    flow.file.write_text(good.replace("Workflow(\"hot_swap.flow\"", "Workflow(\"renamed\""))
    with pytest.raises(ReloadError, match="no longer defines workflow 'hot_swap.flow'"):
        pg.reload_file(flow.file)

    flow.file.write_text(good.replace(', Step.lambda_("check", check)', "")
                         .replace("[1, 2, 3, 4]", "[1]"))
    with pytest.raises(ReloadError, match="removes step 'check', which is being inspected"):
        pg.reload_file(flow.file)
    assert pg.snapshots == snapshots

    flow.file.write_text(good)
    flow.edit(flow.helpers, *FIX)
    assert pg.reload_file(flow.file).stale == ("check",)  # the next good save works


def test_a_removed_step_drops_its_record_and_rewires_the_next(flow: Flow) -> None:
    pg = failed_at_check(flow)
    pg.step_back()  # now at fetch: check may go
    flow.edit(flow.file, ', Step.lambda_("check", check)', "")
    report = pg.reload_file(flow.file)
    assert {c.step: c.reasons for c in report.changed} == {
        "report": (ChangeReason.DEPENDENCIES,), "check": (ChangeReason.REMOVED,)}
    assert [s.name for s in pg.current.steps] == ["fetch", "report"]
    assert pg.step().output == {"summary": "None rows ok"}
    assert flow.fetches() == 1


def test_a_stored_run_is_fixed_then_retried_as_a_linked_run(flow: Flow, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    handle = start_run(flow.workflow(), db=db)
    assert handle.wait(30).status is RunStatus.FAILED
    store = RunStore(db)
    try:
        pg = WorkflowPlayground()
        with pytest.raises(RetryStoredError, match="no stored run is open"):
            pg.load(flow.workflow())
            pg.retry_stored()
        pg.load_run(handle.run_id, store, at="check")
        flow.edit(flow.helpers, *FIX)
        assert pg.reload_file(flow.file).stale == ()  # check has no record before it yet
        assert pg.step().output == {"checked": 4}  # against fetch's recorded output
        assert flow.fetches() == 1

        retry = pg.retry_stored(started_by="tui")
        result = retry.wait(30)
        assert result.status is RunStatus.COMPLETED
        assert result.steps["report"].output == {"summary": "4 rows ok"}
        assert RunControl(store).origin(retry.run_id) == {
            "kind": "retry", "run_id": handle.run_id, "step": "check"}
        assert flow.fetches() == 1  # the retry reused fetch's stored output
    finally:
        store.close()


def test_a_retry_that_would_reuse_a_changed_output_is_refused(flow: Flow, tmp_path: Path
                                                              ) -> None:
    db = tmp_path / "runs.db"
    handle = start_run(flow.workflow(), db=db)
    handle.wait(30)
    store = RunStore(db)
    try:
        pg = WorkflowPlayground()
        pg.load_run(handle.run_id, store)
        flow.edit(flow.file, "[1, 2, 3, 4]", "[1, 2]")
        assert pg.reload_file(flow.file).stale == ("fetch", "check")
        with pytest.raises(RetryStoredError, match="'fetch' completed in run"):
            pg.retry_stored()
    finally:
        store.close()


def test_a_stepped_into_map_survives_an_unrelated_edit_only() -> None:
    def items(ctx, config):
        return StepResult.ok(output={"items": [{"n": 1}, {"n": 2}]})

    def square(ctx, config):
        return StepResult.ok(output={"sq": config["n"] ** 2})

    def cube(ctx, config):
        return StepResult.ok(output={"sq": config["n"] ** 3})

    def tail(ctx, config):
        return StepResult.ok(output={"done": True})

    def flow_of(inner, last) -> Workflow:
        return Workflow("hot_swap.map", [
            Step.lambda_("items", items),
            Step.map("each", "$.outputs.items.items", [Step.lambda_("sq", inner)]),
            Step.lambda_("tail", last)])

    pg = WorkflowPlayground()
    pg.load(flow_of(square, tail))
    pg.step()
    child = pg.step_into("each")
    child.step()
    pg.reload(flow_of(square, lambda ctx, config: StepResult.ok(output={"done": 1})))
    assert pg.child is child  # the edit is downstream: the open map is kept
    pg.reload(flow_of(cube, tail))
    assert pg.child is None  # the map itself changed: stepping into it again runs the edit
    assert pg.step().output == {"results": [{"sq": 1}, {"sq": 8}], "count": 2}


def test_reload_refuses_another_workflow_or_a_missing_sub_workflow() -> None:
    wf = Workflow("hot_swap.one", [Step.wait("nap", 0)])
    pg = WorkflowPlayground()
    pg.load(wf)
    with pytest.raises(ReloadError, match="debugs 'hot_swap.one'"):
        pg.reload(Workflow("hot_swap.two", [Step.wait("nap", 0)]))
    with pytest.raises(ReloadError, match="hot_swap.missing"):
        pg.reload(Workflow("hot_swap.one", [Step.workflow("sub", "hot_swap.missing")]))
    register_workflow(Workflow("hot_swap.child", [Step.wait("nap", 0)]))
    report = pg.reload(Workflow("hot_swap.one", [Step.wait("nap", 0),
                                                 Step.workflow("sub", "hot_swap.child")]))
    assert report.changed_steps == ("sub",) and report.stale == ()


def test_saved_files_notice_a_save_of_the_file_or_its_helpers(flow: Flow) -> None:
    flow.workflow()
    saves = SavedFiles(flow.file)
    assert set(saves.files) == {str(flow.file), str(flow.helpers)}
    assert saves.changed() == ()
    flow.edit(flow.helpers, *FIX)
    assert saves.changed() == (str(flow.helpers),)
    assert saves.changed() == ()
