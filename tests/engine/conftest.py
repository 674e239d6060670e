"""Fixtures shared by engine test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import registry


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Workflows and pipelines a test registers must not leak into other tests (opt in with
    ``pytestmark = pytest.mark.usefixtures("clean_registry")``: sample modules register
    theirs once, at import, for every test after)."""
    workflows, pipelines = set(registry.list_workflows()), set(registry.list_pipelines())
    yield
    for name in set(registry.list_workflows()) - workflows:
        registry.unregister_workflow(name)
    for name in set(registry.list_pipelines()) - pipelines:
        registry.unregister_pipeline(name)
