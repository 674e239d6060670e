"""Adaptive workflows (spec section 4): steps change the rest of their run while it runs.

``changes`` is the pure graph edit (what may change, validated as one batch), ``control`` the
run side that collects a step's requests, ``run`` the half of the run loop that applies them.
"""

from .changes import AdaptiveChangeError, ChangeKind, GraphChange

__all__ = ["AdaptiveChangeError", "ChangeKind", "GraphChange"]
