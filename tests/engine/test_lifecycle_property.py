"""Property (issue 9): random sequences of start, pause, resume, cancel, approve, reject, retry,
kill -9 and resume, across this process and worker processes, keep every run sound: every
stored state is legal, every change of state has its event, nothing is lost.

A ``RuleBasedStateMachine`` drives runs of two tiny workflows (``tests/resources/lifecycle``):
``life.gated``, whose ``hold`` step waits for a gate file the machine opens with ``ok`` or
``fail``, and ``life.approval``, whose middle step waits for a person. Runs go on in this
process (``start_run``) or in long-lived worker processes (``worker.py``) that the machine may
kill -9 — between steps, or just after letting a run go on. After every rule each run settles
(blocked at its gate or approval, paused, or stopped), so a rule knows the state of the run it
acts on and checks both sides: what fits the state is done, what does not is refused naming
the state and leaves the store as it was.

Every snapshot of the store (one read transaction, taken while waiting for runs to settle, so
changes in flight are sampled too) must hold:

- every stored status of a run or step is a ``RunStatus``;
- replaying a run's lifecycle events through ``engine.lifecycle.TRANSITIONS`` (the first one
  is ``run_pending``, each move is allowed from the status before) ends at the stored status;
- every run the machine started is stored, and a stopped run has no step left running;
- a step once seen completed stays completed with the same output and never runs again in
  that run;
- a retry run has a ``retry_of`` event and its source a ``retried_by`` event naming it, and
  the steps it reused carry the source's outputs without running again.

At the end every run is let finish (approved, resumed, gates opened) and checked once more,
through ``RunStore`` too. ``--hypothesis-show-statistics`` shows what the examples did. The
races this turned up (fixed) keep deterministic regression tests at the bottom.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from engine import (
    IllegalTransitionError,
    RunControl,
    RunHandle,
    RunStatus,
    RunStore,
    TrackedWorkflowRunner,
    start_resume,
    start_retry,
)
from engine.lifecycle import LIVE, RESUMABLE, RETRYABLE, TRANSITIONS

RESOURCES = Path(__file__).parent.parent / "resources" / "lifecycle"
WORKER = RESOURCES / "worker.py"
sys.path.insert(0, str(RESOURCES))

import lifecycle_flows as flows  # noqa: E402

S = RunStatus
STOPPED = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.INTERRUPTED, S.SKIPPED})
STATUSES = frozenset(s.value for s in RunStatus)
APPROVAL_STATUSES = frozenset({"pending", "approved", "rejected", "expired", "cancelled"})
STEP = flows.APPROVAL_STEP
PLACES = ("local", "w0", "w1")
SETTLE_SECONDS = 45.0  # generous: CI machines are loaded; a settled run is seen in well under 1 s
POLL = 0.02
#: (aim, index): which run a rule acts on, see ``LifecycleMachine.pick``
TARGET = st.tuples(st.integers(0, 3), st.integers(0, 50))
#: how ``resume``/``retry`` stop a live run when none has stopped yet
STOP_HOW = st.sampled_from(["kill", "fail", "cancel"])

#: lifecycle event kind -> the status it moves a run to, and the event ``TRANSITIONS`` names
#: for that move (``run_finished``: its data says the status; ``admitted`` is the slot claim)
MOVES = {"run_pending": (S.PENDING, "RunPending"), "queued": (S.QUEUED, "RunQueued"),
         "admitted": (S.RUNNING, "RunStarted"), "run_started": (S.RUNNING, "RunStarted"),
         "paused": (S.PAUSED, "RunPaused"), "waiting": (S.WAITING, "RunWaiting"),
         "resumed": (S.RUNNING, "RunResumed"), "run_skipped": (S.SKIPPED, "RunSkipped"),
         "run_interrupted": (S.INTERRUPTED, "RunInterrupted")}
#: stored event kinds that do not change a run's status
NOT_MOVES = frozenset({"step_started", "step_finished", "step_retrying", "adaptive_change",
                       "retry_of", "retried_by", "replay_of", "replayed_by"})


# ---------------------------------------------------------------------- the store, read at once
Event = tuple[int, str, dict[str, Any]]


@dataclass
class Snapshot:
    """The rows of the store that matter here, read in one read transaction."""

    runs: dict[str, dict[str, Any]]
    events: dict[str, list[Event]]
    steps: dict[str, dict[str, str]]  # run -> step -> status
    outputs: dict[str, dict[str, str]]  # run -> step -> stored JSON
    commands: dict[str, int]  # run -> unhandled control commands
    approvals: dict[str, dict[str, str]]  # run -> step -> status

    def status(self, run_id: str) -> RunStatus:
        return S(self.runs[run_id]["status"])

    def kinds(self, run_id: str) -> list[str]:
        return [kind for _seq, kind, _data in self.events.get(run_id, [])]

    def digest(self, run_id: str) -> tuple[Any, ...]:
        """What a refused request must leave as it was (heartbeats and logs aside)."""
        row = self.runs.get(run_id) or {}
        return (row.get("status"), row.get("error"), row.get("pid"),
                len(self.events.get(run_id, [])), sorted(self.steps.get(run_id, {}).items()),
                sorted(self.outputs.get(run_id, {}).items()),
                sorted(self.approvals.get(run_id, {}).items()), self.commands.get(run_id, 0))


def read_snapshot(conn: sqlite3.Connection) -> Snapshot:
    conn.execute("BEGIN")
    try:
        runs = {r["run_id"]: dict(r) for r in conn.execute(
            "SELECT run_id, workflow, status, error, pid, params FROM runs")}
        events: dict[str, list[Event]] = {}
        for r in conn.execute("SELECT run_id, seq, kind, data FROM events ORDER BY run_id, seq"):
            events.setdefault(r["run_id"], []).append(
                (r["seq"], r["kind"], json.loads(r["data"] or "{}")))
        steps: dict[str, dict[str, str]] = {}
        for r in conn.execute("SELECT run_id, step, status FROM step_runs"):
            steps.setdefault(r["run_id"], {})[r["step"]] = r["status"]
        outputs: dict[str, dict[str, str]] = {}
        for r in conn.execute("SELECT run_id, step, output FROM step_runs "
                              "WHERE output IS NOT NULL"):
            outputs.setdefault(r["run_id"], {})[r["step"]] = r["output"]
        commands = {r[0]: r[1] for r in conn.execute(
            "SELECT run_id, count(*) FROM control WHERE handled_at IS NULL GROUP BY run_id")}
        approvals: dict[str, dict[str, str]] = {}
        for r in conn.execute("SELECT run_id, step, status FROM approvals"):
            approvals.setdefault(r["run_id"], {})[r["step"]] = r["status"]
    finally:
        conn.execute("COMMIT")
    return Snapshot(runs, events, steps, outputs, commands, approvals)


def replay(run_id: str, events: list[Event]) -> RunStatus | None:
    """Where the run's lifecycle events lead, each move checked against ``TRANSITIONS``."""
    status: RunStatus | None = None
    after_admitted = False
    for seq, kind, data in events:
        if kind in NOT_MOVES:
            continue
        if kind == "run_finished":
            assert data.get("status") in STATUSES, (run_id, seq, data)
            target, event = S(data["status"]), "RunFinished"
        else:
            assert kind in MOVES, f"run {run_id}: unknown event kind {kind!r} (seq {seq})"
            target, event = MOVES[kind]
        if status is None:
            assert kind == "run_pending", f"run {run_id}: first lifecycle event is {kind!r}"
        elif not (kind == "run_started" and status is S.RUNNING and after_admitted):
            # (a claimed slot holds the run as running until its RunStarted)
            assert TRANSITIONS[status].get(target) == event, (
                f"run {run_id}: event {kind!r} (seq {seq}) moves {status.value} -> "
                f"{target.value}, which the lifecycle does not allow by {event}; events: "
                f"{[k for _s, k, _d in events]}")
        after_admitted = kind == "admitted"
        status = target
    return status


