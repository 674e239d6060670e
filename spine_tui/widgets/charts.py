"""Text charts for the analytics screen: horizontal bars and daily sparklines.

Pure functions returning ``rich.text.Text`` so they can be tested without a terminal and
dropped into any ``Static``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.table import Table
from rich.text import Text

from .status import SPARK

BLOCKS = " ▏▎▍▌▋▊▉█"


def hbar(value: float, top: float, width: int) -> str:
    """A bar of ``width`` cells filled in eighths for ``value`` out of ``top``."""
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = round(min(1.0, value / top) * width * 8)
    full, part = divmod(max(eighths, 1), 8)
    return "█" * full + (BLOCKS[part] if part else "")


def bar_chart(counts: Mapping[str, int], width: int = 40, style: str = "red") -> Table | Text:
    """One row per label: the label, a bar scaled to the largest count, the count and share."""
    if not counts:
        return Text("no failures in this window", style="dim italic")
    top, total = max(counts.values()), sum(counts.values())
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(justify="right", style="dim", no_wrap=True)
    for label, count in counts.items():
        grid.add_row(label, Text(hbar(count, top, width), style=style), str(count),
                     f"{count / total:.0%}")
    return grid


def sparkline(values: Sequence[float | None], low: float | None = None,
              high: float | None = None) -> Text:
    """Eight-level bars, one cell per value; days with nothing to measure are a dim ``·``."""
    known = [v for v in values if v is not None]
    text = Text(no_wrap=True)
    if not known:
        return Text("·" * len(values), style="dim")
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    span = hi - lo
    for value in values:
        if value is None:
            text.append("·", style="dim")
        elif span <= 0:
            text.append(SPARK[3 if value else 0])
        else:
            text.append(SPARK[max(0, min(7, int((value - lo) / span * 8)))])
    return text


def trend_table(series: Mapping[str, Sequence[float | None]], dates: Sequence[str],
                formats: Mapping[str, Callable[[float], str]]) -> Table | Text:
    """A sparkline row per metric with its latest value and range, dates on the last row."""
    if not dates:
        return Text("no days in this window", style="dim italic")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for metric, values in series.items():
        show = formats.get(metric, lambda v: f"{v:g}")
        known = [v for v in values if v is not None]
        low = 0.0 if metric in ("runs", "failures", "success_rate") else None
        high = 1.0 if metric == "success_rate" else None
        style = {"failures": "red", "success_rate": "green"}.get(metric, "cyan")
        line = sparkline(values, low, high)
        line.stylize(style)
        if known:
            last = next(v for v in reversed(values) if v is not None)
            detail = Text(f"last {show(last)}  min {show(min(known))}  max {show(max(known))}",
                          style="dim")
        else:
            detail = Text("nothing measured", style="dim")
        grid.add_row(metric.replace("_", " "), line, detail)
    span = Text(f"{dates[0]} … {dates[-1]}", style="dim")
    grid.add_row("", span, "")
    return grid
