"""``spine-engine debug``: the pdb-like prompt over ``WorkflowPlayground``, scripted on stdin."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from debug_transcript import replies

from engine import RunStore

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
DURATION = r"\d+\.\dms"
M4_SCRIPT = "s\ns\np\ns\nb\nb\nset max_value=4\ns\nhist\nq\n"

Session = Callable[..., Any]


@pytest.fixture
def session(cli, monkeypatch: pytest.MonkeyPatch) -> Session:
    """``spine-engine debug ARGS`` in-process, with ``script`` as its stdin."""

    def invoke(script: str, *argv: str) -> Any:
        monkeypatch.setattr(sys, "stdin", io.StringIO(script))
        return cli("debug", *argv)

    return invoke


def errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("error: ")]


def stored_run_id(cli, *argv: str) -> str:
    result = cli("run", *argv)
    match = RUN_LINE.match(result.out.splitlines()[0])
    assert match, result.out + result.err
    return match.group(1)


def test_spec_m4_session_in_a_subprocess(run_module) -> None:
    result = run_module("debug", "debug.pipeline", stdin=M4_SCRIPT)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    out = result.out
    assert out.splitlines()[0] == "debug.pipeline: 3 steps (fetch, transform, validate)"
    assert "next: fetch — type help for commands, q to quit" in out
    first, second, third, fourth = (replies(out, "s", n) for n in range(4))
    assert re.fullmatch(rf"\[1\] fetch → completed \({DURATION}\)", first[0])
    assert first[1] == '    output: {"records": [1, 2, 3, 4, 5], "count": 5}'
    assert re.fullmatch(rf"\[2\] transform → completed \({DURATION}\)", second[0])
    assert second[1] == '    output: {"doubled": [2, 4, 6, 8, 10]}'
    assert replies(out, "p") == ["next: validate (lambda)"]
    assert re.fullmatch(rf"\[3\] validate → failed \({DURATION}\)", third[0])
    assert third[1] == "    error: Values exceed threshold [DATA_QUALITY]"
    assert third[2].startswith("halted: step 'validate' failed and stops the run")
    assert re.fullmatch(rf"at \[2\] transform → completed \({DURATION}\); next: validate",
                        replies(out, "b", 0)[0])
    assert re.fullmatch(rf"at \[1\] fetch → completed \({DURATION}\); next: transform",
                        replies(out, "b", 1)[0])
    assert replies(out, "set max_value=4") == ["[2] set max_value = 4"]
    assert re.fullmatch(rf"\[3\] transform → completed \({DURATION}\)", fourth[0])
    hist = [line.split() for line in replies(out, "hist")]
    assert hist[0] == ["[0]", "start"]
    assert hist[1][:3] == ["[1]", "fetch", "completed"]
    assert hist[2] == ["[2]", "set", "max_value", "=", "4", "set_param"]
    assert hist[3][:4] == [">", "[3]", "transform", "completed"]
    assert re.fullmatch(DURATION, hist[3][4])
    assert len(hist) == 4  # the failed validate was dropped by the param change


def test_breakpoints_continue_until_and_break_on_failure(session) -> None:
    script = ("break validate\nbreak\nc\nl\nc\nb\nclear validate\nbreak-on-failure off\nc\n"
              "reset\nuntil transform\n")  # ends at EOF, without q
    result = session(script, "debug.pipeline")
    assert result.code == 0, result.err
    out = result.out
    assert replies(out, "break validate") == ["breakpoint #1 before 'validate'"]
    assert replies(out, "break") == ["#1 before 'validate'", "break-on-failure on"]
    first_c = replies(out, "c")
    assert [line.split(" → ")[0] for line in first_c if line.startswith("[")] == [
        "[1] fetch", "[2] transform"]
    assert first_c[-1] == "paused before 'validate' (breakpoint #1)"
    listing = [line.split() for line in replies(out, "l")]
    assert listing == [["fetch", "completed", "lambda"], ["transform", "completed", "lambda"],
                       [">", "B", "validate", "pending", "lambda"]]
    second_c = replies(out, "c", 1)
    assert second_c[0].startswith("[3] validate → failed")
    assert second_c[-1] == "paused: step 'validate' failed (break-on-failure)"
    assert replies(out, "clear validate") == ["cleared breakpoint #1 on 'validate'"]
    assert replies(out, "break-on-failure off") == ["break-on-failure off"]
    third_c = replies(out, "c", 2)
    assert third_c[0].startswith("[3] validate → failed")
    assert third_c[-1].startswith("halted: step 'validate' failed and stops the run")
    assert replies(out, "reset") == ["at [0] start; next: fetch"]
    until = replies(out, "until transform")
    assert until[0].startswith("[1] fetch → completed")
    assert until[-1] == "paused before 'transform'"


def test_edit_an_output_diff_and_goto(session) -> None:
    script = ('s\ns\nout transform {"doubled": [1, 2]}\ns\ndiff 2 3\nctx\ngoto 2\n'
              "out transform\nrerun fetch\nq\n")
    result = session(script, "debug.pipeline")
    assert result.code == 0, result.err
    out = result.out
    assert replies(out, 'out transform {"doubled": [1, 2]}') == [
        "[3] transform → output edited", '    output: {"doubled": [1, 2]}']
    validated = replies(out, "s", 2)
    assert validated[0].startswith("[4] validate → completed")
    assert validated[1] == '    output: {"valid": true}'
    assert validated[2] == "end: debug.pipeline completed (3 of 3 steps have a result)"
    assert replies(out, "diff 2 3") == [
        "diff [2] → [3]",
        '  output ~ transform: {"doubled": [2, 4, 6, 8, 10]} → {"doubled": [1, 2]}']
    assert replies(out, "ctx") == [
        "params", "  (none)", "outputs",
        '  fetch: {"records": [1, 2, 3, 4, 5], "count": 5}',
        '  transform: {"doubled": [1, 2]}',
        '  validate: {"valid": true}']
    assert re.fullmatch(rf"at \[2\] transform → completed \({DURATION}\); next: validate",
                        replies(out, "goto 2")[0])
    assert replies(out, "out transform") == ['{"doubled": [2, 4, 6, 8, 10]}']
    assert replies(out, "rerun fetch")[0].startswith("[3] fetch → completed")


def test_bad_commands_print_errors_and_the_session_goes_on(session) -> None:
    bad = ["bogus", "back", "break nope", "step nope", "goto x", "goto 99", "set novalue",
           "out", "out fetch {bad", "out fetch", "diff 0 1 2", "clear nope",
           "break-on-failure maybe", "peek now", "help nope"]
    result = session("\n".join([*bad, "s", "q"]) + "\n", "debug.pipeline")
    assert result.code == 0, result.err
    out = result.out
    assert len(errors(out)) == len(bad), out
    assert replies(out, "bogus") == ["error: unknown command 'bogus'; type help for the list"]
    assert replies(out, "back")[0].startswith("error: cannot go back 1 snapshot(s): the "
                                              "playground is at snapshot 0")
    assert replies(out, "break nope") == [
        "error: workflow 'debug.pipeline' has no step 'nope'"]
    assert replies(out, "goto 99") == [
        "error: no snapshot 99; the timeline has snapshots 0..0"]
    assert replies(out, "out fetch") == ["error: step 'fetch' has no output: it has not run yet"]
    assert "is not key=value" in replies(out, "set novalue")[0]
    assert "is not JSON" in replies(out, "out fetch {bad")[0]
    assert replies(out, "s")[0].startswith("[1] fetch → completed")  # still alive, unchanged
    assert "Traceback" not in out + result.err


def test_help_lists_every_command(session) -> None:
    result = session("help\nh out\n", "debug.pipeline")
    listing = replies(result.out, "help")
    for usage in ("s, step [STEP]", "b, back", "p, peek", "c, continue", "until STEP",
                  "break [STEP]", "clear [STEP|#ID]", "break-on-failure [on|off]",
                  "set KEY=VALUE", "out STEP [JSON]", "rerun STEP", "diff I [J]", "goto I",
                  "hist", "ctx", "l, list", "h, help", "q, quit"):
        assert any(line.startswith(usage) for line in listing), usage
    assert replies(result.out, "h out")[0].startswith("out STEP [JSON]")


def test_params_from_the_command_line(session) -> None:
    result = session("ctx\n", "good/cli_params.py", "--param", "n=3", "--param", "name=Ada")
    assert result.code == 0, result.err
    assert "params: " in result.out.splitlines()[1]
    assert "  n = 3" in replies(result.out, "ctx")
    assert '  name = "Ada"' in replies(result.out, "ctx")


def test_run_opens_a_stored_run_before_a_step(cli, session, store_path: Path) -> None:
    run_id = stored_run_id(cli, "debug.pipeline")
    result = session("hist\ns\nq\n", "--run", run_id[:8], "--at", "validate")
    assert result.code == 0, result.err
    out = result.out
    assert (f"opened run {run_id} (3 recorded steps) at snapshot [2] of 3; steps run here "
            "are not recorded") in out
    assert "next: validate — type help" in out
    hist = replies(out, "hist")
    assert re.fullmatch(rf"  \[1\] fetch      completed\s+{DURATION}  recorded", hist[1])
    assert hist[2].startswith("> [2] transform  completed")
    assert hist[3].startswith("  [3] validate   failed") and hist[3].endswith("(ahead)")
    assert "Values exceed threshold [DATA_QUALITY]" in hist[3]
    step = replies(out, "s")
    assert step[0].startswith("[3] validate → failed")
    assert step[1] == "    error: Values exceed threshold [DATA_QUALITY]"
    store = RunStore(store_path)
    try:
        assert store.count_runs() == 1  # debugging never writes a run
    finally:
        store.close()


def test_run_at_an_index_with_a_changed_param_and_an_explicit_definition(cli, session) -> None:
    run_id = stored_run_id(cli, "good/cli_failing.py")
    result = session("hist\nl\n", "good/cli_failing.py", "--run", run_id, "--at", "1",
                     "--param", "retry=true")
    assert result.code == 0, result.err
    hist = [line.split() for line in replies(result.out, "hist")]
    assert [row[:3] for row in hist[:2]] == [["[0]", "start"], ["[1]", "extract", "completed"]]
    assert hist[2] == [">", "[2]", "set", "retry", "=", "True", "set_param"]
    assert len(hist) == 3  # the edit replaced the recorded snapshots after it
    assert [row[:3] for row in map(str.split, replies(result.out, "l"))] == [
        ["extract", "completed", "lambda"], [">", "check", "pending"],
        ["publish", "pending", "function"]]


def test_debug_rejects_bad_input_with_exit_2(cli, run_module) -> None:
    cases = [((), "give a workflow to debug, or --run RUN_ID"),
             (("nope.workflow",), "no workflow named 'nope.workflow'"),
             (("debug.pipeline", "--at", "validate"), "--at needs --run"),
             (("--run", "feedface"), "does not exist yet"),
             (("debug.pipeline", "--param", "novalue"), "is not key=value")]
    for argv, message in cases:
        result = cli("debug", *argv)
        assert result.code == 2, argv
        assert message in result.err, (argv, result.err)
    run_id = stored_run_id(cli, "debug.pipeline")
    for at, message in (("nope", "has no step 'nope'"),
                        ("9", f"no snapshot 9; run '{run_id}' opens at snapshots 0..3")):
        result = cli("debug", "--run", run_id, "--at", at)
        assert result.code == 2
        assert message in result.err
        assert f"spine-engine status {run_id}" in result.err
    result = cli("debug", "good/cli_failing.py", "--run", run_id)
    assert result.code == 2
    assert "defines cli.failing, but run" in result.err


def test_run_whose_definition_is_gone_needs_name_or_file(cli, run_module,
                                                         tmp_path: Path) -> None:
    flow = tmp_path / "gone_flow.py"
    flow.write_text(Path("good/cli_failing.py").read_text())
    run_id = stored_run_id(cli, str(flow))
    flow.unlink()
    result = run_module("debug", "--run", run_id, stdin="q\n")  # nothing registered here
    assert result.code == 2
    assert f"cannot rebuild workflow 'cli.failing' for run {run_id}" in result.err
    assert f"spine-engine debug NAME_OR_FILE --run {run_id}" in result.err
    result = run_module("debug", "good/cli_failing.py", "--run", run_id, stdin="l\n")
    assert result.code == 0, result.err
    assert "  check    failed" in result.out


def test_ready_runs_the_whole_frontier_of_a_parallel_workflow(session) -> None:
    result = session("ready\nl\nready\n", "cli.complete", "--paths", "good")
    assert result.code == 0, result.err
    first = [line.split(" → ")[0] for line in replies(result.out, "ready") if line[:1] == "["]
    assert first == ["[1] fetch_a", "[2] fetch_b"]
    assert [line.split()[:2] for line in replies(result.out, "l")][2] == [">", "combine"]
    assert replies(result.out, "ready", 1)[0].startswith("[3] combine → completed")


def test_stored_yaml_run_reruns_with_the_pipelines_beside_it(cli, run_module,
                                                             tmp_path: Path) -> None:
    run_id = stored_run_id(cli, "yaml/cli_yaml.yaml")
    # another folder and a fresh process: the pipelines come from the .py beside the YAML
    result = run_module("debug", "--run", run_id, "--at", "0", cwd=tmp_path,
                        stdin="s\nout double\n")
    assert result.code == 0, result.err
    assert replies(result.out, "s")[0].startswith("[1] double → completed")
    assert replies(result.out, "out double") == ['{"doubled": 42}']
