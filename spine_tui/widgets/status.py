"""How run and step statuses look everywhere in the workbench (one icon and colour each)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

STATUS_STYLE: dict[str, str] = {
    "pending": "dim",
    "queued": "dim",
    "running": "bold yellow",
    "retrying": "bold dark_orange",
    "paused": "cyan",
    "waiting": "cyan",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "interrupted": "red",
    "skipped": "blue",
}
STEP_TYPE_STYLE: dict[str, str] = {
    "lambda": "cyan", "function": "cyan", "pipeline": "bright_blue", "workflow": "magenta",
    "map": "bright_green", "wait": "yellow", "approval": "yellow",
}
"""The colour of a step's type wherever it is named (a DAG box's top edge)."""
STATUS_ICON: dict[str, str] = {
    "pending": "·", "queued": "·", "running": "▶", "retrying": "↻", "paused": "‖",
    "waiting": "…", "completed": "✓", "failed": "✗", "cancelled": "⊘",
    "interrupted": "⚡", "skipped": "↷",
}
TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted", "skipped"})
SPARK = "▁▂▃▄▅▆▇█"


def status_text(status: str | None, *, icon: bool = True) -> Text:
    """``✓ completed`` in the status colour (``—`` when there is none)."""
    if not status:
        return Text("—", style="dim")
    value = str(status)
    label = f"{STATUS_ICON.get(value, '?')} {value}" if icon else value
    return Text(label, style=STATUS_STYLE.get(value, ""))


def format_duration(seconds: float | None, *, missing: str = "—") -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``: short and still exact enough to compare;
    ``missing`` when unknown (the CLI passes ``-``, plain for pipes)."""
    if seconds is None:
        return missing
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_time(value: datetime | None, *, date: bool = True, missing: str = "—") -> str:
    """Local wall-clock time of a stored UTC timestamp (``missing`` when unset)."""
    if value is None:
        return missing
    local = value.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def sparkline(values: list[float] | tuple[float, ...]) -> str:
    """Eight-level bars scaled between the smallest and largest value."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span <= 0:
        return SPARK[3] * len(values)
    return "".join(SPARK[min(7, int((v - low) / span * 8))] for v in values)


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``: byte counts people can compare at a glance."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover
