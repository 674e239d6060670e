"""``spine-engine sample-data sec``: writes the medallion sample's data set with progress,
refuses bad arguments with exit 2, and what it writes runs through ``sec.medallion``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_writes_the_data_set_and_says_how_to_load_it(
        cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "sec"
    result = cli("sample-data", "sec", "--companies", "12", "--seed", "3", "-o", str(out))
    assert result.code == 0, result.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["companies"] == 12 and manifest["seed"] == 3
    assert sorted(p.name for p in out.glob("*.zip")) == [f"{y}q{q}.zip" for y in (2023, 2024)
                                                         for q in range(1, 5)]
    assert f"{manifest['facts']:,}" in result.out
    assert f"{manifest['tickers']} tickers, {manifest['splits']} splits" in result.out
    assert "company_tickers.json, corporate_actions.tsv" in result.out
    assert (out / "company_tickers.json").exists() and (out / "corporate_actions.tsv").exists()
    assert f"spine-engine run sec.medallion --param data_dir={out}" in result.out
    # not a terminal: one progress line per quarter on stderr
    assert [line.split()[1] for line in result.err.splitlines()] == [
        f"{y}q{q}.zip" for y in (2023, 2024) for q in range(1, 5)]


def test_json_output_and_same_seed_same_bytes(cli: Callable[..., Any],
                                              tmp_path: Path) -> None:
    first = cli("sample-data", "sec", "--companies", "5", "-o", str(tmp_path / "a"), "--json",
                "--quiet")
    second = cli("sample-data", "sec", "--companies", "5", "-o", str(tmp_path / "b"), "--json",
                 "--quiet")
    assert first.code == second.code == 0
    assert first.err == ""
    a, b = json.loads(first.out), json.loads(second.out)
    assert a["facts"] == b["facts"] > 0
    for name in a["files"]:
        assert Path(name).read_bytes() == (tmp_path / "b" / Path(name).name).read_bytes()


@pytest.mark.parametrize(("argv", "message"), [
    (["--companies", "0"], "0 is outside 1-100,000"),
    (["--companies", "many"], "'many' is not a whole number of companies"),
    (["--seed", "-4"], "-4 is negative"),
])
def test_bad_arguments_exit_2_saying_what_is_wrong(cli: Callable[..., Any],
                                                   tmp_path: Path, argv: list[str],
                                                   message: str) -> None:
    result = cli("sample-data", "sec", *argv, "-o", str(tmp_path / "x"))
    assert result.code == 2
    assert message in result.err
    assert not (tmp_path / "x").exists()


def test_an_output_that_is_a_file_exits_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("mine")
    result = cli("sample-data", "sec", "-o", str(target))
    assert result.code == 2
    assert f"-o {target} is a file, not a folder" in result.err
    assert target.read_text() == "mine"


def test_a_kind_is_required(cli: Callable[..., Any]) -> None:
    result = cli("sample-data")
    assert result.code == 2
    assert "KIND" in result.err


def test_help_has_an_example(cli: Callable[..., Any]) -> None:
    result = cli("sample-data", "sec", "--help")
    assert result.code == 0
    assert "spine-engine sample-data sec -o ./sec-sample" in result.out


def test_the_generated_data_runs_through_the_medallion_sample_quarters_in_processes(
        run_module: Callable[..., Any], tmp_path: Path) -> None:
    data = tmp_path / "sec"
    made = run_module("sample-data", "sec", "--companies", "8", "-o", str(data), cwd=tmp_path)
    assert made.code == 0, made.err
    env = {"SPINE_DB": str(tmp_path / "spine.db"),
           "SPINE_SAMPLES_SCRATCH": str(tmp_path / "scratch")}
    ran = run_module("run", "sec.medallion", "--param", f"data_dir={data}", "--quiet",
                     "--executor", "processes", "--workers", "2", cwd=tmp_path, env=env)
    assert ran.code == 0, ran.err + ran.out
    with sqlite3.connect(tmp_path / "spine.db") as store:
        workers = [w for (w,) in store.execute(
            "SELECT worker FROM step_runs WHERE step LIKE 'bronze[%'")]
    assert len(workers) == 8  # one partition per quarter, each in a worker process (R5)
    assert all(w.startswith("process:") for w in workers)
    with sqlite3.connect(data / "medallion.sqlite") as conn:
        companies = conn.execute("SELECT COUNT(DISTINCT company_id) FROM "
                                 "gold_financial_metrics").fetchone()[0]
    assert companies == 8
