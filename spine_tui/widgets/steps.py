"""Workflow-screen widgets: the step list and the details pane for the selected step.

``step_fields`` turns a step into labelled text rows (pure, so tests can check it without a
terminal); the widgets only lay those rows out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .status import STATUS_ICON, STATUS_STYLE


def _json(value: Any) -> str:
    return json.dumps(value, default=repr, ensure_ascii=False)


def _runs(step: Any) -> str:
    kind = step.step_type.value
    if kind == "pipeline":
        return f"pipeline {step.pipeline_name}"
    if kind == "workflow":
        wait = "waits for the child run" if step.wait_for_child else "fire and forget"
        return f"workflow {step.workflow_name} ({wait})"
    if kind == "map":
        inner = ", ".join(s.name for s in step.iterator_steps)
        return f"map over {step.items_path} → {inner} (max {step.max_concurrency} at once)"
    if kind == "wait":
        return f"wait {step.duration_seconds:g}s"
    return step.handler_ref or "—"


def _retry(policy: Any) -> str:
    if policy is None:
        return "—"
    text = (f"up to {policy.max_attempts} attempts, {policy.initial_delay_seconds:g}s "
            f"×{policy.backoff_multiplier:g} (max {policy.max_delay_seconds:g}s)")
    if policy.retryable_categories:
        text += f", only {', '.join(policy.retryable_categories)}"
    return text


def step_fields(step: Any, dependencies: Sequence[str], *,
                within: str = "") -> list[tuple[str, str]]:
    """Labelled rows describing ``step``; ``dependencies`` are its resolved upstream steps
    and ``within`` says where it runs when it is inside a sub-workflow or map step."""
    if step.depends_on is None and dependencies:
        depends = f"{', '.join(dependencies)} (the previous step)"
    else:
        root = "starts first inside" if within else "a root: starts first"
        depends = ", ".join(dependencies) or f"— ({root})"
    rows = [("type", step.step_type.value)]
    if within:
        rows.append(("inside", within))
    rows += [
        ("runs", _runs(step)),
        ("depends on", depends),
        ("config", _json(dict(step.config)) if step.config else "—"),
    ]
    if step.params:
        rows.append(("params", _json(dict(step.params))))
    if getattr(step, "partition_by", None):
        rows.append(("partition by", step.partition_by))
    rows += [
        ("on error", step.on_error.value),
        ("retry", _retry(step.retry_policy)),
        ("timeout", f"{step.timeout_seconds:g}s" if step.timeout_seconds else "—"),
    ]
    if step.description:
        rows.append(("description", step.description))
    return rows


class StepList(OptionList):
    """The workflow's steps in declaration order; arrow keys move the selection."""

    @dataclass
    class StepSelected(Message):
        """The highlighted step changed."""

        name: str

    def __init__(self, steps: Sequence[Any], *, id: str | None = None) -> None:
        super().__init__(*self._make_options(steps, {}), id=id)
        self._steps = list(steps)

    @staticmethod
    def _make_options(steps: Sequence[Any], statuses: Mapping[str, str]) -> list[Option]:
        width = max((len(s.name) for s in steps), default=0)
        options = []
        for s in steps:
            status = statuses.get(s.name)
            mark = ((f"{STATUS_ICON.get(status, '?')} ", STATUS_STYLE.get(status, ""))
                    if status else "")
            options.append(Option(Text.assemble(mark, s.name.ljust(width),
                                                ("  " + s.step_type.value, "dim")), id=s.name))
        return options

    def show(self, steps: Sequence[Any], statuses: Mapping[str, str]) -> None:
        """Replace the options (a reload or a status change), keeping the highlight."""
        keep = self.highlighted
        self._steps = list(steps)
        self.clear_options()
        self.add_options(self._make_options(steps, statuses))
        if self.option_count:
            self.highlighted = min(keep or 0, self.option_count - 1)

    @on(OptionList.OptionHighlighted)
    def _announce(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.StepSelected(event.option.id))


class StepDetails(Static):
    """Everything about the selected step, as a two-column grid."""

    fields: reactive[tuple[tuple[str, str], ...]] = reactive((), layout=True)

    def render(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for label, value in self.fields:
            grid.add_row(label, value)
        return grid