# ---------------------------------------------------------------------- what suits a rule
Suits = Callable[[Snapshot, "Run"], bool]


def status_in(*statuses: RunStatus) -> Suits:
    return lambda snap, run: snap.status(run.run_id) in statuses


def approval_pending(snap: Snapshot, run: Run) -> bool:
    return snap.approvals.get(run.run_id, {}).get(STEP) == "pending"


def gate_closed(snap: Snapshot, run: Run) -> bool:
    return run.flow == "gated" and not flows.gate_path(run.gate).exists()


# ---------------------------------------------------------------------- worker processes
class Worker:
    """``worker.py`` in its own process: runs start, resume and retry there on command."""

    def __init__(self, name: str, db: Path, directory: Path) -> None:
        self.name = name
        self.log = directory / f"{name}.{time.monotonic_ns()}.stderr"
        self._stderr = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), str(db)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, env=os.environ.copy())
        self.pid = self.proc.pid
        self._answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, name=f"lifecycle-{name}", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put("")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, timeout: float = 30.0, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"worker {self.name} did not answer {command} within "
                                 f"{timeout:g}s") from None
        if not line:
            raise AssertionError(f"worker {self.name} exited: {self.stderr_tail()}")
        return json.loads(line)  # type: ignore[no-any-return]

    def stderr_tail(self) -> str:
        self._stderr.flush()
        return self.log.read_text()[-2000:]

    def kill(self) -> None:
        """kill -9, then reap the process: a zombie still answers ``kill(pid, 0)``."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def quit(self) -> None:
        try:
            if self.alive:
                with contextlib.suppress(Exception):  # a worker that cannot answer is killed
                    self.ask(timeout=40, op="quit")
                    self.proc.wait(10)
        finally:
            if self.alive:
                self.proc.kill()
                self.proc.wait(10)
            self._close()

    def _close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()


# ---------------------------------------------------------------------- the machine
@dataclass
class Run:
    run_id: str
    flow: str
    gate: str
    retry_of: str | None = None


@dataclass
class Seen:
    """A step the machine saw completed: its output and how often it had run by then."""

    output: str
    executions: int


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="lifecycle-property-"))
        self._env = {k: os.environ.get(k) for k in ("CTL_DIR", "SPINE_ENV")}
        os.environ["CTL_DIR"] = str(self.dir)
        os.environ.pop("SPINE_ENV", None)
        self.db = self.dir / "runs.db"
        self.local = TrackedWorkflowRunner(self.db, poll_interval=POLL)
        self.control = RunControl(self.db)
        self.conn = sqlite3.connect(self.db, timeout=30, isolation_level=None,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.workers: dict[str, Worker] = {}
        self.retired: list[Worker] = []
        self.runs: dict[str, Run] = {}
        self.handles: list[RunHandle] = []
        self.seen: dict[tuple[str, str], Seen] = {}
        self.gates: dict[str, str] = {}
        self.count = 0

    # ------------------------------------------------------------------ helpers
    def snapshot(self) -> Snapshot:
        return read_snapshot(self.conn)

    def new_id(self) -> str:
        self.count += 1
        return f"run-{self.count:02d}"

    def pick(self, which: tuple[int, int], suits: Suits) -> tuple[Run, RunStatus]:
        """A run to act on: mostly (``aim`` > 0) one the action suits, if there is one, else
        any run (so requests that do not fit are tried too)."""
        aim, index = which
        snap = self.snapshot()
        runs = list(self.runs.values())
        if aim:
            runs = [run for run in runs if suits(snap, run)] or runs
        run = runs[index % len(runs)]
        return run, snap.status(run.run_id)

    def in_worker_at_gate(self, snap: Snapshot, run: Run) -> bool:
        pids = {w.pid for w in self.workers.values() if w.alive}
        return snap.runs[run.run_id]["pid"] in pids and snap.status(run.run_id) is S.RUNNING \
            and snap.steps.get(run.run_id, {}).get("hold") == "running"

    def worker(self, name: str) -> Worker:
        current = self.workers.get(name)
        if current is None or not current.alive:
            if current is not None:
                self.retired.append(current)
            current = self.workers[name] = Worker(name, self.db, self.dir)
        return current

    def launch(self, where: str, op: str, run: Run, new_id: str | None = None,
               params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start, resume or retry ``run`` here or in a worker: ``{"ok": ...}`` as a worker
        answers."""
        if where == "local":
            result = flows.launch(self.local, op, run.flow, run.run_id, params, new_id)
            if result.handle is not None:
                self.handles.append(result.handle)
                return {"ok": True}
            return {"ok": False, "type": type(result.error).__name__,
                    "error": str(result.error), "raised": result.raised,
                    "is_transition_error": isinstance(result.error, IllegalTransitionError)}
        answer = self.worker(where).ask(op=op, flow=run.flow, run_id=run.run_id,
                                        params=params, new_id=new_id)
        if not answer["ok"]:
            answer["is_transition_error"] = answer["type"] in ("RunControlError",
                                                               "IllegalTransitionError")
        return answer

    def blocked(self, snap: Snapshot, run_id: str, step: str) -> bool:
        """A running step that waits for the machine: at a closed gate, or for a person."""
        run = self.runs.get(run_id)
        if step == "hold" and run is not None:
            return not flows.gate_path(run.gate).exists()
        return step == STEP and snap.approvals.get(run_id, {}).get(step) == "pending" \
            and snap.status(run_id) in (S.WAITING, S.PAUSED)

    def settled(self, snap: Snapshot, run_id: str) -> bool:
        """Nothing will change this run until the machine acts."""
        if run_id not in snap.runs:
            return False
        status = snap.status(run_id)
        if status in STOPPED:
            return True
        steps = snap.steps.get(run_id, {})
        running = {step for step, value in steps.items() if value == "running"}
        if snap.commands.get(run_id) or any(not self.blocked(snap, run_id, s) for s in running):
            return False
        if status is S.PAUSED:
            return True
        if status is S.WAITING:
            return STEP in running  # its request is pending (blocked) and its start stored
        return status is S.RUNNING and "hold" in running

    def await_status(self, run_id: str, wanted: Callable[[RunStatus], bool],
                     what: str) -> Snapshot:
        """Wait for a command's effect (the process applies it within its poll interval: a
        handled command and its event are not written at once), then for every run to settle.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            snap = self.snapshot()
            self.check(snap)
            if wanted(snap.status(run_id)):
                return self.settle(what)
            assert time.monotonic() < deadline, f"{what}: {self.describe(snap, run_id)}"
            time.sleep(POLL)

    def settle(self, what: str = "") -> Snapshot:
        """Wait until every run is settled, checking every snapshot on the way."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            snap = self.snapshot()
            self.check(snap)
            unsettled = [r for r in self.runs if not self.settled(snap, r)]
            if not unsettled:
                return snap
            for worker in self.workers.values():
                assert worker.alive or worker.proc.returncode == -signal.SIGKILL, (
                    f"worker {worker.name} died by itself: {worker.stderr_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"runs did not settle within {SETTLE_SECONDS:g}s{' ' + what if what else ''}: "
                    + "; ".join(f"{r}: {snap.runs.get(r, {}).get('status')} "
                                f"steps={snap.steps.get(r)} approvals={snap.approvals.get(r)} "
                                f"commands={snap.commands.get(r)} events={snap.kinds(r)}"
                                for r in unsettled))
            time.sleep(POLL)

    def check(self, snap: Snapshot) -> None:
        """The invariants of one snapshot of the store."""
        ran = Counter(flows.executions())  # read after the snapshot: final for steps done in it
        for run_id, row in snap.runs.items():
            assert row["status"] in STATUSES, (run_id, row["status"])
            for step, value in snap.steps.get(run_id, {}).items():
                assert value in STATUSES, (run_id, step, value)
            for step, value in snap.approvals.get(run_id, {}).items():
                assert value in APPROVAL_STATUSES, (run_id, step, value)
            status = S(row["status"])
            ended = replay(run_id, snap.events.get(run_id, []))
            assert ended is status, (
                f"run {run_id} is stored {status.value} but its events lead to "
                f"{ended.value if ended else None}: {snap.kinds(run_id)}")
            if status not in LIVE:
                running = [s for s, v in snap.steps.get(run_id, {}).items() if v == "running"]
                assert not running, f"run {run_id} is {status.value} with steps running: {running}"
        for run in self.runs.values():
            assert run.run_id in snap.runs, f"run {run.run_id} was started but is not stored"
            assert snap.runs[run.run_id]["workflow"] == f"life.{run.flow}"
            assert json.loads(snap.runs[run.run_id]["params"]) == {"gate": run.gate}
        # completed steps stay completed, keep their output and never run again
        for run_id, steps in snap.steps.items():
            for step, value in steps.items():
                if value != "completed":
                    continue
                output = snap.outputs.get(run_id, {}).get(step)
                assert output is not None, f"step {run_id}/{step} completed without an output"
                self.seen.setdefault((run_id, step), Seen(output, ran[(run_id, step)]))
        for (run_id, step), seen in self.seen.items():
            assert snap.steps.get(run_id, {}).get(step) == "completed", (
                f"step {run_id}/{step} was completed and is now "
                f"{snap.steps.get(run_id, {}).get(step)}")
            assert snap.outputs[run_id][step] == seen.output, f"{run_id}/{step} output changed"
            assert ran[(run_id, step)] == seen.executions, (
                f"step {run_id}/{step} ran again after it had completed")
        # retries are linked both ways; what they reused came from the source, unexecuted
        for run_id, events in snap.events.items():
            for _seq, kind, data in events:
                if kind != "retry_of":
                    continue
                source = data["run_id"]
                linked = [d.get("run_id") for _s, k, d in snap.events.get(source, [])
                          if k == "retried_by"]
                assert run_id in linked, f"retry {run_id} of {source}: no retried_by on it"
                for step in data.get("reused", []):
                    assert snap.outputs.get(run_id, {}).get(step) \
                        == snap.outputs.get(source, {}).get(step), (run_id, source, step)
                    assert ran[(run_id, step)] == 0, (
                        f"retry {run_id} ran its reused step {step} again")
        for run in self.runs.values():
            if run.retry_of is not None:
                origins = [d.get("run_id") for _s, k, d in snap.events.get(run.run_id, [])
                           if k == "retry_of"]
                assert origins == [run.retry_of], (run.run_id, origins)

    def describe(self, snap: Snapshot, run_id: str) -> str:
        return (f"run {run_id}: {snap.runs.get(run_id)} steps={snap.steps.get(run_id)} "
                f"approvals={snap.approvals.get(run_id)} commands={snap.commands.get(run_id)} "
                f"events={snap.events.get(run_id)}")

    def refused(self, label: str, run: Run, call: Callable[[], Any], *fragments: str) -> None:
        """``call`` (a ``RunControl`` request) is refused, naming why, and changes nothing."""
        event(f"{label} refused")
        before = self.snapshot().digest(run.run_id)
        with pytest.raises(IllegalTransitionError) as info:
            call()
        for fragment in fragments:
            assert fragment in str(info.value), (fragment, str(info.value))
        assert self.snapshot().digest(run.run_id) == before, f"a refused request changed {run}"

    def refused_launch(self, where: str, op: str, run: Run, fragment: str,
                       new_id: str | None = None) -> None:
        event(f"{op} refused")
        before = self.snapshot().digest(run.run_id)
        answer = self.launch(where, op, run, new_id)
        assert not answer["ok"], f"{op} of {run.run_id} in {where} was not refused"
        assert answer["is_transition_error"], answer
        assert fragment in answer["error"], (fragment, answer["error"])
        if not answer["raised"]:
            event(f"{op} refused through its handle, not raised")
        after = self.snapshot()
        assert after.digest(run.run_id) == before, f"a refused {op} changed {run}"
        assert new_id is None or new_id not in after.runs, f"a refused {op} stored {new_id}"

    # ------------------------------------------------------------------ actions
    # Each asks for one thing and checks the outcome against the state the run was in: done
    # when the request fits that state, refused naming it (and changing nothing) when not.
    def do_pause(self, run: Run, status: RunStatus) -> None:
        if status is S.PAUSED:  # already: nothing to ask
            before = self.snapshot().digest(run.run_id)
            assert self.control.pause(run.run_id).status is S.PAUSED
            assert self.snapshot().digest(run.run_id) == before
        elif status in (S.RUNNING, S.WAITING):
            event("pause")
            self.control.pause(run.run_id)
            snap = self.await_status(run.run_id, lambda s: s is not status,
                                     f"pausing {run.run_id}")
            assert snap.status(run.run_id) is S.PAUSED, self.describe(snap, run.run_id)
        else:
            self.refused("pause", run, lambda: self.control.pause(run.run_id),
                         f"is {status.value};")

    def do_resume_paused(self, run: Run, status: RunStatus) -> None:
        if status is S.PAUSED:
            event("resume_paused")
            self.control.resume_paused(run.run_id)
            self.await_status(run.run_id, lambda s: s is not S.PAUSED,
                              f"resuming paused {run.run_id}")
        else:
            self.refused("resume_paused", run, lambda: self.control.resume_paused(run.run_id),
                         f"is {status.value}, not paused")

    def do_cancel(self, run: Run, status: RunStatus) -> None:
        if status in LIVE:
            event(f"cancel {status.value}")
            self.control.cancel(run.run_id)
            snap = self.await_status(run.run_id, lambda s: s in STOPPED,
                                     f"cancelling {run.run_id}")
            assert snap.status(run.run_id) is S.CANCELLED, self.describe(snap, run.run_id)
        else:
            self.refused("cancel", run, lambda: self.control.cancel(run.run_id),
                         f"is {status.value};")

    def do_decide(self, run: Run, status: RunStatus, approve: bool) -> None:
        label = "approve" if approve else "reject"
        decide = self.control.approve if approve else self.control.reject
        if STEP in {a.step for a in self.control.approvals(run.run_id)}:
            event(f"{label} {status.value}")
            record = decide(run.run_id, STEP, by="property")
            assert record.status == ("approved" if approve else "rejected")
            if not approve and status in (S.WAITING, S.PAUSED):
                # the step fails first and the run's end is written just after it: wait for
                # the end, a paused run with no step running looks settled in between
                self.await_status(run.run_id, lambda s: s in STOPPED,
                                  f"rejecting {run.run_id}")
            after = self.settle(f"after deciding {run.run_id}").status(run.run_id)
            if status in (S.WAITING, S.PAUSED):
                # approved, a paused run stays held before its next step; rejected, it fails
                # (nothing else would start)
                held = S.PAUSED if status is S.PAUSED else S.COMPLETED
                assert after is (held if approve else S.FAILED), (status, after)
            elif status is S.INTERRUPTED:
                assert after is S.INTERRUPTED  # decided for when it is resumed
        else:
            self.refused(label, run, lambda: decide(run.run_id, STEP), "waiting for approval")

    def do_open_gate(self, run: Run, outcome: str) -> None:
        event(f"open gate {outcome}")
        before = self.snapshot()
        flows.open_gate(run.gate, outcome)
        self.gates[run.gate] = outcome
        after = self.settle(f"after opening gate {run.gate}")
        for other in self.runs.values():
            if other.gate == run.gate and other.flow == "gated" \
                    and before.status(other.run_id) is S.RUNNING:
                assert after.status(other.run_id) is (S.COMPLETED if outcome == "ok"
                                                      else S.FAILED)

    def kill(self, worker: Worker, opened: str | None = None) -> None:
        """kill -9 ``worker``: each of its live runs reads as interrupted, with its event
        (a run whose gate was just opened may have completed first)."""
        snap = self.snapshot()
        victims = {r: snap.status(r) for r in self.runs
                   if snap.runs[r]["pid"] == worker.pid and snap.status(r) in LIVE}
        worker.kill()
        event(f"kill -9: {len(victims)} live runs")
        for run_id, before in victims.items():
            record = self.control.status(run_id)  # a reader notices the dead process
            if self.runs[run_id].gate == opened and before is not S.PAUSED:
                assert record.status in (S.INTERRUPTED, S.COMPLETED), (run_id, record.status)
            else:
                assert record.status is S.INTERRUPTED, (run_id, before, record.status)
        after = self.settle(f"after killing worker {worker.name}")
        for run_id in victims:
            if after.status(run_id) is S.INTERRUPTED:
                moves = [k for k in after.kinds(run_id) if k in MOVES or k == "run_finished"]
                assert moves[-1] == "run_interrupted", (run_id, moves)

    def do_resume(self, run: Run, status: RunStatus, where: str) -> None:
        if status in RESUMABLE:
            event(f"resume {status.value}")
            pendings = self.snapshot().kinds(run.run_id).count("run_pending")
            answer = self.launch(where, "resume", run)
            assert answer["ok"], answer
            after = self.settle(f"after resuming {run.run_id} in {where}")
            assert after.kinds(run.run_id).count("run_pending") == pendings + 1
        else:
            self.refused_launch(where, "resume", run, f"is {status.value}")

    def do_retry(self, run: Run, status: RunStatus, where: str) -> None:
        new_id = self.new_id()
        if status in RETRYABLE:
            event(f"retry {status.value}")
            answer = self.launch(where, "retry", run, new_id)
            assert answer["ok"], answer
            self.runs[new_id] = Run(new_id, run.flow, run.gate, retry_of=run.run_id)
            after = self.settle(f"after retrying {run.run_id} as {new_id} in {where}")
            assert after.kinds(new_id)[0] == "retry_of"
            assert after.status(run.run_id) is status  # the source keeps its history
        else:
            self.refused_launch(where, "retry", run,
                                f"is {status.value}; only failed, cancelled or interrupted",
                                new_id=new_id)

    def stop(self, run: Run, status: RunStatus, how: str) -> None:
        """Bring a live run to a stop: kill -9 its worker, fail it (its gate says fail, or
        its approval is rejected) or cancel it."""
        snap = self.snapshot()
        worker = next((w for w in self.workers.values()
                       if w.alive and w.pid == snap.runs[run.run_id]["pid"]), None)
        if how == "kill" and worker is not None:
            self.kill(worker)
        elif how == "fail" and gate_closed(snap, run):
            self.do_open_gate(run, "fail")
        elif how == "fail" and approval_pending(snap, run):
            self.do_decide(run, status, approve=False)
        else:
            self.do_cancel(run, status)

    def pick_or_make(self, which: tuple[int, int], suits: Suits, makes: Suits,
                     make: Callable[[Run, RunStatus], None]) -> tuple[Run, RunStatus]:
        """Like ``pick``; when aiming and no run suits, first ``make`` one that ``makes``
        says can be brought there (draws stay the same whatever the runs' states are)."""
        aim, index = which
        snap = self.snapshot()
        if aim and not any(suits(snap, run) for run in self.runs.values()):
            makers = [run for run in self.runs.values() if makes(snap, run)]
            if makers:
                maker = makers[index % len(makers)]
                make(maker, snap.status(maker.run_id))
        return self.pick(which, suits)

    # ------------------------------------------------------------------ rules
    @initialize(flow=st.sampled_from(sorted(flows.FLOWS)),
                other=st.sampled_from(sorted(flows.FLOWS)), where=st.sampled_from(PLACES))
    def first_runs(self, flow: str, other: str, where: str) -> None:
        self.start(flow, "w0")
        self.start(other, where)

    @rule(flow=st.sampled_from(sorted(flows.FLOWS)), where=st.sampled_from(PLACES))
    def start(self, flow: str, where: str) -> None:
        event(f"start {flow} {'here' if where == 'local' else 'in a worker'}")
        run_id = self.new_id()
        run = Run(run_id, flow, gate=run_id)
        answer = self.launch(where, "start", run, params={"gate": run.gate})
        assert answer["ok"], answer
        self.runs[run_id] = run
        assert run_id in self.snapshot().runs, "start_run returned before storing the run"
        snap = self.settle(f"after starting {run_id}")
        assert snap.status(run_id) is (S.RUNNING if flow == "gated" else S.WAITING)

    @precondition(lambda self: self.runs)
    @rule(which=TARGET)
    def pause(self, which: tuple[int, int]) -> None:
        self.do_pause(*self.pick(which, status_in(S.RUNNING, S.WAITING)))

    @precondition(lambda self: self.runs)
    @rule(which=TARGET)
    def resume_paused(self, which: tuple[int, int]) -> None:
        self.do_resume_paused(*self.pick_or_make(which, status_in(S.PAUSED),
                                                 status_in(S.RUNNING, S.WAITING),
                                                 self.do_pause))

    @precondition(lambda self: self.runs)
    @rule(which=TARGET)
    def cancel(self, which: tuple[int, int]) -> None:
        self.do_cancel(*self.pick(which, status_in(*LIVE)))

    @precondition(lambda self: self.runs)
    @rule(which=TARGET, approve=st.booleans(), pause_first=st.booleans(),
          where=st.sampled_from(PLACES))
    def decide(self, which: tuple[int, int], approve: bool, pause_first: bool,
               where: str) -> None:
        if which[0] and not any(approval_pending(self.snapshot(), r) for r in self.runs.values()):
            self.start("approval", where)  # aiming: something to decide
        run, status = self.pick(which, approval_pending)
        if pause_first and status is S.WAITING:
            self.do_pause(run, status)
            status = S.PAUSED
        self.do_decide(run, status, approve)

    @precondition(lambda self: self.runs)
    @rule(which=TARGET, outcome=st.sampled_from(["ok", "fail"]))
    def open_gate(self, which: tuple[int, int], outcome: str) -> None:
        run, _status = self.pick(which, gate_closed)
        self.do_open_gate(run, outcome)

    @precondition(lambda self: any(w.alive for w in self.workers.values()))
    @rule(data=st.data())
    def kill_worker(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, w in self.workers.items() if w.alive)))
        self.kill(self.workers[name])

    @precondition(lambda self: any(w.alive for w in self.workers.values()) and self.runs)
    @rule(which=TARGET, delay=st.sampled_from([0.0, 0.003, 0.01, 0.03]))
    def kill_worker_mid_run(self, which: tuple[int, int], delay: float) -> None:
        """Let a run go on (open its gate) and kill -9 the worker it runs in (else any
        worker) ``delay`` seconds later: it dies between or inside a step's writes."""
        run, _status = self.pick(which, self.in_worker_at_gate)
        pid = self.snapshot().runs[run.run_id]["pid"]
        alive = [w for w in self.workers.values() if w.alive]
        worker = next((w for w in alive if w.pid == pid), alive[0])
        flows.open_gate(run.gate, "ok")
        self.gates[run.gate] = "ok"
        time.sleep(delay)  # a chosen kill point, not a wait for something
        self.kill(worker, opened=run.gate)

    @precondition(lambda self: self.runs)
    @rule(which=TARGET, where=st.sampled_from(PLACES), how=STOP_HOW)
    def resume(self, which: tuple[int, int], where: str, how: str) -> None:
        run, status = self.pick_or_make(which, status_in(*RESUMABLE), status_in(*LIVE),
                                        lambda r, s: self.stop(r, s, how))
        self.do_resume(run, status, where)

    @precondition(lambda self: self.runs)
    @rule(which=TARGET, where=st.sampled_from(PLACES), how=STOP_HOW)
    def retry(self, which: tuple[int, int], where: str, how: str) -> None:
        run, status = self.pick_or_make(which, status_in(*RETRYABLE), status_in(*LIVE),
                                        lambda r, s: self.stop(r, s, how))
        self.do_retry(run, status, where)

    @invariant()
    def every_run_settles_soundly(self) -> None:
        self.settle()

    # ------------------------------------------------------------------ the end
    def teardown(self) -> None:
        try:
            if self.runs:
                self.finish()
        finally:
            self.cleanup()

    def finish(self) -> None:
        """Let every run end (approve, resume, open every gate), then check the whole store."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            snap = self.snapshot()
            self.check(snap)
            live = [r for r in self.runs if snap.status(r) in LIVE]
            if not live:
                break
            assert time.monotonic() < deadline, f"runs never ended: {live}"
            for run_id in live:
                with contextlib.suppress(IllegalTransitionError):  # it moved on meanwhile
                    if snap.approvals.get(run_id, {}).get(STEP) == "pending":
                        self.control.approve(run_id, STEP, by="teardown")
                    if snap.status(run_id) is S.PAUSED and not snap.commands.get(run_id):
                        self.control.resume_paused(run_id)
                gate = self.runs[run_id].gate
                if not flows.gate_path(gate).exists():
                    flows.open_gate(gate, "ok")
            time.sleep(POLL)
        for handle in self.handles:
            handle.wait(SETTLE_SECONDS)
        snap = self.snapshot()
        self.check(snap)
        store = RunStore(self.db)
        try:
            for run_id in self.runs:
                event(f"run ends {snap.status(run_id).value}")
                # the public readers agree with the raw rows
                assert store.get_run(run_id).status is snap.status(run_id)
                assert [e.kind for e in store.events(run_id)] == snap.kinds(run_id)
                if snap.status(run_id) is S.COMPLETED:  # nothing lost: every step's output
                    steps = {s.step: s.status for s in store.step_runs(run_id)}
                    middle = "hold" if self.runs[run_id].flow == "gated" else STEP
                    assert steps == dict.fromkeys(("start", middle, "end"), S.COMPLETED), steps
                    assert set(store.outputs(run_id)) == set(steps)
        finally:
            store.close()

    def cleanup(self) -> None:
        """End whatever is left (also after a failure) and give back the folder."""
        for handle in self.handles:
            handle.cancel()
        with contextlib.suppress(Exception):
            snap = self.snapshot()
            for run_id, row in snap.runs.items():
                if S(row["status"]) in LIVE:
                    with contextlib.suppress(Exception):
                        self.control.cancel(run_id)
        for handle in self.handles:
            with contextlib.suppress(Exception):
                handle.wait(15)
        for worker in [*self.workers.values(), *self.retired]:
            worker.quit()
        self.local.close()
        self.control.close()
        self.conn.close()
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.dir, ignore_errors=True)


LifecycleMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_lifecycle_property = LifecycleMachine.TestCase


# ---------------------------------------------------------------------- races it found
# Minimal, deterministic reproductions of the races the machine above turned up (two resumes of
# one run; refusals returned as handles), kept as regression tests.
@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CTL_DIR", str(tmp_path))
    monkeypatch.delenv("SPINE_ENV", raising=False)
    return tmp_path


def failed_gated_run(db: Path, run_id: str) -> None:
    flows.open_gate(run_id, "fail")
    with TrackedWorkflowRunner(db) as runner:
        assert runner.execute(flows.gated(), {"gate": run_id}, run_id=run_id).status is S.FAILED
    flows.open_gate(run_id, "ok")


def test_two_resumes_of_one_stopped_run_run_it_once(ctl: Path) -> None:
    """Both resumes find the run failed (held at a barrier right after that check); the
    recorder's atomic claim lets one through and refuses the other, naming the state."""
    db = ctl / "runs.db"
    failed_gated_run(db, "twice")
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[Any] = []

    def resume(runner: TrackedWorkflowRunner) -> None:
        claim = runner.recorder.reopen

        def after_the_check(run_id: str) -> str | None:
            barrier.wait()  # both have found the run failed, so resumable: the race window
            return claim(run_id)

        runner.recorder.reopen = after_the_check  # type: ignore[method-assign]
        try:
            outcomes.append(runner.resume("twice", flows.gated()).status)
        except Exception as exc:
            outcomes.append(exc)

    # two runners, each with its own recorder and connections: two processes, in one
    runners = [TrackedWorkflowRunner(db, poll_interval=POLL) for _ in range(2)]
    threads = [threading.Thread(target=resume, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for runner in runners:
        with contextlib.suppress(Exception):  # its buffered events may clash with the other's
            runner.close()
    ran = Counter(flows.executions())
    assert ran[("twice", "end")] == 1, f"the resumed run ran twice: {outcomes}"
    assert sorted(type(o).__name__ for o in outcomes) == ["RunControlError", "RunStatus"]
    store = RunStore(db)
    assert replay("twice", [(e.seq, e.kind, e.data) for e in store.events("twice")]) \
        is store.get_run("twice").status


def test_a_refused_start_resume_raises_like_start_retry(ctl: Path) -> None:
    db = ctl / "runs.db"
    flows.open_gate("done", "ok")
    with TrackedWorkflowRunner(db) as runner:
        done = runner.execute(flows.gated(), {"gate": "done"})
        assert done.status is S.COMPLETED
        with pytest.raises(IllegalTransitionError, match="is completed"):
            start_retry(done.run_id, flows.gated(), runner=runner)  # refused: raises
        with pytest.raises(IllegalTransitionError, match="is completed"):
            start_resume(done.run_id, flows.gated(), runner=runner)  # refused: raises too


def test_a_refused_start_retry_raises_even_when_its_thread_is_slow(ctl: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = ctl / "runs.db"
    flows.open_gate("done", "ok")
    finish = RunHandle._finish

    def descheduled(self: RunHandle, result: Any, error: BaseException | None) -> None:
        time.sleep(0.3)  # the run's thread loses the CPU between `created.set()` and here
        finish(self, result, error)

    with TrackedWorkflowRunner(db) as runner:
        done = runner.execute(flows.gated(), {"gate": "done"})
        monkeypatch.setattr(RunHandle, "_finish", descheduled)
        with pytest.raises(IllegalTransitionError, match="is completed"):
            start_retry(done.run_id, flows.gated(), runner=runner)
