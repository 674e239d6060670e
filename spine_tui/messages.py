"""Messages shared across screens, named for what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from engine.discovery import Catalog


@dataclass
class CatalogLoaded(Message):
    """Discovery finished; ``catalog`` is the engine's ``Catalog`` (workflows and load errors)."""

    catalog: Catalog


@dataclass
class CatalogLoadFailed(Message):
    """Discovery itself failed (not one file: the whole scan), with a readable reason."""

    error: str
