"""A detached sub-workflow (``Step.workflow(..., wait=False)``) of a tracked run runs under
tracked signals of its own: its approval step waits after the parent has completed, is
approved through ``RunControl.approve(child_run_id, step)`` and the child completes; the
parent's alert channels hear of the child's approval. Untracked runs keep the clear error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from waits import wait_until

from engine import (
    AlertPolicy,
    RunControl,
    RunStatus,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    WebhookChannel,
    Workflow,
    WorkflowRunner,
    register_workflow,
)

pytestmark = pytest.mark.usefixtures("clean_registry")


class Hook:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.close()


def _built(ctx: Any, config: Any) -> StepResult:
    return StepResult.ok(output={"built": True})


def _published(ctx: Any, config: Any) -> StepResult:
    return StepResult.ok(output={"published": ctx.get_output("sign_off")["by"]})


def child_with_approval(name: str) -> Workflow:
    return register_workflow(Workflow(name, [
        Step.approval("sign_off", message="Publish the report?", approvers=["cfo@example.com"]),
        Step.lambda_("publish", _published)]))


def parent_of(child: str, alerts: AlertPolicy | None = None) -> Workflow:
    return Workflow("detached.parent", [
        Step.lambda_("build", _built),
        Step.workflow("report", child, wait=False)], alerts=alerts)


def test_a_detached_child_of_a_tracked_run_waits_for_approval_and_completes(
        tmp_path: Path, hook: Hook) -> None:
    child_with_approval("detached.child")
    parent = parent_of("detached.child",
                       AlertPolicy(on_failure=[WebhookChannel(hook.url)]))
    with TrackedWorkflowRunner(tmp_path / "spine.db", poll_interval=0.05) as tracked:
        result = tracked.execute(parent)
        assert result.status is RunStatus.COMPLETED, result.error
        child_run_id = result.outputs["report"]["child_run_id"]
        control = RunControl(tracked.store)
        record = control.wait(child_run_id, statuses=["waiting"], timeout=30)
        assert record.parent_run_id == result.run_id
        [pending] = control.approvals(child_run_id)
        assert pending.step == "sign_off" and pending.status == "pending"
        # the parent's channels hear of the child's approval, naming the child's run
        wait_until(lambda: hook.bodies, what="the approval alert")
        [body] = hook.bodies
        assert body["kind"] == "approval" and body["step"] == "sign_off"
        assert body["run_id"] == child_run_id and body["workflow"] == "detached.child"
        assert body["approve_command"] == (f"spine-engine approve {child_run_id} sign_off "
                                           "--by NAME")
        control.approve(child_run_id, "sign_off", by="cfo")
        done = control.wait(child_run_id, timeout=30)
        assert done.status is RunStatus.COMPLETED, done.error
        tracked.runner.wait_for_background(30)
        assert tracked.store.completed_outputs(child_run_id)["publish"] == {"published": "cfo"}
    assert len(hook.bodies) == 1  # no failure alert, no second approval


def test_a_detached_child_can_be_cancelled_by_its_own_run_id(tmp_path: Path) -> None:
    child_with_approval("detached.cancelled")
    with TrackedWorkflowRunner(tmp_path / "spine.db", poll_interval=0.05) as tracked:
        result = tracked.execute(parent_of("detached.cancelled"))
        child_run_id = result.outputs["report"]["child_run_id"]
        control = RunControl(tracked.store)
        control.wait(child_run_id, statuses=["waiting"], timeout=30)
        control.cancel(child_run_id)
        assert control.wait(child_run_id, timeout=30).status is RunStatus.CANCELLED
        tracked.runner.wait_for_background(30)
        [closed] = control.approvals(child_run_id, status=None)
        assert closed.status == "cancelled"


def test_an_untracked_detached_child_keeps_the_clear_error() -> None:
    child_with_approval("detached.untracked")
    finished: list[Any] = []
    runner = WorkflowRunner(listeners=[lambda e: finished.append(e)
                                       if type(e).__name__ == "RunFinished" else None])
    result = runner.execute(parent_of("detached.untracked"))
    runner.wait_for_background(30)
    assert result.status is RunStatus.COMPLETED
    child_run_id = result.outputs["report"]["child_run_id"]
    [child] = [e for e in finished if e.run_id == child_run_id]
    assert child.status == "failed"
    assert "needs a tracked run" in (child.error or "")
