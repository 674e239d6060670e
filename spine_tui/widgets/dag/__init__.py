"""The DAG viewer: a pure layered layout, boxes opened in place, and the canvas that shows them.

``layout`` places boxes and draws edges, ``expand`` opens sub-workflow and map boxes into
their inner steps, and ``canvas`` is the scrollable, selectable widget; the first two are
pure so they can be unit-tested and benchmarked without an app.
"""

from __future__ import annotations

from .canvas import DagCanvas, ExpandableDagCanvas
from .expand import DagNode, ExpandedDag, expand, node_statuses
from .layout import DagLayout, compute_layout

__all__ = ["DagCanvas", "DagLayout", "DagNode", "ExpandableDagCanvas", "ExpandedDag",
           "compute_layout", "expand", "node_statuses"]
