"""``spine-engine alerts``: list delivered, failed and pending alerts, send the due ones (those a
dead process left behind), and send a failed one again — against a real HTTP peer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine import AlertPolicy, Step, StepResult, TrackedWorkflowRunner, WebhookChannel, Workflow
from engine.store import AlertOutbox
from engine.store.alerts import NewAlert

Cli = Callable[..., Any]  # the conftest's ``cli``/``run_module`` fixtures


class Peer:
    """An HTTP server on 127.0.0.1 (on ``port`` when given) keeping the JSON it receives."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet: the test asserts on what arrived."""

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fail(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.fail("ledger does not balance", category="DATA_QUALITY")


def failed_run(store_path: Path, *channels: WebhookChannel) -> str:
    """Run a failing workflow whose alerts go to ``channels`` (one attempt each), and wait
    for them to be settled."""
    policy = AlertPolicy(on_failure=list(channels), max_attempts=1)
    with TrackedWorkflowRunner(store_path) as runner:
        run_id = runner.execute(Workflow("cli.alerting", [Step.lambda_("check", _fail)],
                                         alerts=policy)).run_id
    return run_id  # closing the runner let its sender finish what was due


def test_alerts_lists_delivered_and_failed_ones(cli: Cli, peer: Peer,
                                                store_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/down"
    run_id = failed_run(store_path, WebhookChannel(f"{peer.url}/up"), WebhookChannel(dead))
    listing = cli("alerts", "--json")
    assert listing.code == 0, listing.err
    data = json.loads(listing.out)
    assert data["counts"] == {"pending": 0, "sending": 0, "delivered": 1, "failed": 1}
    statuses = {a["channel"]["url"]: a["status"] for a in data["alerts"]}
    assert statuses == {f"{peer.url}/up": "delivered", dead: "failed"}
    assert all(a["run_id"] == run_id and a["kind"] == "failure" for a in data["alerts"])

    failed = cli("alerts", "list", "--status", "failed")
    assert failed.code == 0
    assert "POST failed" in failed.out and "Connection refused" in failed.out
    assert "webhook" in failed.out and "http://127.0.0.1:" in failed.out
    assert "1 alert shown" in failed.out and "1 delivered, 1 failed" in failed.out


def test_alerts_send_delivers_what_a_dead_process_left_pending(
        cli: Cli, peer: Peer, store_path: Path) -> None:
    outbox = AlertOutbox(store_path)  # as if a run's process died right after queueing
    channel = {**WebhookChannel(f"{peer.url}/late").to_config(), "delivery": {}}
    outbox.enqueue([NewAlert(kind="failure", channel=channel, run_id="r1", workflow="w",
                             payload={"text": "late but there"})])
    outbox.db.close()
    sent = cli("alerts", "send")
    assert sent.code == 0, sent.err
    assert "sent 1 due alert: 1 delivered, 0 to retry, 0 failed" in sent.out
    assert peer.bodies == [{"text": "late but there"}]
    again = cli("alerts", "send", "--json")
    assert json.loads(again.out)["delivered"] == []  # delivered once, never twice


def test_alerts_retry_sends_a_failed_alert_again(cli: Cli,
                                                 store_path: Path) -> None:
    port = free_port()
    failed_run(store_path, WebhookChannel(f"http://127.0.0.1:{port}/back"))
    [alert] = json.loads(cli("alerts", "--json").out)["alerts"]
    assert alert["status"] == "failed"
    unsent = cli("alerts", "send")
    assert "sent 0 due alerts" in unsent.out  # a failed alert waits for `retry`
    endpoint = Peer(port)  # the endpoint is back
    try:
        retried = cli("alerts", "retry", str(alert["id"]))
        assert retried.code == 0, retried.err
        assert f"delivered alert {alert['id']}" in retried.out
        assert endpoint.bodies[0]["workflow"] == "cli.alerting"
    finally:
        endpoint.close()
    refused = cli("alerts", "retry", str(alert["id"]))
    assert refused.code == 2
    assert "is delivered; only failed or pending alerts can be sent again" in refused.err


def test_alerts_retry_and_send_report_failures(cli: Cli,
                                               store_path: Path) -> None:
    missing = cli("alerts", "retry", "999")
    assert missing.code == 2 and "no alert 999" in missing.err
    failed_run(store_path, WebhookChannel(f"http://127.0.0.1:{free_port()}/down"))
    [alert] = json.loads(cli("alerts", "--json").out)["alerts"]
    retried = cli("alerts", "retry", str(alert["id"]), "--json")
    assert retried.code == 1
    assert json.loads(retried.out)["alert"]["status"] == "failed"
