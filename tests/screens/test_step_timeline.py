"""The run detail's step timeline keeps long step names (a map's items) readable."""

from spine_tui.widgets.run_detail import MAX_NAME_WIDTH, StepTimeline, TimelineRow


def _row(name: str) -> TimelineRow:
    return TimelineRow(name, "completed", 1, 0.0, 0.5, 0.01, None, None)


def test_names_widen_to_the_longest_so_map_items_are_not_cut() -> None:
    timeline = StepTimeline()
    timeline.rows = (_row("load"), _row("analyze_each[0].analyze"))
    lines = timeline.render().plain.splitlines()
    assert lines[1].startswith("analyze_each[0].analyze ")
    assert lines[0].index("✓") == lines[1].index("✓")  # status columns line up


def test_very_long_names_are_cut_with_an_ellipsis() -> None:
    timeline = StepTimeline()
    timeline.rows = (_row("x" * 80),)
    line = timeline.render().plain
    assert line.startswith("x" * (MAX_NAME_WIDTH - 1) + "… ")
