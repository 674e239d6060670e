"""The Operations screen (O) over a real store: breakers, dead letters and alerts written by
other processes appear on the next read; p purges an item, x resets a breaker, s sends a
failed alert again, Enter shows details; and one snapshot with the clock frozen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from store_rows import T0
from textual.pilot import Pilot
from tui_harness import SIZE, drive, fixture_app, loaded, plain, wait_until

from engine import CircuitBreaker, CircuitState, DLQManager
from engine.store import AlertOutbox
from engine.store.alerts import NewAlert
from screens.operations import OperationsScreen, OpsDetailsScreen
from spine_tui.widgets.alerts_table import AlertsBox

NOW = T0 + 30  # the open breaker below refuses until T0 + 60: "in 30s"
#: nothing listens on the discard port: a send is refused at once, and fails for good
HOOK = {"type": "webhook", "url": "http://127.0.0.1:9/hooks/ops",
        "delivery": {"max_attempts": 1}}


def seed(db: Path) -> None:
    """An open breaker, a closed one that counted a failure, and two dead letters."""
    edgar = CircuitBreaker("sec_edgar", failure_threshold=3, recovery_timeout=60,
                           success_threshold=2, store=db, clock=lambda: T0)
    for _ in range(3):
        edgar.record_failure()
    data = CircuitBreaker("data_api", store=db, clock=lambda: T0 - 600)
    data.record_failure()
    dlq = DLQManager(db, clock=lambda: T0 - 120)
    dlq.add("selfheal.bad_records", {"id": 50, "amount": None},
            error="record 50: amount missing", error_category="DATA_QUALITY",
            run_id="run000001", workflow="selfheal.ingest", step="validate")
    dlq.add("selfheal.bad_records", {"id": 100, "amount": None},
            error="record 100: amount missing", error_category="DATA_QUALITY",
            run_id="run000001", workflow="selfheal.ingest", step="validate")
    seed_alerts(db)


def seed_alerts(db: Path) -> None:
    """One alert that failed for good and a later one that was delivered."""
    outbox = AlertOutbox(db)
    failed, delivered = (
        outbox.enqueue([NewAlert(kind=kind, channel=HOOK, run_id="run000001",
                                 workflow="selfheal.ingest", payload={"text": text})],
                       at=at)[0]
        for kind, text, at in (("failure", "selfheal.ingest failed", T0 - 90),
                               ("slow", "selfheal.ingest is slow", T0 - 60)))
    for alert_id in (failed, delivered):
        assert outbox.claim(alert_id, lease_seconds=30, now=T0) is not None
    outbox.mark_failed(failed, "HTTP 503 Service Unavailable (after 1 attempt)")
    outbox.mark_delivered(delivered, now=T0)
    outbox.db.close()


async def open_operations(pilot: Pilot[Any], breakers: int = 2,
                          letters: int = 2) -> OperationsScreen:
    await pilot.press("O")
    screen = pilot.app.screen
    assert isinstance(screen, OperationsScreen)
    await wait_until(pilot, lambda: screen.view is not None
                     and len(screen.view.breakers) == breakers
                     and len(screen.view.letters) == letters,
                     what=f"{breakers} breakers and {letters} dead letters")
    return screen


def test_lists_breakers_and_dead_letters_and_follows_other_processes(
        isolated_store: Path) -> None:
    seed(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_operations(pilot)
        assert screen.view is not None
        states = {b.record.name: b.effective for b in screen.view.breakers}
        assert states == {"data_api": CircuitState.CLOSED, "sec_edgar": CircuitState.OPEN}
        assert screen.breakers_table.row_count == 2 and screen.letters_table.row_count == 2
        assert [(a.kind, a.status) for a in screen.view.alerts] == [
            ("slow", "delivered"), ("failure", "failed")]  # newest first
        table = screen.alerts_table
        assert table.row_count == 2
        cells = [[plain_cell(c) for c in table.get_row_at(i)] for i in range(2)]
        assert cells[0][1:7] == ["slow", "selfheal.ingest", "run000001", "webhook",
                                 "delivered", "1"]
        assert cells[1][5] == "failed" and "HTTP 503" in cells[1][7]
        assert "1 delivered, 1 failed" in str(screen.query_one("#alert-box").border_title)
        assert not screen.query_one("#alert-empty").display
        assert "data_api" in plain(screen.query_one("#ops-details"))
        assert not screen.query_one("#brk-empty").display
        # written by "another process" while the screen is open: the next read shows it
        CircuitBreaker("billing", failure_threshold=1, store=isolated_store).record_failure()
        DLQManager(isolated_store).add("billing.retry", {"invoice": 7}, error="timeout")
        await wait_until(pilot, lambda: screen.view is not None
                         and len(screen.view.breakers) == 3 and len(screen.view.letters) == 3,
                         what="the new breaker and item")
        assert "3 pending: billing.retry 1, selfheal.bad_records 2" in str(
            screen.query_one("#dlq-box").border_title)

    drive(fixture_app(now=NOW), scenario)


def test_p_purges_the_highlighted_item_and_x_resets_the_highlighted_breaker(
        isolated_store: Path) -> None:
    seed(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_operations(pilot)
        assert screen.check_action("purge", ()) is None  # the breakers table has the focus
        await pilot.press("down")  # data_api -> sec_edgar, the open one
        assert screen.breakers_table.highlighted_key == "sec_edgar"
        await pilot.press("x")
        await wait_until(pilot, lambda: screen.view is not None and all(
            b.effective is CircuitState.CLOSED for b in screen.view.breakers),
            what="the breaker reset")
        stored = CircuitBreaker("sec_edgar", store=isolated_store).snapshot()
        assert (stored.state, stored.failures, stored.failure_threshold) == (
            CircuitState.CLOSED, 0, 3)  # its thresholds stay
        await pilot.press("tab")
        assert screen.check_action("purge", ()) is True
        first = screen.letters_table.highlighted_key
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.view is not None
                         and len(screen.view.letters) == 1, what="the item purged")
        assert [i.id for i in DLQManager(isolated_store).list()] != [int(str(first))]
        purged = DLQManager(isolated_store).get(int(str(first)))
        assert purged.status == "purged"

    drive(fixture_app(now=NOW), scenario)


def test_s_sends_the_highlighted_failed_alert_again_and_enter_shows_it(
        isolated_store: Path) -> None:
    seed(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_operations(pilot)
        await pilot.press("tab", "tab")  # breakers -> dead letters -> alerts
        assert screen.focused is screen.alerts_table
        assert screen.check_action("retry_alert", ()) is None  # the delivered one
        assert "selfheal.ingest is slow" in plain(screen.query_one("#ops-details"))
        await pilot.press("down")
        failed = screen.query_one(AlertsBox).highlighted
        assert failed is not None and failed.status == "failed"
        assert "HTTP 503" in plain(screen.query_one("#ops-details"))
        await pilot.press("enter")
        details = pilot.app.screen
        assert isinstance(details, OpsDetailsScreen)
        assert "selfheal.ingest failed" in details.body.plain  # the payload
        assert "HTTP 503" in details.body.plain and "run000001" in details.body.plain
        await pilot.press("escape")
        assert screen.check_action("retry_alert", ()) is True
        await pilot.press("s")  # the endpoint is still down: failed again, a new error
        await wait_until(pilot, lambda: screen.view is not None and any(
            a.id == failed.id and "HTTP 503" not in (a.last_error or "")
            for a in screen.view.alerts), what="the alert sent again")
        again = AlertOutbox(isolated_store).get(failed.id)
        assert (again.status, again.attempts) == ("failed", 1)
        assert any("Could not change alert" in (n.title or "")
                   for n in pilot.app._notifications)

    drive(fixture_app(now=NOW), scenario)


def test_enter_shows_everything_about_a_dead_letter(isolated_store: Path) -> None:
    seed(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_operations(pilot)
        await pilot.press("tab", "enter")
        details = pilot.app.screen
        assert isinstance(details, OpsDetailsScreen)
        text = details.body.plain
        assert '"amount": null' in text and "record 50: amount missing" in text
        assert "selfheal.ingest" in text and "run000001" in text
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, OperationsScreen)

    drive(fixture_app(now=NOW), scenario)


def test_an_empty_store_says_how_breakers_and_dead_letters_appear(isolated_store: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_operations(pilot, 0, 0)
        assert screen.query_one("#brk-empty").display
        assert "circuit_breaker='name'" in plain(screen.query_one("#brk-empty"))
        assert "DLQManager().add" in plain(screen.query_one("#dlq-empty"))
        assert "AlertPolicy" in plain(screen.query_one("#alert-empty"))

    drive(fixture_app(now=NOW), scenario)


def test_operations_snapshot(snap_compare: Any, isolated_store: Path) -> None:
    seed(isolated_store)

    async def show(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await open_operations(pilot)
        await pilot.press("down")
        await loaded(pilot)

    assert snap_compare(fixture_app(now=NOW, refresh=3600), terminal_size=SIZE,
                        run_before=show)


def plain_cell(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)
