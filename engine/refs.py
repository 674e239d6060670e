"""``module:qualname`` references to functions: how YAML, stored versions and recorded adaptive
changes name handlers, and the one place they are parsed and imported."""

from __future__ import annotations

import importlib
import re
from typing import Any

REF_PATTERN = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def is_ref(text: str) -> bool:
    """Whether ``text`` has the shape of a ``module:qualname`` reference."""
    return REF_PATTERN.fullmatch(text) is not None


def import_ref(ref: str) -> Any:
    """The object ``ref`` names; raises whatever importing the user's module raises, or
    ``AttributeError`` when the module has no such name."""
    module_name, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target
