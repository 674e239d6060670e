"""``run`` records into the run store; ``runs``, ``status`` and ``logs`` read it back."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from engine import RunStore

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+) (\S+) (.*)$")


def run_id_of(text: str) -> str:
    match = RUN_LINE.match(text.splitlines()[0])
    assert match, text
    return match.group(1)


def stored_run(path: Path, run_id: str):
    store = RunStore(path)
    try:
        return store.get_run(run_id), store.step_runs(run_id)
    finally:
        store.close()


def test_run_persists_the_run_with_its_absolute_source(cli, store_path: Path) -> None:
    result = cli("run", "cli.complete", "--paths", "good", "--param", "n=1")
    assert result.code == 0, result.err
    record, steps = stored_run(store_path, run_id_of(result.out))
    assert record.status == "completed"
    assert record.workflow == "cli.complete"
    assert record.params == {"n": 1}
    assert record.source == str(Path("good/cli_complete.py").resolve())
    assert {s.step: s.status.value for s in steps} == dict.fromkeys(
        ("fetch_a", "fetch_b", "combine", "load"), "completed")


def test_runs_lists_newest_first_with_status_and_error(cli) -> None:
    first = run_id_of(cli("run", "cli.complete", "--paths", "good").out)
    second = run_id_of(cli("run", "good/cli_failing.py").out)
    result = cli("runs")
    assert result.code == 0, result.err
    rows = [line for line in result.out.splitlines() if re.match(r"^[0-9a-f]{16} ", line)]
    assert [row.split()[0] for row in rows] == [second, first]
    assert rows[0].split()[1:3] == ["cli.failing", "failed"]
    assert "step 'check' failed: no rows to process" in rows[0]
    assert rows[1].split()[1:3] == ["cli.complete", "completed"]
    assert all(" cli " in row for row in rows)  # who started each run
    assert "2 runs in " in result.out


def test_runs_filters_limits_and_prints_json(cli) -> None:
    cli("run", "cli.complete", "--paths", "good")
    cli("run", "good/cli_failing.py")
    cli("run", "good/cli_failing.py")
    data = json.loads(cli("runs", "--status", "failed", "--json").out)
    assert [r["workflow"] for r in data["runs"]] == ["cli.failing", "cli.failing"]
    assert data["runs"][0]["error_step"] == "check"
    data = json.loads(cli("runs", "--workflow", "cli.complete", "--json").out)
    assert [r["status"] for r in data["runs"]] == ["completed"]
    limited = cli("runs", "--limit", "1")
    assert "1 run of 3" in limited.out
    assert "--limit N shows more" in limited.out


def test_runs_on_a_missing_store_does_not_create_it(cli, tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "spine.db"
    result = cli("runs", "--db", str(path))
    assert result.code == 0
    assert "no runs in" in result.out
    assert not path.exists()
    assert json.loads(cli("runs", "--db", str(path), "--json").out)["runs"] == []


def test_status_by_unique_prefix_shows_steps_attempts_and_errors(cli) -> None:
    run_id = run_id_of(cli("run", "good/cli_failing.py").out)
    result = cli("status", run_id[:6])
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith(f"run {run_id}  cli.failing")
    rows = {line.split()[0]: line for line in result.out.splitlines()
            if line.split() and line.split()[0] in ("extract", "check")}
    assert rows["extract"].split()[1:3] == ["completed", "1"]
    assert "no rows to process [DATA_QUALITY]" in rows["check"]
    assert re.search(r"^status\s+failed", result.out, re.MULTILINE)
    assert re.search(r"^error\s+step check: step 'check' failed", result.out, re.MULTILINE)
    assert re.search(r"^started by\s+cli\s*$", result.out, re.MULTILINE)
    data = json.loads(cli("status", run_id[:6], "--json").out)
    assert data["run_id"] == run_id and data["started_by"] == "cli"
    assert [s["step"] for s in data["steps"]] == ["extract", "check"]
    assert data["steps"][1]["error_category"] == "DATA_QUALITY"
    assert data["outputs"] == {"extract": {"rows": 0}}


def test_retries_show_as_attempts_in_status(cli) -> None:
    run_id = run_id_of(cli("run", "cli.flaky", "--paths", "good").out)
    data = json.loads(cli("status", run_id, "--json").out)
    assert {s["step"]: s["attempts"] for s in data["steps"]}["flaky"] == 2


def test_logs_prints_time_step_stream_and_message(cli) -> None:
    run_id = run_id_of(cli("run", "cli.complete", "--paths", "good").out)
    result = cli("logs", run_id)
    assert result.code == 0, result.err
    [line] = result.out.splitlines()
    assert LOG_LINE.match(line).groups() == ("load", "stdout", "loading 16 rows")
    result = cli("logs", run_id, "--json")
    [record] = [json.loads(text) for text in result.out.splitlines()]
    assert record["step"] == "load" and record["message"] == "loading 16 rows"
    assert record["run_id"] == run_id
    assert cli("logs", run_id, "--step", "fetch_a").out == ""


def test_unknown_run_id_exits_2_with_the_stores_message(cli) -> None:
    cli("run", "cli.complete", "--paths", "good")
    for command in ("status", "logs", "resume"):
        result = cli(command, "feedfacefeedface")
        assert result.code == 2, command
        assert "error: no run 'feedfacefeedface' in " in result.err
        assert "Traceback" not in result.err


def test_unknown_run_in_a_store_that_does_not_exist_exits_2(cli, tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    result = cli("status", "abcd", "--db", str(path))
    assert result.code == 2
    assert "does not exist yet" in result.err
    assert not path.exists()


def test_partition_that_completed_is_skipped_and_exits_0(cli) -> None:
    first = cli("run", "good/cli_params.py", "--partition", "day=2024-01-31", "--param", "n=1",
                "--json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert data["status"] == "completed"
    assert data["params"]["day"] == "2024-01-31"  # partition values are params too
    again = cli("run", "good/cli_params.py", "--partition", "day=2024-01-31", "--param", "n=1")
    assert again.code == 0
    run_id = run_id_of(again.out)
    assert re.search(r"cli\.params skipped: partition \{\"day\":\"2024-01-31\"\} already "
                     rf"completed by run {data['run_id']}", again.out)
    assert json.loads(cli("status", run_id, "--json").out)["status"] == "skipped"
    other = cli("run", "good/cli_params.py", "--partition", "day=2024-02-01", "--param", "n=1",
                "--json")
    assert json.loads(other.out)["status"] == "completed"


def test_partition_and_param_must_agree(cli) -> None:
    result = cli("run", "good/cli_params.py", "--partition", "n=1", "--param", "n=2")
    assert result.code == 2
    assert "different values for n" in result.err


def test_db_option_before_or_after_the_command(cli, tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "other.db"
    run_id = run_id_of(cli("--db", str(path), "run", "good/cli_failing.py").out)
    assert path.exists()
    assert cli("status", run_id, "--db", str(path)).code == 0
    assert cli("--db", str(path), "status", run_id).code == 0
    assert cli("status", run_id).code == 2  # not in the default store (SPINE_DB)


def test_corrupt_foreign_and_newer_store_files_exit_2_unchanged(cli, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database\x00" * 40)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.commit()
    conn.close()
    newer = tmp_path / "newer.db"
    cli("run", "good/cli_params.py", "--param", "n=1", "--db", str(newer))
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    expected = {"corrupt": "is not a SQLite database", "foreign": "of another application",
                "newer": "newer than this"}
    files = sorted(p.name for p in tmp_path.iterdir())
    for path in (corrupt, foreign, newer):
        before = path.read_bytes()
        for argv in (("runs",), ("status", "abcd"), ("logs", "abcd"),
                     ("run", "good/cli_params.py")):
            result = cli(*argv, "--db", str(path))
            assert result.code == 2, (path, argv)
            assert re.search(rf"^error: {re.escape(str(path))} .*{expected[path.stem]}",
                             result.err), result.err
            assert "Traceback" not in result.err
            assert path.read_bytes() == before
    # Nothing new beside the files (reading a WAL-mode header may leave empty -wal/-shm files).
    new = {p.name for p in tmp_path.iterdir()} - set(files)
    assert new <= {"newer.db-wal", "newer.db-shm"}


def test_store_commands_reject_bad_arguments_with_usage(cli) -> None:
    for argv in (("runs", "--status", "sleeping"), ("runs", "--limit", "0"), ("status",),
                 ("logs",), ("resume",), ("export",), ("import",)):
        result = cli(*argv)
        assert result.code == 2, argv
        assert "usage: spine-engine" in result.err


def test_every_command_has_help_with_examples(cli) -> None:
    for command in ("run", "runs", "status", "logs", "resume", "export", "import"):
        result = cli(command, "--help")
        assert result.code == 0
        assert "examples:" in result.out and f"spine-engine {command}" in result.out


def test_status_counts_the_runs_own_steps_not_a_maps_items(cli) -> None:
    sample = Path(__file__).parents[2] / "sample_workflows" / "i2_portfolio_fanout.py"
    run_id = run_id_of(cli("run", str(sample)).out)
    result = cli("status", run_id)
    assert result.code == 0, result.err
    assert re.search(r"^steps\s+3/3 completed", result.out, re.MULTILINE)
    assert "analyze_each[0].analyze" in result.out  # the items are still listed
