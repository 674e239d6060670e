"""Spec §3's data steps in a ``spine.io/v1`` document, both ways.

Each step names what it moves under one key, mirroring ``Step.source``/``transform``/
``sink`` argument for argument (``type`` is ``source_type``/``sink_type``)::

    - name: filings
      source: {type: sqlite, connection: sqlite:///feed.db, table: filings,
               incremental: {cursor_field: filing_id}}
    - name: normalize
      transform: {handler: my_pkg.steps:normalize, input_ref: $.artifacts.filings}
    - name: load
      sink: {connection: sqlite:///warehouse.db, table: filings, write_mode: upsert,
             key: [filing_id]}

A relative ``connection`` file or ``path`` starts from the YAML file's folder (written back
as the absolute path the runtime step holds, so a stored version reads the same data from
any working folder); run references (``$.params.db``) and ``secret:`` references stay as
written and resolve when the step runs. The settings go under the key, so a data step takes
no ``config:``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..data_steps import (
    DataStepError,
    IncrementalConfig,
    SinkStep,
    SourceStep,
    TransformStep,
    check_settings,
)
from ..data_steps.config import CURSOR_STORAGES, WRITE_MODES
from ..data_steps.handlers import describe
from ..errors import WorkflowSpecError
from ..refs import is_ref
from .calc_steps import plain

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
DATA_KINDS: dict[str, type[Any]] = {"source": SourceStep, "transform": TransformStep,
                                    "sink": SinkStep}
#: settings keys whose value is a file location
_LOCATIONS = ("connection", "path")
_SQLITE = "sqlite:///"
ArtifactFormat = Literal["parquet", "csv"]
WriteMode = Literal["append", "replace", "upsert"]
assert set(WriteMode.__args__) == set(WRITE_MODES)  # type: ignore[attr-defined]
assert CURSOR_STORAGES == ("workflow_state",)


def _ref(value: str) -> str:
    if not is_ref(value):
        raise ValueError(f"expected a 'module:qualname' reference (e.g. 'my_pkg.steps:load'), "
                         f"got {value!r}")
    return value


FunctionRef = Annotated[str, AfterValidator(_ref)]


class IncrementalSpec(BaseModel):
    """``incremental:`` read only rows past the stored cursor (``IncrementalConfig``)."""

    model_config = _STRICT
    cursor_field: str = Field(min_length=1, description="the column that grows")
    cursor_storage: Literal["workflow_state"] = "workflow_state"
    name: str | None = Field(default=None, description="cursor name (default WORKFLOW.STEP)")
    initial_value: Any = Field(default=None, description="where the first run starts")
    store: str | None = Field(default=None, description="the run-store file holding the cursor")


class DataSourceSpec(BaseModel):
    """``source:`` read a SQLite table or query, a CSV/Parquet file or a function's rows into
    an artifact."""

    model_config = _STRICT
    type: str | None = Field(default=None, description="sqlite, file, csv, parquet, python "
                             "(default: what the other keys imply)")
    connection: str | None = Field(default=None, description="sqlite:///file.db or a path")
    table: str | None = None
    query: str | None = None
    params: dict[str, Any] | None = Field(default=None, description="the query's :names")
    path: str | None = Field(default=None, description="a CSV or Parquet file")
    format: Literal["csv", "parquet"] | None = None
    handler: FunctionRef | None = Field(default=None,
                                       description="'module:qualname' returning rows")
    output_format: ArtifactFormat = "parquet"
    chunk_size: int | None = Field(default=None, ge=1)
    incremental: IncrementalSpec | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return _connector("source", value)


class DataTransformSpec(BaseModel):
    """``transform:`` a function from a DataFrame to a DataFrame over an artifact's table."""

    model_config = _STRICT
    handler: FunctionRef = Field(description="'module:qualname' of fn(df) -> df")
    input_ref: str | None = Field(default=None, description="$.artifacts.STEP (default: the "
                                  "latest earlier artifact)")
    inputs: dict[str, str] | None = Field(default=None, description="argument -> $.artifacts")
    output_format: ArtifactFormat = "parquet"
    chunk_size: int | None = Field(default=None, ge=1)


class DataSinkSpec(BaseModel):
    """``sink:`` write an artifact's table to SQLite, a CSV/Parquet file or a function."""

    model_config = _STRICT
    type: str | None = None
    connection: str | None = None
    table: str | None = None
    path: str | None = None
    format: Literal["csv", "parquet"] | None = None
    handler: FunctionRef | None = Field(default=None, description="'module:qualname' of fn(df)")
    write_mode: WriteMode = "append"
    key: str | list[str] | None = Field(default=None, description="upsert key column(s)")
    input_ref: str | None = None
    chunk_size: int | None = Field(default=None, ge=1)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return _connector("sink", value)


