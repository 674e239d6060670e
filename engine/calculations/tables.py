"""Tables in and out of a calculation step: what a reference names becomes a DataFrame, and a
result table becomes an artifact (or, small and without a store, inline JSON rows);
``TableCalculation`` is the step shape built on both (one table in, one table out).

pandas is loaded here only when a step runs, so ``import engine`` stays light.
"""

from __future__ import annotations

import io
import math
import re
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from ..artifacts.refs import ArtifactRef
from ..policies import ErrorCategory
from ..results import StepResult
from .base import Calculation, CalculationError, check_output_format, check_reference, step_name

if TYPE_CHECKING:
    import pandas as pd

    from ..context import WorkflowContext

#: inline result rows above this many must go to an artifact store instead
MAX_INLINE_ROWS = 5000
_EXTENSIONS = {"parquet": "parquet", "pickle": "pkl", "json": "json"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]]+")


def pandas() -> Any:
    import pandas as pd  # deliberate lazy load: pandas costs ~0.3 s, paid when a step runs

    return pd


def read_table(ctx: WorkflowContext, reference: Any, what: str) -> pd.DataFrame:
    """The table ``reference`` names: an artifact (parquet, pickle, JSON rows, CSV), inline
    rows or columns from an earlier output, or a DataFrame handed in directly."""
    pd = pandas()
    value = ctx.resolve(reference) if isinstance(reference, str) else reference
    if isinstance(value, Mapping) and ArtifactRef.is_ref_dict(value):
        value = ArtifactRef.from_dict(value)
    if isinstance(value, ArtifactRef):
        return _read_artifact(ctx, value, what, reference)
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("rows"), list):
        value = value["rows"]  # an inline result of another calculation step
    try:
        if isinstance(value, list) and all(isinstance(row, Mapping) for row in value):
            return pd.DataFrame.from_records(value)
        if isinstance(value, Mapping) and all(isinstance(c, list) for c in value.values()):
            return pd.DataFrame(dict(value))
    except ValueError as exc:
        raise CalculationError(f"{what} {reference!r} is not a table: {exc}",
                               ErrorCategory.DATA_QUALITY) from None
    raise CalculationError(
        f"{what} {reference!r} is a {type(value).__name__}, not a table; point it at an "
        "artifact ('$.artifacts.NAME'), a list of row dicts or a dict of columns",
        ErrorCategory.DATA_QUALITY)


def _read_artifact(ctx: WorkflowContext, ref: ArtifactRef, what: str,
                   reference: Any) -> pd.DataFrame:
    store = ctx.artifact_store
    if store is None:
        raise CalculationError(
            f"{what} {reference!r} is an artifact, but this run has no artifact store; run it "
            "tracked (spine-engine run, start_run) or pass "
            "WorkflowRunner(artifact_store=LocalArtifactStore(path))")
    pd = pandas()
    kind = ref.content_type
    if kind.endswith("parquet") or kind.endswith("pickle"):
        return store.get_dataframe(ref)
    data = store.get(ref)
    if kind == "text/csv" or ref.key.endswith(".csv"):
        return pd.read_csv(io.BytesIO(data))
    if "json" in kind:
        import json

        return read_table(ctx, json.loads(data), what)
    raise CalculationError(f"{what} {reference!r} is artifact {ref.key!r} of type {kind!r}, "
                           "which is not a table (parquet, pickle, JSON rows or CSV)",
                           ErrorCategory.DATA_QUALITY)


def publish_table(ctx: WorkflowContext, frame: pd.DataFrame, step: str,
                  output_format: str | None, label: str = "result") -> dict[str, Any]:
    """The step output for a result table: ``{"artifact": ref, "row_count", "columns"}``, or
    ``{"rows": [...], ...}`` inline (``records``, or no store and no format asked for)."""
    store = ctx.artifact_store
    fmt = output_format or ("parquet" if store is not None else "records")
    shape = {"row_count": len(frame), "columns": [str(c) for c in frame.columns]}
    if fmt == "records":
        if len(frame) > MAX_INLINE_ROWS:
            raise CalculationError(
                f"step {step!r}: {len(frame)} result rows are too many to return inline (at "
                f"most {MAX_INLINE_ROWS}); give the run an artifact store and an "
                "output_format of parquet, pickle or json")
        return {**shape, "rows": records(frame)}
    if store is None:
        raise CalculationError(
            f"step {step!r}: output_format {fmt!r} writes an artifact, but this run has no "
            "artifact store; run it tracked or pass WorkflowRunner(artifact_store=...)")
    key = f"runs/{_segment(ctx.run_id)}/{_segment(step)}/{label}.{_EXTENSIONS[fmt]}"
    if fmt == "json":
        ref = store.put_json(key, records(frame), run_id=ctx.run_id, step=step)
    else:
        try:
            ref = store.put_dataframe(key, frame.reset_index(drop=True), fmt,
                                      run_id=ctx.run_id, step=step)
        except (TypeError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise CalculationError(
                f"step {step!r}: the result table cannot be written as {fmt}: {exc}; clean "
                "the column or use output_format='pickle' or 'json'",
                ErrorCategory.DATA_QUALITY) from None
    return {"artifact": ref, **shape}


class TableCalculation(Calculation):
    """A calculation that reads the table ``input_ref`` names, computes a result table from it
    and publishes that as ``output_format`` says; subclasses are dataclasses with both fields."""

    input_ref: Any
    output_format: str | None

    def check_table_fields(self, owner: str) -> None:
        """Refuse at construction a bad ``input_ref`` or ``output_format``."""
        check_reference(owner, "input_ref", self.input_ref)
        check_output_format(owner, self.output_format)

    def run(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        step = step_name(self.kind)
        result = self.compute(read_table(ctx, self.input_ref, "input_ref"))
        output = publish_table(ctx, result, step, self.output_format)
        output.update(self.extra_output(result))
        return StepResult.ok(output)

    @abstractmethod
    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The result table for ``frame`` (what the step publishes)."""

    def extra_output(self, result: pd.DataFrame) -> dict[str, Any]:
        """Output keys beside the published table (none by default)."""
        return {}


def _segment(text: str) -> str:
    """``text`` as one safe artifact key segment."""
    return _UNSAFE.sub("_", text).strip(".") or "_"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: NaN, inf and missing values as ``None``, numpy scalars as
    Python numbers, timestamps as ISO text (a date alone when the time is midnight)."""
    pd = pandas()
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            midnight = bool((series.dropna() == series.dropna().dt.normalize()).all())
            text = series.dt.strftime("%Y-%m-%d") if midnight else series.map(
                lambda t: t.isoformat() if not pd.isna(t) else None)
            columns[str(name)] = [v if isinstance(v, str) else None for v in text.tolist()]
        else:
            columns[str(name)] = [json_safe(v) for v in series.tolist()]
    keys = list(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def json_safe(value: Any) -> Any:
    """One value as JSON-safe data: non-finite floats and missing markers become ``None``."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item):
        return json_safe(item())
    pd = pandas()
    if pd.isna(value):
        return None
    if isinstance(value, datetime):  # pandas' Timestamp too
        midnight = value.tzinfo is None and value.time() == time()
        return value.date().isoformat() if midnight else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
