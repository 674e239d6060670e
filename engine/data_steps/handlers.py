"""The handlers behind ``Step.source``, ``Step.transform`` and ``Step.sink``.

Each is a ``(ctx, config)`` handler: its JSON-ready settings (connection, table, query, path,
formats, chunk size) live in the step's config, so they show in the DAG and in exports and a
``secret:`` reference in them is resolved as the step runs; the Python functions and the
``IncrementalConfig`` live on the handler. Tables travel between data steps as artifacts (the
step's output is ``{"artifact": ArtifactRef, "row_count": n, "schema": {...}}``), and each step
reports what it read and wrote as lineage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..artifacts.local import LocalArtifactStore
from ..artifacts.refs import ArtifactRef
from ..invoke import signature_of
from ..policies import ErrorCategory
from ..step_scope import current_step
from ..store.incremental import get_cursor
from ..store.lazy import LazyStore
from . import sinks, sources
from .config import ARTIFACT_FORMATS, WRITE_MODES, DataStepError, IncrementalConfig
from .frames import TableWriter, read_artifact, to_frame
from .lineage import report, transform_hash

if TYPE_CHECKING:
    import pandas as pd

    from ..context import WorkflowContext

Handler = Callable[..., Any]
_ARTIFACTS_PREFIX = "$.artifacts."
_EXTENSIONS = {"parquet": "parquet", "csv": "csv"}


def data_settings(kind: str, name: str, fn: Handler | None, **values: Any) -> dict[str, Any]:
    """A data step's config: the given settings without the unset ones, checked now."""
    settings = {k: v for k, v in values.items() if v is not None}
    check_settings(kind, name, settings, fn)
    return settings


def incremental_of(value: IncrementalConfig | Mapping[str, Any] | None
                   ) -> IncrementalConfig | None:
    """An ``IncrementalConfig`` from one or from its keyword arguments as a dict."""
    if value is None or isinstance(value, IncrementalConfig):
        return value
    if isinstance(value, Mapping):
        return IncrementalConfig(**value)
    raise TypeError(f"incremental must be an IncrementalConfig, got {type(value).__name__}")


def describe(kind: str, settings: Mapping[str, Any], fn: Handler | None) -> str:
    """A one-line label: what the step reads or writes."""
    target = settings.get("table") or settings.get("query") or settings.get("path") \
        or (_fn_name(fn).split(":")[-1] if fn is not None else "")
    return f"{kind}: {' '.join(str(target).split())[:80]}"


def check_settings(kind: str, name: str, settings: Mapping[str, Any],
                   fn: Handler | None) -> None:
    """Refuse what cannot work before any run: unknown types, formats, modes, chunk sizes."""
    what = f"{kind} {name!r}"
    if fn is not None and not callable(fn):
        raise TypeError(f"{what}: handler must be a function, got {type(fn).__name__}")
    if kind == "source":
        sources.connector_of(settings.get("source_type"), settings, fn is not None, what)
    elif kind == "sink":
        sinks.connector_of(settings.get("sink_type"), settings, fn is not None, what)
        mode = settings.get("write_mode", "append")
        if mode not in WRITE_MODES:
            raise DataStepError(f"{what}: write_mode {mode!r} is not one of "
                                f"{', '.join(WRITE_MODES)}")
        if mode == "upsert" and not settings.get("key"):
            raise DataStepError(f"{what}: write_mode='upsert' needs key= (the column or "
                                "columns that identify a row)")
    elif fn is None:
        raise TypeError(f"{what}: a transform needs a handler, the function that turns a "
                        "DataFrame into a DataFrame")
    fmt = settings.get("output_format", "parquet")
    if kind != "sink" and fmt not in ARTIFACT_FORMATS:
        raise DataStepError(f"{what}: output_format {fmt!r} is not supported; use one of "
                            f"{', '.join(ARTIFACT_FORMATS)}")
    _chunk_size(settings, what)


