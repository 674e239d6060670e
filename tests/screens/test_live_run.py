"""LiveRun's progress count: a run's own steps only, never a map's per-item entries."""

from spine_tui.messages import LiveRun


def test_done_counts_only_the_runs_own_steps() -> None:
    run = LiveRun("r1", "wf", ("load", "fan", "total"), statuses={
        "load": "completed", "fan[0].inner": "completed", "fan[1].inner": "completed",
        "fan": "running"})
    assert run.done == 1


def test_done_counts_every_finished_kind() -> None:
    run = LiveRun("r1", "wf", ("a", "b", "c", "d"), statuses={
        "a": "completed", "b": "failed", "c": "skipped", "d": "cancelled"})
    assert run.done == 4
