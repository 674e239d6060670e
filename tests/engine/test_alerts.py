"""Alerts against real local peers: an HTTP server on 127.0.0.1 receiving webhook and Slack
alerts, an aiosmtpd server receiving e-mail, a sender killed mid-send, an endpoint that is
down; every wait is on a condition."""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from waits import wait_until

from engine import (
    AlertChannel,
    AlertPolicy,
    AlertSender,
    ConsoleChannel,
    EmailChannel,
    ManagedWorkflow,
    RunControl,
    RunStatus,
    SlackChannel,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    WebhookChannel,
    Workflow,
    WorkflowValidationError,
    register_workflow,
    start_run,
    unregister_workflow,
)
from engine.store import AlertOutbox, AlertRecord
from engine.store.alerts import NewAlert

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ local peers
@dataclass
class Peer:
    """An HTTP server on 127.0.0.1 that records JSON posts; ``/hang`` holds a request until
    ``release`` is set, ``/status/N`` answers N."""

    server: ThreadingHTTPServer
    received: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def posts(self, path: str) -> list[dict[str, Any]]:
        with self.arrived:
            return [body for p, body, _ in self.received if p == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len([1 for p, _, _ in self.received
                                                    if p == path]) >= count, timeout)
        assert ok, f"{path} got {len(self.posts(path))} of {count} posts within {timeout}s"
        return self.posts(path)


