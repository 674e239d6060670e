"""What counts as a change to a step: real modules written to tmp files, edited, loaded again."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from engine import RetryPolicy, Step, Workflow, register_pipeline, register_workflow
from engine.playground import ChangeReason, compare_prints, workflow_prints
from engine.playground.fingerprint import code_digest, handler_fingerprint

pytestmark = pytest.mark.usefixtures("clean_registry")

BASE = '''
LIMIT = 8


def double(x):
    return x * 2


def helper(rows):
    return [double(r) for r in rows if r < LIMIT]


def handler(ctx, config):
    """Doubles the rows under LIMIT."""
    return {"rows": helper(ctx.get_output("load", "rows", []))}
'''

Loader = Callable[[str], ModuleType]


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Loader]:
    """Write ``source`` to ``flow_mod.py`` and execute it into a fresh module (as discovery
    does on every load); sibling modules it imports are imported afresh too."""
    sys.path.insert(0, str(tmp_path))
    siblings: set[str] = set()

    def write_and_load(source: str, name: str = "flow_mod") -> ModuleType:
        for sibling in siblings:
            sys.modules.pop(sibling, None)
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def sibling(source: str, name: str) -> None:
        siblings.add(name)
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))

    write_and_load.sibling = sibling  # type: ignore[attr-defined]
    yield write_and_load
    sys.path.remove(str(tmp_path))
    for name in {"flow_mod", *siblings}:
        sys.modules.pop(name, None)


def prints_of(module: ModuleType) -> tuple[tuple[str, str], ...]:
    return handler_fingerprint(module.handler)


def changed_labels(before: tuple[tuple[str, str], ...],
                   after: tuple[tuple[str, str], ...]) -> set[str]:
    old, new = dict(before), dict(after)
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def test_comments_blank_lines_docstrings_and_moves_are_not_changes(load: Loader) -> None:
    before = prints_of(load(BASE))
    edited = ("# a new comment at the top\n\n\n" + BASE
              .replace('"""Doubles the rows under LIMIT."""', '"""Reworded docstring."""')
              .replace("    return x * 2", "    # explain\n    return x * 2"))
    assert prints_of(load(edited)) == before


def test_a_bytecode_change_in_the_handler_is_a_change(load: Loader) -> None:
    before = prints_of(load(BASE))
    after = prints_of(load(BASE.replace('{"rows": helper', '{"items": helper')))
    assert changed_labels(before, after) == {"handler"}


def test_same_module_helpers_are_followed_transitively(load: Loader) -> None:
    before = prints_of(load(BASE))
    after = prints_of(load(BASE.replace("return x * 2", "return x * 3")))
    assert changed_labels(before, after) == {"double"}  # handler -> helper -> double


def test_nested_code_and_module_constants_count(load: Loader) -> None:
    before = prints_of(load(BASE))
    in_comprehension = prints_of(load(BASE.replace("if r < LIMIT", "if r <= LIMIT")))
    assert changed_labels(before, in_comprehension) == {"helper"}
    constant = prints_of(load(BASE.replace("LIMIT = 8", "LIMIT = 9")))
    assert changed_labels(before, constant) == {"LIMIT"}


def test_recursion_terminates_and_a_change_in_the_cycle_is_seen(load: Loader) -> None:
    source = '''
    def even(n):
        return True if n == 0 else odd(n - 1)

    def odd(n):
        return False if n == 0 else even(n - 1)

    def handler(ctx, config):
        return {"even": even(config.get("n", 4))}
    '''
    before = prints_of(load(source))
    assert {label for label, _ in before} == {"handler", "even", "odd"}
    after = prints_of(load(source.replace("return False if", "return None if")))
    assert changed_labels(before, after) == {"odd"}


def test_helpers_of_a_module_beside_it_count_installed_packages_do_not(load: Loader) -> None:
    load.sibling("def scale(x):\n    return x * 10\n", "hs_helpers")  # type: ignore[attr-defined]
    source = '''
    import json

    import hs_helpers
    from hs_helpers import scale

    def handler(ctx, config):
        return {"a": scale(1), "b": hs_helpers.scale(2), "text": json.dumps([1])}
    '''
    before = prints_of(load(source))
    labels = {label for label, _ in before}
    assert {"handler", "hs_helpers.scale"} <= labels
    assert not any("json" in label or "dumps" in label for label in labels)
    load.sibling("def scale(x):\n    return x * 100\n", "hs_helpers")  # type: ignore[attr-defined]
    after = prints_of(load(source))
    assert changed_labels(before, after) == {"hs_helpers.scale"}


def test_decorated_and_partial_helpers_are_unwrapped(load: Loader) -> None:
    source = '''
    import functools

    from engine import workflow_step

    @workflow_step(name="inner")
    def inner(x=1):
        return {"x": x + 1}

    def add(a, b):
        return a + b

    plus_two = functools.partial(add, 2)

    def handler(ctx, config):
        return {"y": inner(3)["x"] + plus_two(1)}
    '''
    before = prints_of(load(source))
    assert changed_labels(before, prints_of(load(source.replace("x + 1", "x + 5")))) == {"inner"}
    assert changed_labels(before, prints_of(load(source.replace("partial(add, 2)",
                                                                "partial(add, 3)")))) \
        == {"partial(add)"}


def test_code_digest_ignores_position_but_not_behaviour() -> None:
    first = compile("def f(x):\n    return x + 1\n", "a.py", "exec")
    moved = compile("\n\n\ndef f(x):\n    return x + 1\n", "b.py", "exec")
    changed = compile("def f(x):\n    return x + 2\n", "a.py", "exec")
    assert code_digest(first) == code_digest(moved)
    assert code_digest(first) != code_digest(changed)


# ------------------------------------------------------------------------------ steps


def fetch(ctx, config):
    return {"rows": [1, 2, 3]}


def check(ctx, config):
    return {"ok": True}


def report(ctx, config):
    return {"done": True}


def other_check(ctx, config):
    return {"ok": False}


def flow(*steps: Step) -> Workflow:
    return Workflow("fp.flow", list(steps))


BASE_STEPS = (Step.lambda_("fetch", fetch), Step.lambda_("check", check),
              Step.lambda_("report", report))


def reasons(old: Workflow, new: Workflow) -> dict[str, tuple[ChangeReason, ...]]:
    return {c.step: c.reasons for c in compare_prints(workflow_prints(old), workflow_prints(new))}


def test_identical_definitions_have_no_changes() -> None:
    assert reasons(flow(*BASE_STEPS), flow(*BASE_STEPS)) == {}


def test_config_options_and_handlers_are_told_apart() -> None:
    old = flow(*BASE_STEPS)
    config = flow(BASE_STEPS[0], Step.lambda_("check", check, config={"limit": 3}),
                  BASE_STEPS[2])
    assert reasons(old, config) == {"check": (ChangeReason.CONFIG,)}
    retry = flow(BASE_STEPS[0], Step.lambda_("check", check, retry_policy=RetryPolicy()),
                 BASE_STEPS[2])
    assert reasons(old, retry) == {"check": (ChangeReason.OPTIONS,)}
    handler = flow(BASE_STEPS[0], Step.lambda_("check", other_check), BASE_STEPS[2])
    changes = compare_prints(workflow_prints(old), workflow_prints(handler))
    assert [(c.step, c.reasons, c.code) for c in changes] == [
        ("check", (ChangeReason.CODE,), ("other_check", "check"))]
    assert changes[0].describe() == "code (other_check, check)"


def test_inserting_a_step_changes_the_wiring_of_the_next() -> None:
    old = flow(*BASE_STEPS)
    new = flow(BASE_STEPS[0], Step.lambda_("clean", fetch), *BASE_STEPS[1:])
    assert reasons(old, new) == {"clean": (ChangeReason.ADDED,),
                                 "check": (ChangeReason.DEPENDENCIES,)}
    assert reasons(new, old) == {"check": (ChangeReason.DEPENDENCIES,),
                                 "clean": (ChangeReason.REMOVED,)}


def test_pipeline_handlers_and_sub_workflows_are_followed() -> None:
    register_pipeline("fp.pipe", fetch)
    register_workflow(Workflow("fp.child", [Step.lambda_("inner", check)]))
    parent = flow(Step.pipeline("load", "fp.pipe"), Step.workflow("sub", "fp.child"))
    before = workflow_prints(parent)
    register_pipeline("fp.pipe", other_check)
    register_workflow(Workflow("fp.child", [Step.lambda_("inner", report)]))
    after = workflow_prints(parent)
    assert {c.step: c.reasons for c in compare_prints(before, after)} == {
        "load": (ChangeReason.CODE,), "sub": (ChangeReason.CODE,)}


def test_map_iterator_steps_are_part_of_the_map_step() -> None:
    def mapped(inner: Step) -> Workflow:
        return flow(BASE_STEPS[0], Step.map("each", "$.outputs.fetch.rows", [inner]))

    before = mapped(Step.lambda_("one", check))
    assert reasons(before, mapped(Step.lambda_("one", check))) == {}
    assert reasons(before, mapped(Step.lambda_("one", other_check))) == {
        "each": (ChangeReason.CODE,)}
    assert reasons(before, mapped(Step.lambda_("one", check, config={"k": 1}))) == {
        "each": (ChangeReason.CODE,)}
