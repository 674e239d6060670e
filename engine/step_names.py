"""How a map's per-item step runs are named (``fan[3].clean``): one definition for the runner
that names them and the store and views that tell them apart from a run's own steps."""

from __future__ import annotations

import re

#: ``[3].`` in ``fan[3].clean``: how a map's per-item step runs are named in events and stores
MAP_ITEM_SCOPE = re.compile(r"\[\d+\]\.")


def map_item_name(map_step: str, index: int, inner: str) -> str:
    """The name item ``index`` of map step ``map_step`` runs ``inner`` under (``fan[3].clean``),
    so stores and views can tell items apart."""
    return f"{map_step}[{index}].{inner}"


def is_map_item(name: str) -> bool:
    """Whether ``name`` is a map's per-item step run rather than a step of the run itself."""
    return MAP_ITEM_SCOPE.search(name) is not None
