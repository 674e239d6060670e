"""Trigger filters: CEL over the event, ``$`` rewritten outside strings, and known Python sandbox
escapes refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import EventTrigger, TriggerDefinitionError, TriggerFilterError, WebhookSource
from engine.triggers.filters import rewrite

SOURCE = WebhookSource(secret="TRIG_TEST_SECRET")


def trigger(filter_text: str) -> EventTrigger:
    return EventTrigger("filtered", SOURCE, "wf", {}, filter=filter_text)


# ---------------------------------------------------------------------------- the $ rule


@pytest.mark.parametrize(("text", "expected"), [
    ("$.ref == 'refs/heads/main'", "event.ref == 'refs/heads/main'"),
    ("$['x-id'] == 1", "event['x-id'] == 1"),
    ("size($) > 0", "size(event) > 0"),
    ("$.a == '$.b'", "event.a == '$.b'"),
    ('$.a == "it\'s $.b"', 'event.a == "it\'s $.b"'),
    ("$.a == '''x'$.y'''", "event.a == '''x'$.y'''"),
    ("$.a == r'\\' && $.b", "event.a == r'\\' && event.b"),
    ("$.a == b'$' || $.c // $.d in a comment", "event.a == b'$' || event.c // $.d in a comment"),
    ("event.ref == 'main'", "event.ref == 'main'"),
])
def test_dollar_is_the_event_only_outside_strings_and_comments(text: str, expected: str) -> None:
    assert rewrite(text)[0] == expected


@pytest.mark.parametrize("text", ["$ref == 1", "a$ == 1", "$$.a == 1", "event.$ == 1"])
def test_a_dollar_glued_to_a_name_is_refused(text: str) -> None:
    with pytest.raises(TriggerDefinitionError, match=r"'\$' at column \d+ must stand alone"):
        trigger(text)


def test_the_spec_filter_matches_only_main() -> None:
    t = trigger("$.ref == 'refs/heads/main'")
    assert t.matches({"ref": "refs/heads/main"}) is True
    assert t.matches({"ref": "refs/heads/dev"}) is False


def test_a_missing_field_does_not_match() -> None:
    assert trigger("$.ref == 'refs/heads/main'").matches({"after": "abc"}) is False
    assert trigger("$.repository.private").matches({}) is False


def test_filters_read_nested_data_and_lists() -> None:
    t = trigger("$.env == 'prod' && $.services.exists(s, s.name == 'api') && size($.tags) < 3")
    assert t.matches({"env": "prod", "services": [{"name": "db"}, {"name": "api"}],
                      "tags": ["a"]})
    assert not t.matches({"env": "prod", "services": [{"name": "db"}], "tags": []})


def test_a_trigger_without_a_filter_matches_everything() -> None:
    assert EventTrigger("all", SOURCE, "wf", {}).matches({"anything": 1})


def test_a_non_boolean_result_is_a_filter_error() -> None:
    with pytest.raises(TriggerFilterError, match="gave 'refs/heads/main', not true or false"):
        trigger("$.ref").matches({"ref": "refs/heads/main"})


def test_a_failing_filter_is_a_filter_error() -> None:
    with pytest.raises(TriggerFilterError, match="trigger 'filtered': filter"):
        trigger("$.count / $.zero > 1").matches({"count": 1, "zero": 0})


def test_a_bad_filter_fails_at_construction_with_the_trigger_and_column() -> None:
    with pytest.raises(TriggerDefinitionError) as caught:
        trigger("$.a + $.b +* 2")
    message = str(caught.value)
    assert "trigger 'filtered'" in message
    assert "'$.a + $.b +* 2' at column 12" in message


def test_an_unknown_name_fails_at_construction() -> None:
    with pytest.raises(TriggerDefinitionError, match="unknown name 'ref'; the names available "
                                                     "are event"):
        trigger("ref == 'main'")


# ---------------------------------------------------------------------------- sandbox escapes

ESCAPES_AT_CONSTRUCTION = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('{marker}', 'w')",
    "eval(\"open('{marker}', 'w')\")",
    "exec('import os')",
    "getattr($, '__class__')",
    "2 ** 99999999",
    "'a' * 10**9",
    "[x for x in range(10**9)]",
    "lambda: 1",
    "$.a.all(x, $.b.all(y, $.c.all(z, true)))",
    "$.a.map(x, $.a.map(y, $.a.map(z, $.a.map(w, 1))))",
    "$.x == 1 || " * 200 + "true",
]


@pytest.mark.parametrize("text", ESCAPES_AT_CONSTRUCTION)
def test_sandbox_escapes_are_refused_at_construction(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    with pytest.raises(TriggerDefinitionError):
        trigger(text.format(marker=marker))
    assert not marker.exists()


@pytest.mark.parametrize("text", [
    "$.__class__ == 1",
    "event.__class__.__bases__ == []",
    "$.__globals__['os'] == 1",
    "$['__class__']['__init__'] == 1",
])
def test_dunder_fields_are_plain_missing_keys(text: str) -> None:
    """CEL reads only the data it is given: a dunder is a key the event does not have."""
    assert trigger(text).matches({"ref": "main"}) is False


@pytest.mark.parametrize("text", [
    "'a' * 1000000000 == 'a'",
    "string($.n) + 1 == 2",
    "$.n * 1.5 > 1",
])
def test_operations_cel_does_not_have_fail_at_evaluation(text: str) -> None:
    with pytest.raises(TriggerFilterError):
        trigger(text).matches({"n": 3})


def test_text_that_looks_like_code_inside_a_string_is_just_text(tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    t = trigger(f"$.cmd == \"__import__('os').system('touch {marker}')\"")
    assert t.matches({"cmd": f"__import__('os').system('touch {marker}')"})
    assert not marker.exists()
