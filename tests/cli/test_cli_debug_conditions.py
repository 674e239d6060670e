"""``spine-engine debug``: ``break STEP if EXPR`` and ``watch EXPR``, compiled by the engine's
``expression_condition`` as the TUI's conditional breakpoints are."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from debug_transcript import replies


def session(cli: Any, monkeypatch: pytest.MonkeyPatch, script: str) -> Any:
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    return cli("debug", "debug.pipeline")


def test_break_if_and_watch_pause_where_their_expressions_hold(cli, monkeypatch) -> None:
    script = ('break validate if max(outputs["transform"]["doubled"]) > 8\n'
              "watch ctx.get_output('fetch', 'count') == 5\n"
              "break\nc\nclear #2\nc\nclear\n"
              "reset\nbreak if outputs['nope'] > 1\nc\n")
    result = session(cli, monkeypatch, script)
    assert result.code == 0, result.err
    out = result.out
    assert replies(out, 'break validate if max(outputs["transform"]["doubled"]) > 8') == [
        "breakpoint #1 before 'validate' if max(outputs[\"transform\"][\"doubled\"]) > 8"]
    assert replies(out, "watch ctx.get_output('fetch', 'count') == 5") == [
        "breakpoint #2 when ctx.get_output('fetch', 'count') == 5"]
    assert replies(out, "break")[:2] == [
        "#1 before 'validate' if max(outputs[\"transform\"][\"doubled\"]) > 8",
        "#2 when ctx.get_output('fetch', 'count') == 5"]
    first, second = replies(out, "c", 0), replies(out, "c", 1)
    assert first[0].startswith("[1] fetch → completed")
    assert first[-1] == ("paused after 'fetch': breakpoint #2 when "
                         "ctx.get_output('fetch', 'count') == 5")
    assert second[0].startswith("[2] transform → completed")
    assert second[-1] == ("paused before 'validate' (breakpoint #1 if "
                          "max(outputs[\"transform\"][\"doubled\"]) > 8)")
    assert replies(out, "break if outputs['nope'] > 1") == [
        "breakpoint #3 when outputs['nope'] > 1"]
    raised = replies(out, "c", 2)
    assert raised[-1] == ("paused after 'fetch': breakpoint #3 when outputs['nope'] > 1: "
                          "the condition raised KeyError: 'nope'")


def test_bad_conditions_are_errors_and_add_nothing(cli, monkeypatch) -> None:
    script = ('break validate if outputs["transform"\nwatch output["x"]\nwatch\n'
              "break validate if\nbreak nope if True\nbreak\n")
    result = session(cli, monkeypatch, script)
    assert result.code == 0, result.err
    out = result.out
    parse = replies(out, 'break validate if outputs["transform"')
    assert parse[0].startswith("error: condition 'outputs[\"transform\"' does not parse: ")
    assert parse[0].endswith("at column 8")
    assert parse[2].strip() == "^" and parse[2].index("^") == parse[1].index("[")  # under it
    assert replies(out, 'watch output["x"]')[0].startswith(
        "error: condition 'output[\"x\"]' reads unknown name 'output' at column 1; "
        "did you mean 'outputs'?")
    assert replies(out, "watch")[0].startswith("error: usage: watch EXPR")
    assert replies(out, "break validate if")[0].startswith("error: usage: break [STEP] if EXPR")
    assert replies(out, "break nope if True") == [
        "error: workflow 'debug.pipeline' has no step 'nope'"]
    assert replies(out, "break")[0] == "no breakpoints"