def _connector(kind: str, value: str | None) -> str | None:
    """Check a declared ``type`` by the check ``Step.source``/``Step.sink`` make."""
    if value is None:
        return None
    try:
        check_settings(kind, "type", {f"{kind}_type": value}, None)
    except DataStepError as exc:
        raise ValueError(str(exc).removeprefix(f"{kind} 'type': ")
                         .replace(f"{kind}_type", "type")) from None
    return value


DATA_MODELS: dict[str, type[BaseModel]] = {
    "source": DataSourceSpec, "transform": DataTransformSpec, "sink": DataSinkSpec,
    "incremental": IncrementalSpec}


# ------------------------------------------------------------------ runtime -> document
def data_step_doc(step: str, body: Any, settings: Mapping[str, Any],
                  export_ref: Callable[[str, Any], str]) -> tuple[str, dict[str, Any]] | None:
    """``(key, mapping)`` of a step whose handler is a data step, else None; ``export_ref``
    gives a function's ``module:qualname`` (refusing lambdas and closures)."""
    key = next((k for k, cls in DATA_KINDS.items() if type(body) is cls), None)
    if key is None:
        return None
    doc: dict[str, Any] = {}
    for name, value in settings.items():
        if name in ("incremental", "output_format", "write_mode") or value is None:
            continue
        doc["type" if name in ("source_type", "sink_type") else name] = plain(value)
    if settings.get("output_format", "parquet") != "parquet":
        doc["output_format"] = settings["output_format"]
    if settings.get("write_mode", "append") != "append":
        doc["write_mode"] = settings["write_mode"]
    if body.fn is not None:
        doc["handler"] = export_ref("handler", body.fn)
    incremental = getattr(body, "incremental", None)
    if incremental is not None:
        doc["incremental"] = _incremental_doc(step, incremental)
    return key, doc


def _incremental_doc(step: str, config: IncrementalConfig) -> dict[str, Any]:
    doc = config.to_dict()
    if doc.get("cursor_storage") == "workflow_state":
        del doc["cursor_storage"]
    if config.store is not None:
        if not isinstance(config.store, str | os.PathLike):
            raise WorkflowSpecError(
                f"step {step!r}: incremental.store is a {type(config.store).__name__}, which "
                "a YAML file cannot hold; give the run-store file's path")
        doc["store"] = os.fspath(config.store)
    return doc


def default_description(key: str, settings: Mapping[str, Any], fn: Any) -> str:
    """What ``Step.source``/``transform``/``sink`` write as the description when given none."""
    if key == "transform":
        doc = (getattr(fn, "__doc__", None) or "").strip()
        if doc:
            return doc.splitlines()[0]
    return describe(key, settings, fn)


# ------------------------------------------------------------------ document -> runtime
def data_step_arguments(spec: BaseModel, base: Path | None,
                        resolve: Callable[[str, str], Any]) -> dict[str, Any]:
    """Keyword arguments for the ``Step`` factory of one data step section: relative file
    locations made absolute against ``base``; ``resolve(field, ref)`` imports a handler."""
    values = spec.model_dump(exclude_unset=True)
    if "type" in values:
        values["sink_type" if isinstance(spec, DataSinkSpec) else "source_type"] = \
            values.pop("type")
    for name in _LOCATIONS:
        if isinstance(values.get(name), str):
            values[name] = absolute(values[name], base)
    if values.get("handler") is not None:
        values["handler"] = resolve("handler", values["handler"])
    incremental = values.get("incremental")
    if incremental is not None:
        if isinstance(incremental.get("store"), str):
            incremental["store"] = absolute(incremental["store"], base)
        values["incremental"] = IncrementalConfig(**incremental)
    return values


def absolute(location: str, base: Path | None) -> str:
    """``location`` with a relative file made absolute against ``base`` (the YAML file's
    folder; the working folder when the document has no file). References stay as written."""
    text = location.strip()
    if text.startswith(("$.", "secret:")) or base is None:
        return location
    prefix = ""
    if text.startswith(_SQLITE):
        prefix, text = _SQLITE, text[len(_SQLITE):]
    elif "://" in text:
        return location
    path = Path(text).expanduser()
    if not text or path.is_absolute():
        return location
    return prefix + str((base / path).resolve())
