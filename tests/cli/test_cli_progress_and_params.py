"""The live progress display reads only events; ``--param`` values are typed like YAML."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from rich.console import Console

from engine import Step, Workflow, WorkflowRunner
from engine.events import RunStarted, StepFinished, StepRetrying, StepStarted
from engine.params import parse_param, parse_params
from spine_tui.engine_cli.progress import LineProgress, LiveProgress

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def render(display: LiveProgress) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(display)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_live_progress_tracks_steps_retries_and_failures() -> None:
    display = LiveProgress("r1", "wf", ["a", "b", "c"])
    base = {"run_id": "r1", "workflow": "wf", "at": NOW}
    display(RunStarted(**base, step_names=("a", "b", "c")))
    display(StepStarted(**base, step="a"))
    display(StepFinished(**base, step="a", status="completed", duration_seconds=0.25))
    display(StepStarted(**base, step="b"))
    display(StepRetrying(**base, step="b", attempt=2, delay_seconds=1.5, error="reset",
                         category="TRANSIENT"))
    text = render(display)
    assert "1/3 steps" in text
    assert "0.25s" in text
    assert "retrying" in text and "attempt 2" in text
    assert "attempt 1 failed: reset [TRANSIENT]; retry in 1.5s" in text
    display(StepStarted(**base, step="b", attempt=2))
    display(StepFinished(**base, step="b", status="failed", attempt=2, error="still reset",
                         category="TRANSIENT"))
    display(StepStarted(run_id="child", workflow="sub", at=NOW, step="c"))  # another run
    text = render(display)
    assert "still reset [TRANSIENT]" in text
    assert "retry in" not in text
    lines = {line.split()[1]: line for line in text.splitlines()[1:] if line.strip()}
    assert "pending" in lines["c"]


def test_live_and_line_progress_follow_a_real_run() -> None:
    wf = Workflow("cli.progress", steps=[Step.wait("w", 0), Step.wait("x", 0)])
    runner = WorkflowRunner()
    display = LiveProgress("run-1", wf.name, wf.step_names())
    stream = io.StringIO()
    runner.subscribe(display)
    runner.subscribe(LineProgress("run-1", stream))
    runner.execute(wf, run_id="run-1")
    assert display.run_status == "completed"
    assert all(line.status == "completed" for line in display.lines.values())
    lines = [re.sub(r"in \d+\.\d\ds$", "in N s", line)
             for line in stream.getvalue().splitlines()]
    assert lines == ["  ▶ w started", "  ✓ w completed in N s", "  ▶ x started",
                     "  ✓ x completed in N s"]


@pytest.mark.parametrize(("text", "expected"), [
    ("n=3", ("n", 3)),
    ("rate=0.5", ("rate", 0.5)),
    ("dry=true", ("dry", True)),
    ("dry=False", ("dry", False)),
    ("x=null", ("x", None)),
    ("ids=[1, 2]", ("ids", [1, 2])),
    ('opts={"a": 1}', ("opts", {"a": 1})),
    ("name=Ada", ("name", "Ada")),
    ("date=2024-01-31", ("date", "2024-01-31")),
    ("switch=on", ("switch", "on")),
    ("home=~", ("home", "~")),
    ('code="007"', ("code", "007")),
    ("expr=a=b", ("expr", "a=b")),
    ("empty=", ("empty", "")),
    ("pair=a: b", ("pair", "a: b")),
    (" key = 7", ("key", 7)),
])
def test_parse_param_types_values_like_yaml_scalars(text: str, expected: tuple) -> None:
    assert parse_param(text) == expected


@pytest.mark.parametrize("text", ["n", "=3", "ids=[1,"])
def test_parse_param_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="key=value|not valid"):
        parse_param(text)


def test_parse_params_last_value_wins() -> None:
    assert parse_params(["n=1", "m=x", "n=2"]) == {"n": 2, "m": "x"}
