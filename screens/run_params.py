"""The run dialog: one row per known param (defaults as hints), free ``key=value`` pairs,
typed like ``spine-engine run --param``, and where the steps run (threads, processes, or
dask with an optional scheduler address, like ``spine-engine run --executor``); returns a
``RunRequest`` or None when cancelled.

The chosen executor is checked and started in a worker *before* the dialog closes (a pool,
a connection to the scheduler, a local cluster), so a bad address, an unreachable scheduler
or a handler no worker can import is a message in the form and no run is started.
"""

from __future__ import annotations

import json
import shlex
import threading
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from engine import Executor, Workflow, parse_param
from spine_tui.config import current_settings
from spine_tui.services.executors import DASK, EXECUTOR_CHOICES, THREADS, ExecutorChoiceError
from spine_tui.services.executors import open_executor as start_executor
from spine_tui.services.launcher import RunRequest, param_fields


def _hint(value: Any) -> str:
    if value is ...:
        return "required unless an earlier step returns it"
    return "default: " + (value if isinstance(value, str) else json.dumps(value, default=repr))


def _starting(name: str, scheduler: str) -> str:
    if name != DASK:
        return f"starting the {name} executor…"
    return f"connecting to {scheduler}…" if scheduler else "starting a local Dask cluster…"


class RunParamsScreen(ModalScreen[RunRequest | None]):
    """Fill in params, pick where the steps run and press Enter (or ctrl+r) to run; Escape
    cancels. ``choose_executor=False`` (the debug dialog) leaves the executor out."""

    AUTO_FOCUS = "Input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "submit", "Run"),
    ]

    def __init__(self, workflow: Workflow, verb: str = "Run", *,
                 choose_executor: bool = True) -> None:
        super().__init__()
        self.workflow = workflow
        self.verb = verb
        self.choose_executor = choose_executor
        self.fields = param_fields(workflow)
        self._keys = list(self.fields)
        self._starting = False
        self._gone = threading.Event()  # dismissed: an executor started late is closed

    def compose(self) -> ComposeResult:
        blink = current_settings().cursor_blink
        with VerticalScroll(id="params-dialog") as dialog:
            dialog.border_title = f"{self.verb} {self.workflow.name}"
            dialog.border_subtitle = f"Enter {self.verb.lower()}s · Esc cancels"
            yield Static("Values are typed like YAML: 3 → int, 0.5 → float, true → bool, "
                         "[1, 2] → list, anything else a string. Empty fields keep their "
                         "default.", id="params-intro")
            for index, key in enumerate(self._keys):
                with Horizontal(classes="param-row"):
                    yield Label(key, classes="param-key")
                    field = Input(placeholder=_hint(self.fields[key]), id=f"param-{index}")
                    field.cursor_blink = blink
                    yield field
            with Horizontal(classes="param-row"):
                yield Label("more", classes="param-key")
                extra = Input(placeholder="key=value key2=value2 (optional)", id="param-extra")
                extra.cursor_blink = blink
                yield extra
            if self.choose_executor:
                yield from self._executor_rows(blink)
            yield Static(id="param-error")
            with Horizontal(id="params-buttons"):
                yield Button(self.verb, variant="primary", id="params-run")
                yield Button("Cancel", id="params-cancel")

    def _executor_rows(self, blink: bool) -> ComposeResult:
        chosen = self.workflow.executor or THREADS
        with Horizontal(classes="param-row", id="executor-row"):
            yield Label("executor", classes="param-key")
            with RadioSet(id="executor-choice"):
                for name in EXECUTOR_CHOICES:
                    yield RadioButton(name, value=name == chosen, id=f"executor-{name}")
        with Horizontal(classes="param-row", id="scheduler-row"):
            yield Label("scheduler", classes="param-key")
            address = Input(self.workflow.scheduler or "", id="executor-scheduler",
                            placeholder="tcp://HOST:PORT (empty: a local cluster for the run)")
            address.cursor_blink = blink
            yield address
        yield Static(id="executor-status")

    def on_mount(self) -> None:
        if self.choose_executor:
            self.query_one("#scheduler-row").display = self.executor_name == DASK

    @property
    def executor_name(self) -> str:
        """The executor picked in the form (threads when there is no choice)."""
        if not self.choose_executor:
            return THREADS
        pressed = self.query_one("#executor-choice", RadioSet).pressed_button
        return str(pressed.label) if pressed is not None else THREADS

    @on(RadioSet.Changed, "#executor-choice")
    def _executor_changed(self) -> None:
        self.query_one("#scheduler-row").display = self.executor_name == DASK
        self._show_error("")

    def params(self) -> dict[str, Any]:
        """The params as typed; raises ``ValueError`` saying which one is wrong and how."""
        values: dict[str, Any] = {}
        for index, key in enumerate(self._keys):
            text = self.query_one(f"#param-{index}", Input).value.strip()
            if text:
                values[key] = parse_param(f"{key}={text}")[1]
        extra = self.query_one("#param-extra", Input).value.strip()
        if extra:
            try:
                pairs = shlex.split(extra)
            except ValueError as exc:
                raise ValueError(f"more params: {exc} (close the quote)") from None
            for pair in pairs:
                key, value = parse_param(pair)
                values[key] = value
        return values

    def _show_error(self, message: str) -> None:
        error = self.query_one("#param-error", Static)
        error.update(message)
        error.display = bool(message)

    @on(Input.Submitted)
    @on(Button.Pressed, "#params-run")
    def action_submit(self) -> None:
        """Run with these params, on the chosen executor."""
        if self._starting:
            return
        try:
            values = self.params()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        name = self.executor_name
        if not self.choose_executor or (name == THREADS and self.workflow.executor in
                                        (None, THREADS)):
            self.dismiss(RunRequest(values))
            return
        scheduler = self.query_one("#executor-scheduler", Input).value.strip() \
            if name == DASK else ""
        self._starting = True
        self.query_one("#params-run", Button).disabled = True
        status = self.query_one("#executor-status", Static)
        status.update(_starting(name, scheduler))
        status.display = True
        self._open_executor(values, name, scheduler)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-executor")
    def _open_executor(self, values: dict[str, Any], name: str, scheduler: str) -> None:
        """Check and start the executor off the UI thread (a cluster takes seconds)."""
        try:
            executor = start_executor(self.workflow, name, scheduler)
        except ExecutorChoiceError as exc:
            self.app.call_from_thread(self._not_started, str(exc))
            return
        except Exception as exc:  # a pool or client failing in a way nobody foresaw
            self.app.call_from_thread(self._not_started, f"{type(exc).__name__}: {exc}")
            return
        if self._gone.is_set():  # cancelled while it started: nobody will run on it
            if executor is not None:
                executor.close()
            return
        self.app.call_from_thread(self._started, RunRequest(values, executor))

    def _started(self, request: RunRequest) -> None:
        if self._gone.is_set():
            _close_later(request.executor)
            return
        self._gone.set()
        self.dismiss(request)

    def _not_started(self, message: str) -> None:
        self._starting = False
        self.query_one("#params-run", Button).disabled = False
        self.query_one("#executor-status", Static).display = False
        self._show_error(message)

    @on(Button.Pressed, "#params-cancel")
    def action_cancel(self) -> None:
        """Close without running."""
        self._gone.set()
        self.dismiss(None)


def _close_later(executor: Executor | None) -> None:
    """Close an executor nobody will use, off the UI thread (a cluster takes seconds)."""
    if executor is not None:
        threading.Thread(target=executor.close, name="spine-close-executor",
                         daemon=True).start()
