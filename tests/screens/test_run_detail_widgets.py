"""Run-detail widgets on their own: long step names stay readable, artifact refs compact."""

from spine_tui.widgets.run_detail import (
    MAX_NAME_WIDTH,
    OutputsView,
    StepTimeline,
    TimelineRow,
    compact_refs,
)


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


REF = {"type": "artifact_ref", "store": "local", "key": "runs/r1/load/rows.parquet",
       "size_bytes": 2_411_724, "content_type": "application/vnd.apache.parquet",
       "created_at": "2026-01-01T00:00:00+00:00", "checksum": "a" * 64}


def test_artifact_refs_in_outputs_show_as_key_and_size() -> None:
    value = {"rows": 40_000, "data": REF, "parts": [REF, {"n": 1}]}
    assert compact_refs(value) == {
        "rows": 40_000, "data": "⇒ runs/r1/load/rows.parquet (2.3 MiB)",
        "parts": ["⇒ runs/r1/load/rows.parquet (2.3 MiB)", {"n": 1}]}
    view = OutputsView()
    view.outputs = {"load": value}
    text = "".join(cell.plain for cell in view.render().columns[1].cells)
    assert "checksum" not in text and '"rows": 40000' in text
