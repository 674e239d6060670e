"""The one schedule test on the real clock: a ``* * * * *`` schedule fires at the next minute.

Slow on purpose (up to ~60 s waiting for the minute to turn): every other schedule test moves a
fake clock; this one proves the real loop thread, its sleep until the next fire, and the wall
clock agree. Deselect it with ``-k "not real_clock"`` when iterating.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from waits import wait_until

from engine import Catalog, DiscoveredWorkflow, RunStore, ScheduleLoop, Step, Workflow


@pytest.mark.timeout(120)
def test_real_clock_a_minute_schedule_fires_within_65_seconds(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    wf = Workflow("sched.realtime", [Step.wait("nap", 0)])
    catalog = Catalog((DiscoveredWorkflow(wf, "registry", "registry"),))
    loop = ScheduleLoop(db, lambda: catalog, interval=1.0)
    created = loop.schedules.create("every-minute", "sched.realtime", "* * * * *")
    assert created.next_fire_at is not None
    minute = created.next_fire_at
    assert 0 < minute - time.time() <= 60 and minute % 60 == 0

    stop = threading.Event()
    thread = loop.start(stop)
    store = RunStore(db)
    try:
        runs = wait_until(lambda: store.list_runs(workflow="sched.realtime"), timeout=65,
                          what="the minute schedule to fire")
    finally:
        stop.set()
        thread.join(10)
    run = runs[0]
    assert run.started_by == "schedule:every-minute"
    assert run.created_at is not None
    late = run.created_at.timestamp() - minute
    assert 0 <= late < 5, f"fired {late:.3f}s after the minute"
    assert loop.store.get("every-minute").next_fire_at == minute + 60
    wait_until(lambda: store.get_run(run.run_id).status.is_terminal, what="the run to end")
