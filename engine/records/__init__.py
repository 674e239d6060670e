"""Temporal and audit records (spec I1, A2, A3, M2): envelopes, bi-temporal versions,
corporate-action adjustments, corrections, quality checks and data assets.

Every type has ``to_dict()`` and is registered as a JSON type, so a step may return one.
"""

from .adjustments import AdjustmentChain, AdjustmentFactor, AdjustmentMethod
from .assets import AssetKey, AssetMaterialization
from .corrections import CorrectionReason, CorrectionRecord
from .quality import QualityCategory, QualityCheck, QualityResult, QualityStatus
from .temporal import BiTemporalHistory, BiTemporalRecord, TemporalEnvelope, as_of

__all__ = [
    "AdjustmentChain",
    "AdjustmentFactor",
    "AdjustmentMethod",
    "AssetKey",
    "AssetMaterialization",
    "BiTemporalHistory",
    "BiTemporalRecord",
    "CorrectionReason",
    "CorrectionRecord",
    "QualityCategory",
    "QualityCheck",
    "QualityResult",
    "QualityStatus",
    "TemporalEnvelope",
    "as_of",
]
