"""Reading YAML for ``WorkflowSpec`` and turning every problem into a ``file:line`` error.

The document is composed into a node tree first, so a pydantic error location or a
graph error of ``Workflow(...)`` can be mapped back to the 1-based line of the key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import (
    DependencyCycleError,
    DuplicateStepError,
    UnknownDependencyError,
    WorkflowSpecError,
    WorkflowValidationError,
)
from .models import API_VERSION, KIND, MODEL_UNDER, StepSpec

Loc = tuple[str | int, ...]


def load_document(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The composed node tree (for line numbers) and the plain data of one YAML document."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here, before parsing
    except yaml.YAMLError as exc:
        raise WorkflowSpecError(f"invalid YAML: {exc}", source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise WorkflowSpecError(f"the document is empty; a workflow starts with "
                                    f"'apiVersion: {API_VERSION}' and 'kind: {KIND}'", source, 1)
        return node, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or "syntax error"
        if exc.context:
            opened = exc.context_mark
            since = f" started on line {opened.line + 1}" if opened and mark and \
                opened.line != mark.line else ""
            detail += f" ({exc.context}{since})"
        where = f" at column {mark.column + 1}" if mark else ""
        if not isinstance(exc, yaml.constructor.ConstructorError):
            detail += "; check indentation, quotes and brackets"
        raise WorkflowSpecError(f"invalid YAML{where}: {detail}", source,
                                mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise WorkflowSpecError(f"invalid YAML: {exc}", source) from None
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """Safe loading that rejects a key repeated in one mapping (YAML keeps only the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[str, yaml.Mark] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key.value!r} appears twice in one mapping (first on line "
                    f"{first[key.value].line + 1}); remove or rename one", key.start_mark)
            first[key.value] = key.start_mark
        return super().construct_mapping(node, deep)


def check_header(data: Any, node: yaml.Node, source: str) -> None:
    """Reject a document that is not a mapping or is not ``apiVersion``/``kind`` we read."""
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"a {type(data).__name__} ({data!r:.40})"
        raise WorkflowSpecError(f"expected a mapping with apiVersion, kind, metadata and spec "
                                f"at the top level, got {got}", source, node.start_mark.line + 1)
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if key not in data:
            raise WorkflowSpecError(f"missing {key}; add '{key}: {expected}' at the top",
                                    source, 1)
        if data[key] != expected:
            raise WorkflowSpecError(f"{key} is {data[key]!r}; expected {expected!r}",
                                    source, line_at(node, (key,)))


def line_at(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the key at ``loc``, or of the deepest part of it the document has."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, str):
            continue  # the tag of a union member (``rules.inline[0]``), not a key
        else:
            break
    return line


def schema_error(exc: ValidationError, node: yaml.Node | None, source: str,
                 root: type[BaseModel]) -> WorkflowSpecError:
    """One error for every schema problem, placed at the first one and listing a few more;
    ``root`` is the model of the whole document (for hints about top-level keys)."""
    problems = sorted(((line_at(node, e["loc"]) or 0, _describe(e, root)) for e in exc.errors()),
                      key=lambda p: p[0])
    line, message = problems[0]
    message += "".join(f"; also line {n}: {text}" if n else f"; also {text}"
                       for n, text in problems[1:4])
    if len(problems) > 4:
        message += f"; and {len(problems) - 4} more"
    return WorkflowSpecError(message, source, line or None)


def _describe(error: ErrorDetails, root: type[BaseModel]) -> str:
    loc = error["loc"]
    path = _dotted(loc) or "document"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1], root)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        return f"{path}: unknown key {key!r}; {hint}"
    if kind == "missing":
        return f"{path}: missing required key {str(loc[-1])!r}"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and not isinstance(value, dict | list):
        message += f" (got {value!r})"
    return f"{path}: {message}"


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(loc: Sequence[str | int], root: type[BaseModel]) -> list[str]:
    """The keys the mapping at ``loc`` accepts (its last key names the model), for hints."""
    parent = next((p for p in reversed(loc) if isinstance(p, str)), "")
    model = MODEL_UNDER.get(parent) if parent else root
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _scopes(steps: Sequence[StepSpec], loc: Loc,
            label: str) -> Iterator[tuple[str, Sequence[StepSpec], Loc]]:
    """Every list of steps validated as one graph: the workflow's, then each map's iterators."""
    yield label, steps, loc
    for i, step in enumerate(steps):
        if step.map is not None:
            yield from _scopes(step.map.steps, (*loc, i, "map", "steps"), f"{label}.{step.name}")


def locate(exc: WorkflowValidationError, steps: Sequence[StepSpec], workflow: str) -> Loc:
    """Where in the document a graph error of ``Workflow(...)`` comes from (for a cycle: the
    first step on it with an explicit ``depends_on``, the edge a user can change)."""
    for label, group, loc in _scopes(steps, ("spec", "steps"), workflow):
        names = [s.name for s in group]
        if isinstance(exc, DependencyCycleError) and label == exc.workflow:
            on_cycle = [i for i, s in enumerate(group) if s.name in exc.cycle]
            explicit = [i for i in on_cycle if group[i].depends_on is not None]
            return (*loc, (explicit or on_cycle)[0], "depends_on")
        for i, step in enumerate(group):
            if isinstance(exc, DuplicateStepError) and step.name in names[:i]:
                return (*loc, i, "name")
            if isinstance(exc, UnknownDependencyError) \
                    and any(d not in names for d in step.depends_on or ()):
                return (*loc, i, "depends_on")
    return ()
