"""Inputs in whatever shape a caller holds them (a number, a list, a numpy array, a pandas Series
or DataFrame) become the flat float64 arrays the kernels take, and results go back in that shape.

pandas is never imported here: a Series can only reach us if the caller already imported it,
so it is looked up in ``sys.modules``. Anything that is not a number (``None``, ``pd.NA``, a
stray string in a batch) becomes NaN, so one bad row never stops a batch.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

_Item = TypeVar("_Item", bound=np.generic)
FloatArray: TypeAlias = npt.NDArray[np.float64]
#: what a metric takes: a number, a sequence, a numpy array or a pandas Series
Values: TypeAlias = "float | npt.ArrayLike | pd.Series"
#: what it gives back: a float for numbers, an array for arrays, a Series (same index) for
#: Series; typed ``Any``, as numpy types its ufuncs, since which one depends on the runtime
#: shape of the inputs and a union would make every caller narrow it before use
Result: TypeAlias = Any


def loaded_pandas() -> Any:
    """The pandas module if the caller loaded it, else None (we never load it ourselves)."""
    return sys.modules.get("pandas")


def _to_float(value: Any) -> float:
    """One cell as a float, NaN when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def as_float_array(value: Any) -> FloatArray:
    """``value`` as a float64 array without copying when it already is one; non-numbers → NaN."""
    if value is None:
        return np.array(np.nan)
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        cells = np.asarray(value, dtype=object)
        return np.asarray(np.frompyfunc(_to_float, 1, 1)(cells), dtype=np.float64)


def readonly(array: npt.NDArray[_Item]) -> npt.NDArray[_Item]:
    """A read-only C-contiguous view, so every kernel compiles for one array type only."""
    view = np.ascontiguousarray(array).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, slots=True)
class Batch:
    """Element-wise inputs broadcast to one shape and flattened, with what is needed to give
    the result back in the caller's shape."""

    arrays: tuple[FloatArray, ...]
    shape: tuple[int, ...]
    index: Any = None

    @property
    def size(self) -> int:
        """The number of elements each flat input holds."""
        return int(np.prod(self.shape, dtype=np.int64))

    def wrap(self, flat: FloatArray) -> Result:
        """A flat kernel output as a float, an array of the broadcast shape, or a Series."""
        if not self.shape:
            return float(flat[0])
        if self.index is not None and self.shape == (len(self.index),):
            return loaded_pandas().Series(flat, index=self.index)
        return flat.reshape(self.shape)


def batch(*values: Any) -> Batch:
    """Broadcast element-wise inputs together (Series aligned on their index, as pandas does)."""
    pandas = loaded_pandas()
    index = None
    if pandas is not None:
        series = [v for v in values if isinstance(v, pandas.Series)]
        if series:
            index = series[0].index
            if any(not s.index.equals(index) for s in series[1:]):
                for s in series[1:]:
                    index = index.union(s.index)
                values = tuple(v.reindex(index) if isinstance(v, pandas.Series) else v
                               for v in values)
    arrays = [as_float_array(v) for v in values]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"inputs of shapes {shapes} do not broadcast to one shape; "
                         "pass scalars or arrays of the same length") from None
    return Batch(tuple(readonly(_spread(a, shape)) for a in arrays), shape, index)


def _spread(array: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    """``array`` broadcast to ``shape`` as one flat contiguous array (a fill for a scalar)."""
    if array.shape == shape:
        return array.reshape(-1)
    if array.size == 1:
        return np.full(int(np.prod(shape, dtype=np.int64)), array.reshape(-1)[0])
    return np.ascontiguousarray(np.broadcast_to(array, shape)).reshape(-1)


@dataclass(frozen=True, slots=True)
class Columns:
    """Return or price series laid out one per row, ``(series, observations)``, with what is
    needed to give one figure per series back in the caller's shape."""

    data: FloatArray
    labels: Any = None
    single: bool = False

    def wrap(self, out: FloatArray) -> Result:
        """One value per series: a float for one series, a Series for a DataFrame's columns."""
        if self.single:
            return float(out[0])
        if self.labels is not None:
            return loaded_pandas().Series(out, index=self.labels)
        return out


def columns(values: Any) -> Columns:
    """A 1-D series (one figure out) or a 2-D table of observations × series (one per column)."""
    pandas = loaded_pandas()
    labels = None
    if pandas is not None and isinstance(values, pandas.DataFrame):
        labels = values.columns
    array = as_float_array(values)
    if array.ndim <= 1 and labels is None:
        return Columns(readonly(array.reshape(1, -1)), single=True)
    if array.ndim == 2:
        return Columns(readonly(array.T), labels)
    raise ValueError(f"expected a 1-D series or a 2-D table (observations × series), "
                     f"got {array.ndim} dimensions")