@dataclass(frozen=True, slots=True)
class SourceStep:
    """Reads a table (SQLite, CSV/Parquet, a function) into an artifact; incremental with a
    cursor."""

    step: str
    fn: Handler | None = None
    incremental: IncrementalConfig | None = None

    def __call__(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> dict[str, Any]:
        what = f"source {self.step!r}"
        connector = sources.connector_of(config.get("source_type"), config,
                                         self.fn is not None, what)
        chunk_size = _chunk_size(config, what)
        window, cursor_name = None, None
        if self.incremental is not None:
            cursor_name = self.incremental.cursor_name(ctx.workflow_name, self.step)
            stored = get_cursor(LazyStore(self.incremental.store).db, cursor_name)
            after = stored.value if stored is not None else self.incremental.initial_value
            window = sources.Window(self.incremental.cursor_field, after)
        reading = sources.read(connector, config, self.fn, ctx, what, window, chunk_size)
        writer = TableWriter(str(config.get("output_format", "parquet")), what)
        top: Any = None
        try:
            for chunk in reading.chunks:
                if window is not None and len(chunk):
                    top = _higher(top, sources.high_water(chunk[window.field]), what)
                writer.write(chunk)
            ref = writer.finish(_artifacts(ctx), _key(ctx, self.step, writer.format),
                                ctx.run_id, _step_name(self.step), reading.columns)
        except BaseException:
            writer.discard()
            raise
        read_detail: dict[str, Any] = {"rows": writer.rows, "schema": writer.schema}
        output: dict[str, Any] = {"artifact": ref, "row_count": writer.rows,
                                  "schema": writer.schema}
        if window is not None:
            read_detail["cursor"] = {"name": cursor_name, "field": window.field,
                                     "from": window.after, "to": top,
                                     "workflow": ctx.workflow_name}
            output["cursor"] = {"name": cursor_name, "from": window.after,
                                "to": top if top is not None else window.after}
        report("read", reading.kind, reading.name, read_detail)
        report("write", "artifact", ref.key, _artifact_detail(ref, writer))
        return output


@dataclass(frozen=True, slots=True)
class TransformStep:
    """Runs ``fn`` over an artifact's table (whole, or per chunk of ``chunk_size`` rows) and
    stores what it returns as a new artifact; with ``inputs`` it gets several tables by name."""

    step: str
    fn: Handler

    def __call__(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> dict[str, Any]:
        what = f"transform {self.step!r}"
        chunk_size = _chunk_size(config, what)
        store = _artifacts(ctx)
        named = config.get("inputs")
        if named:
            refs = {str(k): input_ref(v, ctx, what) for k, v in dict(named).items()}
            tables = {k: _whole(store, ref, what) for k, ref in refs.items()}
            counted = {ref.key: len(tables[k]) for k, ref in refs.items()}
            results: Iterator[pd.DataFrame] = iter([self._call(ctx, what, **tables)])
            read = list(refs.values())
        else:
            ref = input_ref(config.get("input_ref"), ctx, what)
            counted = {ref.key: 0}
            results = (self._call(ctx, what, _counted(chunk, counted, ref.key))
                       for chunk in read_artifact(store, ref, chunk_size, what))
            read = [ref]
        writer = TableWriter(str(config.get("output_format", "parquet")), what)
        try:
            for result in results:
                writer.write(result)
            out = writer.finish(store, _key(ctx, self.step, writer.format), ctx.run_id,
                                _step_name(self.step))
        except BaseException:
            writer.discard()
            raise
        for ref in read:
            report("read", "artifact", ref.key, _input_detail(ref, counted[ref.key]))
        code = transform_hash(self.fn)
        report("write", "artifact", out.key, {**_artifact_detail(out, writer),
                                              "transform_hash": code,
                                              "handler": _fn_name(self.fn)})
        return {"artifact": out, "row_count": writer.rows, "schema": writer.schema}

    def _call(self, ctx: WorkflowContext, what: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        if "ctx" in signature_of(self.fn).names:
            kwargs["ctx"] = ctx
        return to_frame(self.fn(*args, **kwargs), f"{what}: handler {_fn_name(self.fn)}")


@dataclass(frozen=True, slots=True)
class SinkStep:
    """Writes an artifact's table to SQLite, a file or a function, all or nothing."""

    step: str
    fn: Handler | None = None

    def __call__(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> dict[str, Any]:
        what = f"sink {self.step!r}"
        connector = sinks.connector_of(config.get("sink_type"), config, self.fn is not None,
                                       what)
        ref = input_ref(config.get("input_ref"), ctx, what)
        chunks = read_artifact(_artifacts(ctx), ref, _chunk_size(config, what), what)
        written = sinks.write(connector, config, self.fn, chunks, ctx, what)
        report("read", "artifact", ref.key, _input_detail(ref, written.rows))
        report("write", written.kind, written.name,
               {"rows": written.rows, "write_mode": str(config.get("write_mode", "append"))})
        return {"rows_written": written.rows, "target": written.name}


# ------------------------------------------------------------------ inputs
def input_ref(value: Any, ctx: WorkflowContext, what: str) -> ArtifactRef:
    """The artifact a step reads: ``$.artifacts.STEP`` (that step's table), a ``$.outputs``
    reference, a ref; None means the latest earlier data step's ``artifact``."""
    if value is None:
        found = ctx.latest.get("artifact")
        if found is None:
            raise DataStepError(f"{what}: no input: no earlier step output an 'artifact'; set "
                                "input_ref='$.artifacts.<step>'")
        return _as_ref(found, what, "the latest 'artifact' output")
    if isinstance(value, str) and value.startswith(_ARTIFACTS_PREFIX):
        step, _, key = value[len(_ARTIFACTS_PREFIX):].partition(".")
        if step not in ctx.outputs:
            raise DataStepError(f"{what}: input_ref {value!r}: step {step!r} has no output in "
                                "this run yet; name a step this one depends on",
                                ErrorCategory.DEPENDENCY)
        output = ctx.outputs[step]
        if key:
            output = ctx.resolve(f"$.outputs.{step}.{key}")
        elif isinstance(output, Mapping) and "artifact" in output:
            output = output["artifact"]
        return _as_ref(output, what, value)
    if isinstance(value, str) and value.startswith("$."):
        try:
            resolved = ctx.resolve(value)
        except KeyError as exc:
            raise DataStepError(f"{what}: input_ref {exc.args[0]}", ErrorCategory.DEPENDENCY
                                ) from None
        return _as_ref(resolved, what, value)
    return _as_ref(value, what, repr(value))


def _as_ref(value: Any, what: str, source: str) -> ArtifactRef:
    if isinstance(value, ArtifactRef):
        return value
    if ArtifactRef.is_ref_dict(value):
        return ArtifactRef.from_dict(value)
    raise DataStepError(f"{what}: {source} is a {type(value).__name__}, not an artifact "
                        "reference; point it at a data step (source or transform)",
                        ErrorCategory.VALIDATION)


def _whole(store: Any, ref: ArtifactRef, what: str) -> pd.DataFrame:
    return next(read_artifact(store, ref, None, what))


# ------------------------------------------------------------------ helpers
def _chunk_size(settings: Mapping[str, Any], what: str) -> int | None:
    value = settings.get("chunk_size")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataStepError(f"{what}: chunk_size must be a whole number of rows >= 1, got "
                            f"{value!r}")
    return value


def _higher(current: Any, candidate: Any, what: str) -> Any:
    if candidate is None:
        return current
    if current is None:
        return candidate
    try:
        return candidate if candidate > current else current
    except TypeError as exc:
        raise DataStepError(f"{what}: cursor values {current!r} and {candidate!r} cannot be "
                            "compared; the cursor column needs one type",
                            ErrorCategory.DATA_QUALITY) from exc


def _artifacts(ctx: WorkflowContext) -> Any:
    """The run's artifact store (a tracked run's is beside its database), else the default
    one (``$SPINE_HOME/artifacts``)."""
    return ctx.artifact_store if ctx.artifact_store is not None else LocalArtifactStore()


def _step_name(step: str) -> str:
    """The step as the run knows it (``fan[2].clean`` inside a map)."""
    scope = current_step()
    return scope.step if scope is not None else step


def _key(ctx: WorkflowContext, step: str, fmt: str) -> str:
    return f"runs/{ctx.run_id}/{_step_name(step)}/data.{_EXTENSIONS[fmt]}"


def _artifact_detail(ref: ArtifactRef, writer: TableWriter) -> dict[str, Any]:
    return {"rows": writer.rows, "schema": writer.schema, "format": writer.format,
            "checksum": ref.checksum, "ref": ref.to_dict()}


def _input_detail(ref: ArtifactRef, rows: int) -> dict[str, Any]:
    return {"rows": rows, "checksum": ref.checksum, "ref": ref.to_dict()}


def _counted(chunk: pd.DataFrame, counts: dict[str, int], key: str) -> pd.DataFrame:
    counts[key] += len(chunk)
    return chunk


def _fn_name(fn: Handler) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"