@pytest.fixture
def peer() -> Iterator[Peer]:
    holder: list[Peer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            me = holder[0]
            with me.arrived:
                me.received.append((self.path, body, time.monotonic()))
                me.arrived.notify_all()
            if self.path == "/hang":
                me.release.wait(30)
            code = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/status/") else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            """Quiet: the test asserts on what arrived."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Peer(server))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield holder[0]
    holder[0].release.set()
    server.shutdown()
    server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        with self.arrived:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ workflows
def _fail(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.fail("warehouse unreachable", category="DEPENDENCY")


def _ok(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.ok({"done": True})


def failing(name: str, policy: AlertPolicy) -> Workflow:
    return Workflow(name, [Step.lambda_("load", _ok), Step.lambda_("save", _fail)],
                    alerts=policy)


def alerts_of(runner: TrackedWorkflowRunner, run_id: str | None = None) -> list[AlertRecord]:
    return AlertOutbox(runner.store.db).list_alerts(run_id=run_id)


def delivered(runner: TrackedWorkflowRunner, count: int) -> list[AlertRecord] | None:
    """The delivered alerts once there are ``count`` of them."""
    rows = [r for r in alerts_of(runner) if r.status == "delivered"]
    return rows if len(rows) == count else None


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[TrackedWorkflowRunner]:
    with TrackedWorkflowRunner(tmp_path / "spine.db") as tracked:
        yield tracked


# ------------------------------------------------------------------ the spec's API
def test_the_spec_example_builds_with_only_imports_changed() -> None:
    """Spec §15b, steps filled in."""
    workflow = Workflow(
        name="critical.daily_etl",
        steps=[Step.lambda_("extract", _ok)],
        alerts=AlertPolicy(
            on_failure=[
                SlackChannel(webhook_url="secret:env:SLACK_WEBHOOK",
                             channel="#pipeline-alerts"),
                EmailChannel(to=["oncall@company.com"]),
            ],
            on_slow=[
                SlackChannel(webhook_url="secret:env:SLACK_WEBHOOK"),
            ],
            slow_threshold_seconds=300,
        ),
    )
    data = workflow.to_dict()["alerts"]
    assert data["on_failure"][0] == {"type": "slack", "timeout_seconds": 10.0,
                                     "webhook_url": "secret:env:SLACK_WEBHOOK",
                                     "channel": "#pipeline-alerts", "username": None}
    assert data["on_failure"][1]["to"] == ["oncall@company.com"]
    assert data["slow_threshold_seconds"] == 300
    assert AlertPolicy.from_dict(data) == workflow.alerts


@pytest.mark.parametrize("make, message", [
    (lambda: AlertPolicy(on_failure=["#alerts"]), "takes alert channels"),
    (lambda: AlertPolicy(on_slow=[ConsoleChannel()]), "needs slow_threshold_seconds"),
    (lambda: AlertPolicy(slow_threshold_seconds=0), "slow_threshold_seconds"),
    (lambda: AlertPolicy(max_attempts=0), "max_attempts"),
    (lambda: WebhookChannel("ftp://example.com"), "http(s) URL or a secret reference"),
    (lambda: SlackChannel(webhook_url="secret:env"), "http(s) URL or a secret reference"),
    (lambda: EmailChannel(to=["nobody"]), "e-mail addresses"),
    (lambda: EmailChannel(to=["a@b.c"], password="hunter2"), "must be a secret reference"),
    (lambda: EmailChannel(to=["a@b.c"], smtp_port=70000), "port number"),
    (lambda: Workflow("x", [Step.lambda_("a", _ok)], alerts=[ConsoleChannel()]),
     "alerts must be an AlertPolicy"),
])
def test_bad_channels_and_policies_are_refused_when_defined(make: Any, message: str) -> None:
    with pytest.raises(WorkflowValidationError) as caught:  # AlertConfigError is one
        make()
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_managed_workflow_passes_alerts_to_its_workflow(tmp_path: Path, peer: Peer) -> None:
    policy = AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/hook")])
    flow = ManagedWorkflow("alerts.managed", db=str(tmp_path / "m.db"), alerts=policy)
    flow.step("boom", lambda: 1 / 0)
    assert flow.workflow.alerts is policy
    assert flow.run().status is RunStatus.FAILED
    [body] = peer.wait_for("/hook")
    assert body["workflow"] == "alerts.managed" and body["error_step"] == "boom"


# ------------------------------------------------------------------ delivery
def test_a_failed_run_alerts_webhook_and_slack_with_their_json(
        runner: TrackedWorkflowRunner, peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_url = f"{peer.url}/slack/T000/B000/hook-token-5f1c9a"
    monkeypatch.setenv("SPINE_TEST_SLACK_WEBHOOK", slack_url)
    policy = AlertPolicy(on_failure=[
        WebhookChannel(f"{peer.url}/hook", headers={"X-Team": "data"}),
        SlackChannel(webhook_url="secret:env:SPINE_TEST_SLACK_WEBHOOK", channel="#pipeline")])
    result = runner.execute(failing("alerts.etl", policy))
    assert result.status is RunStatus.FAILED

    [hook] = peer.wait_for("/hook")
    assert hook["kind"] == "failure" and hook["status"] == "failed"
    assert hook["workflow"] == "alerts.etl" and hook["run_id"] == result.run_id
    assert hook["error_step"] == "save" and hook["category"] == "DEPENDENCY"
    assert "warehouse unreachable" in hook["error"] and "failed at step save" in hook["text"]
    [slack] = peer.wait_for("/slack/T000/B000/hook-token-5f1c9a")
    assert slack["channel"] == "#pipeline" and slack["text"] == hook["text"]
    assert slack["blocks"][0] == {"type": "section",
                                  "text": {"type": "mrkdwn", "text": hook["text"]}}
    assert result.run_id in slack["blocks"][1]["elements"][0]["text"]

    rows = wait_until(lambda: delivered(runner, 2), what="both alerts marked delivered")
    assert {r.channel_type for r in rows} == {"webhook", "slack"}
    assert all(r.attempts == 1 and r.delivered_at for r in rows)
    runner.close()
    stored = b"".join(p.read_bytes() for p in runner.store.path.parent.glob("spine.db*"))
    assert b"secret:env:SPINE_TEST_SLACK_WEBHOOK" in stored  # the reference is kept ...
    assert b"hook-token-5f1c9a" not in stored  # ... never the value


def test_email_goes_through_a_real_smtp_server(runner: TrackedWorkflowRunner,
                                               smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    channel = EmailChannel(to=["oncall@example.com", "lead@example.com"], smtp_host="127.0.0.1",
                           smtp_port=port, sender="spine@example.com")
    result = runner.execute(failing("alerts.mail", AlertPolicy(on_failure=[channel])))
    with mailbox.arrived:
        assert mailbox.arrived.wait_for(lambda: mailbox.messages, 20)
    sender, recipients, message = mailbox.messages[0]
    assert sender == "spine@example.com"
    assert recipients == ["oncall@example.com", "lead@example.com"]
    assert message["Subject"] == "[spine] alerts.mail failed"
    body = message.get_payload(decode=True).decode()
    assert f"run {result.run_id} failed at step save (DEPENDENCY)" in body
    assert "error_step: save" in body


def test_a_completed_run_alerts_nobody(runner: TrackedWorkflowRunner, peer: Peer) -> None:
    wf = Workflow("alerts.fine", [Step.lambda_("a", _ok)],
                  alerts=AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/hook")]))
    assert runner.execute(wf).status is RunStatus.COMPLETED
    assert alerts_of(runner) == []


def test_a_slow_run_alerts_while_it_is_still_running_and_only_once(
        runner: TrackedWorkflowRunner, peer: Peer) -> None:
    def wait_for_the_alert(ctx: Any, config: dict[str, Any]) -> StepResult:
        peer.wait_for("/slow")  # the step ends only once the slow alert has arrived
        return StepResult.ok()

    policy = AlertPolicy(on_slow=[WebhookChannel(f"{peer.url}/slow")],
                         slow_threshold_seconds=0.05)
    result = runner.execute(Workflow("alerts.slow", [Step.lambda_("crawl", wait_for_the_alert)],
                                     alerts=policy))
    assert result.status is RunStatus.COMPLETED
    [body] = peer.posts("/slow")
    assert body["kind"] == "slow" and body["status"] == "running"
    assert body["threshold_seconds"] == 0.05 and body["duration_seconds"] >= 0.05
    assert [r.kind for r in alerts_of(runner)] == ["slow"]  # not again when it finished


def test_an_approval_wait_notifies_the_workflow_channels(tmp_path: Path, peer: Peer) -> None:
    gate = Step.approval("deploy", message="Deploy risk model v3?",
                         approvers=["lead@example.com"])
    wf = Workflow("alerts.deploy", [Step.lambda_("build", _ok), gate],
                  alerts=AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/hook")]))
    with TrackedWorkflowRunner(tmp_path / "spine.db", poll_interval=0.05) as tracked:
        handle = start_run(wf, runner=tracked)
        [body] = peer.wait_for("/hook")
        assert body["kind"] == "approval" and body["step"] == "deploy"
        assert body["message"] == "Deploy risk model v3?"
        assert body["approvers"] == ["lead@example.com"]
        assert body["approve_command"] == f"spine-engine approve {handle.run_id} deploy --by NAME"
        control = RunControl(tracked.store)
        control.approve(handle.run_id, "deploy", by="ann")
        assert handle.wait(30).status is RunStatus.COMPLETED
        [decision] = control.approvals(handle.run_id, status=None)
        assert decision.decided_by == "ann"
    assert len(peer.posts("/hook")) == 1


def _release_child(name: str) -> Workflow:
    return register_workflow(Workflow(name, [
        Step.approval("sign_off", message="Release the child?", approvers=["cfo@example.com"])]))


def test_an_approval_inside_a_sub_workflow_notifies_the_parent_channels(
        tmp_path: Path, peer: Peer) -> None:
    """The child waits through its parent's signals; the parent's channels hear of it once,
    naming the child's run (which holds the approval) and its gate."""
    _release_child("alerts.child_release")
    try:
        parent = Workflow("alerts.parent", [
            Step.lambda_("build", _ok),
            Step.workflow("release", "alerts.child_release")],
            alerts=AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/hook")]))
        with TrackedWorkflowRunner(tmp_path / "spine.db", poll_interval=0.05) as tracked:
            handle = start_run(parent, runner=tracked)
            [body] = peer.wait_for("/hook")
            assert body["kind"] == "approval" and body["step"] == "sign_off"
            assert body["message"] == "Release the child?"
            assert body["approvers"] == ["cfo@example.com"]
            waiting = body["run_id"]  # the child's run, which holds the approval
            assert waiting != handle.run_id and body["workflow"] == "alerts.child_release"
            assert body["approve_command"] == f"spine-engine approve {waiting} sign_off --by NAME"
            RunControl(tracked.store).approve(waiting, "sign_off", by="cfo")
            assert handle.wait(30).status is RunStatus.COMPLETED
            wait_until(lambda: tracked.store.get_run(waiting).status is RunStatus.COMPLETED,
                       timeout=30, what="the run that waited completes")
        assert len(peer.posts("/hook")) == 1  # no failure alert, no second approval
    finally:
        unregister_workflow("alerts.child_release")


SEEN: list[str] = []


@dataclass(frozen=True, slots=True)
class ListChannel(AlertChannel):
    """A custom channel: stored by ``module:qualname``, rebuilt by whichever sender sends."""

    prefix: str = ">"

    def send(self, alert: Any, resolve: Any) -> None:
        SEEN.append(f"{self.prefix} {alert['kind']} {alert['workflow']}")


def test_a_custom_channel_is_stored_by_reference_and_delivered(
        runner: TrackedWorkflowRunner) -> None:
    SEEN.clear()
    runner.execute(failing("alerts.custom", AlertPolicy(on_failure=[ListChannel("!")])))
    [row] = wait_until(lambda: delivered(runner, 1), what="the alert delivered")
    assert row.channel["type"] == f"{__name__}:ListChannel" and row.channel["prefix"] == "!"
    assert SEEN == ["! failure alerts.custom"]


# ------------------------------------------------------------------ retries and failures
def test_an_unreachable_endpoint_is_retried_with_backoff_then_failed(
        runner: TrackedWorkflowRunner) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/hook"  # nothing listens: connection refused
    policy = AlertPolicy(on_failure=[WebhookChannel(dead, timeout_seconds=1)], max_attempts=3,
                         retry_backoff_seconds=0.05)
    result = runner.execute(failing("alerts.down", policy))
    assert result.status is RunStatus.FAILED  # the run's own outcome, untouched
    assert result.steps["save"].error and "warehouse unreachable" in result.steps["save"].error
    [row] = wait_until(lambda: [r for r in alerts_of(runner) if r.status == "failed"],
                       what="the alert marked failed")
    assert row.attempts == 3
    assert "POST failed" in (row.last_error or "") and "after 3 attempts" in (row.last_error or "")
    record = runner.store.get_run(result.run_id)
    assert record.status is RunStatus.FAILED and record.error_step == "save"


def test_backoff_doubles_between_attempts(runner: TrackedWorkflowRunner, peer: Peer) -> None:
    policy = AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/status/503")], max_attempts=3,
                         retry_backoff_seconds=0.2)
    runner.execute(failing("alerts.busy", policy))
    peer.wait_for("/status/503", count=3)
    times = [at for path, _, at in peer.received if path == "/status/503"]
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.4
    [row] = wait_until(lambda: [r for r in alerts_of(runner) if r.status == "failed"],
                       what="the alert marked failed")
    assert "HTTP 503" in (row.last_error or "")


def test_a_client_error_is_not_retried(runner: TrackedWorkflowRunner, peer: Peer) -> None:
    policy = AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/status/404")],
                         retry_backoff_seconds=0)
    runner.execute(failing("alerts.gone", policy))
    [row] = wait_until(lambda: [r for r in alerts_of(runner) if r.status == "failed"],
                       what="the alert marked failed")
    assert row.attempts == 1 and "HTTP 404" in (row.last_error or "")


def test_a_missing_secret_is_retried_later_and_never_stores_a_value(
        runner: TrackedWorkflowRunner, peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPINE_TEST_LATE_HOOK", raising=False)
    policy = AlertPolicy(on_failure=[WebhookChannel("secret:env:SPINE_TEST_LATE_HOOK")],
                         retry_backoff_seconds=60)
    runner.execute(failing("alerts.late", policy))
    row = wait_until(lambda: [r for r in alerts_of(runner) if r.last_error],
                     what="a failed attempt")[0]
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= time.time() + 50  # backing off, not given up
    assert "SPINE_TEST_LATE_HOOK" in (row.last_error or "")
    monkeypatch.setenv("SPINE_TEST_LATE_HOOK", f"{peer.url}/late")
    outbox = AlertOutbox(runner.store.db)
    outbox.requeue(row.id)  # what `spine-engine alerts retry ID` does
    assert AlertSender(outbox).send_one(row.id) == "delivered"
    [body] = peer.wait_for("/late")
    assert body["workflow"] == "alerts.late"
    runner.close()
    stored = b"".join(p.read_bytes() for p in runner.store.path.parent.glob("spine.db*"))
    assert f"127.0.0.1:{peer.server.server_port}/late".encode() not in stored


def test_two_senders_never_send_one_alert_twice(tmp_path: Path, peer: Peer) -> None:
    outbox = AlertOutbox(tmp_path / "spine.db")
    channel = {**WebhookChannel(f"{peer.url}/race").to_config(), "delivery": {}}
    outbox.enqueue([NewAlert(kind="failure", channel=channel, payload={"n": n},
                             workflow="alerts.race") for n in range(40)])
    senders = [AlertSender(outbox.db) for _ in range(4)]
    threads = [threading.Thread(target=s.send_due) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    numbers = sorted(body["n"] for body in peer.posts("/race"))
    assert numbers == list(range(40))
    assert outbox.counts()["delivered"] == 40


SCRIPT = textwrap.dedent("""
    import sys
    from engine import AlertPolicy, Step, StepResult, TrackedWorkflowRunner, WebhookChannel, Workflow

    def fail(ctx, config):
        return StepResult.fail("boom")

    url, db = sys.argv[1], sys.argv[2]
    policy = AlertPolicy(on_failure=[WebhookChannel(url + "/hang", timeout_seconds=1),
                                     WebhookChannel(url + "/after")])
    with TrackedWorkflowRunner(db) as runner:
        runner.execute(Workflow("alerts.killed", [Step.lambda_("x", fail)], alerts=policy))
""")


def test_a_sender_killed_mid_send_leaves_rows_the_next_sender_delivers(
        tmp_path: Path, peer: Peer) -> None:
    script = tmp_path / "killed.py"
    script.write_text(SCRIPT)
    db = tmp_path / "spine.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(script), peer.url, str(db)], env=env)
    try:
        peer.wait_for("/hang")  # the process's sender is inside its first POST
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    peer.release.set()
    outbox = AlertOutbox(db)
    by_path = {r.channel["url"].rsplit("/", 1)[1]: r for r in outbox.list_alerts()}
    assert by_path["hang"].status == "sending" and by_path["after"].status == "pending"
    assert peer.posts("/after") == []

    AlertSender(outbox).send_due()  # a later sender: the pending row goes at once
    assert len(peer.wait_for("/after")) == 1
    assert outbox.get(by_path["after"].id).status == "delivered"
    # the row of the dead sender is sent again once its lease (4 x 1 s + 1 s) has run out
    wait_until(lambda: AlertSender(outbox).send_due().delivered, timeout=30,
               what="the abandoned row re-sent")
    assert outbox.get(by_path["hang"].id).status == "delivered"
    assert outbox.get(by_path["hang"].id).attempts == 2
    assert len(peer.posts("/after")) == 1  # never twice


# ------------------------------------------------------------------ YAML
YAML = textwrap.dedent("""
    apiVersion: spine.io/v1
    kind: Workflow
    metadata: {name: yaml.alerts}
    spec:
      steps:
        - name: nap
          wait: {duration_seconds: 0}
      alerts:
        on_failure:
          - webhook: {url: "secret:env:ALERT_HOOK"}
          - slack: {webhook_url: "secret:env:SLACK_WEBHOOK", channel: "#pipeline-alerts"}
          - email: {to: [oncall@company.com], smtp_host: mail.internal}
        on_slow: [{console: {}}]
        slow_threshold_seconds: 300
""")


def test_yaml_alerts_round_trip_and_bad_ones_name_their_line() -> None:
    from engine import WorkflowSpec, WorkflowSpecError

    workflow = WorkflowSpec.from_yaml(YAML, "flow.yaml").to_workflow()
    assert workflow.alerts == AlertPolicy(
        on_failure=[WebhookChannel("secret:env:ALERT_HOOK"),
                    SlackChannel(webhook_url="secret:env:SLACK_WEBHOOK",
                                 channel="#pipeline-alerts"),
                    EmailChannel(to=["oncall@company.com"], smtp_host="mail.internal")],
        on_slow=[ConsoleChannel()], slow_threshold_seconds=300)
    exported = WorkflowSpec.from_workflow(workflow).to_yaml()
    assert "slack:\n          webhook_url: secret:env:SLACK_WEBHOOK" in exported
    assert WorkflowSpec.from_yaml(exported).to_workflow().alerts == workflow.alerts
    with pytest.raises(WorkflowSpecError, match=r"flow\.yaml:11: .*http\(s\) URL"):
        WorkflowSpec.from_yaml(YAML.replace('"secret:env:ALERT_HOOK"', "ftp://x"), "flow.yaml")
    with pytest.raises(WorkflowSpecError, match="exactly one of console, webhook, slack, email"):
        WorkflowSpec.from_yaml(YAML.replace("{console: {}}", "{}"), "flow.yaml")


# ------------------------------------------------------------------ a process that dies
HANGING_RUN = textwrap.dedent("""
    import sys, time
    from engine import AlertPolicy, Step, TrackedWorkflowRunner, WebhookChannel, Workflow

    def hang(ctx, config):
        print("step started", flush=True)
        time.sleep(120)
        return {}

    wf = Workflow("alerts.dies", [Step.lambda_("hang", hang)],
                  alerts=AlertPolicy(on_failure=[WebhookChannel(sys.argv[1] + "/died")]))
    with TrackedWorkflowRunner(sys.argv[2]) as runner:
        runner.execute(wf)
""")


def test_a_run_whose_process_dies_alerts_once_it_is_found_interrupted(
        tmp_path: Path, peer: Peer) -> None:
    script = tmp_path / "dies.py"
    script.write_text(HANGING_RUN)
    db = tmp_path / "spine.db"
    process = subprocess.Popen([sys.executable, str(script), peer.url, str(db)],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "step started"
        outbox = AlertOutbox(db)
        assert outbox.list_alerts() == []  # armed, not an alert: nothing to list or send
        assert AlertSender(outbox).send_due().attempted == 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    report = AlertSender(outbox).send_due()  # marks the dead run interrupted, then sends
    assert len(report.delivered) == 1
    [body] = peer.wait_for("/died")
    assert body["kind"] == "interrupted" and body["workflow"] == "alerts.dies"
    assert f"spine-engine resume {body['run_id']}" in body["text"]
    [record] = outbox.list_alerts()
    assert record.status == "delivered" and record.kind == "interrupted"
    assert AlertSender(outbox).send_due().attempted == 0  # once


def test_runs_that_end_in_their_process_leave_no_armed_alert(
        runner: TrackedWorkflowRunner, peer: Peer) -> None:
    policy = AlertPolicy(on_failure=[WebhookChannel(f"{peer.url}/failed")])
    ok = Workflow("alerts.fine", [Step.lambda_("load", _ok)], alerts=policy)
    assert runner.execute(ok).status is RunStatus.COMPLETED
    runner.execute(failing("alerts.fails", policy))
    kinds = runner.store.db.query("SELECT kind, status FROM alert_outbox ORDER BY id")
    assert [(k["kind"]) for k in kinds] == ["failure"]
    assert kinds[0]["status"] != "armed"
