"""The ``triggers:`` list of a YAML workflow's ``spec:``, as pydantic models.

The workflow is implicit: a trigger in a document starts that document's workflow. Each entry
names exactly one source::

    triggers:
      - name: github_push
        source: {webhook: {path: /hooks/github, secret: GITHUB_WEBHOOK_SECRET}}
        filter: "$.ref == 'refs/heads/main'"
        param_mapping: {commit: $.after, repo: $.repository.full_name}
      - name: new_csv
        source: {file: {path: data/in, pattern: "*.csv"}}
        param_mapping: {path: $.path}
      - name: new_object
        source: {poll: {url: "s3://bucket/raw/", interval: 60}}

Everything is checked the way ``EventTrigger`` checks it (name, JSONPaths, the CEL filter, the
source), so a bad trigger fails when the file loads, at the line of the key at fault. Defaults
come from the runtime classes, so a key left out means what the Python argument means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import TriggerDefinitionError
from .filters import compile_filter
from .mapping import parse_path
from .sources import EventSource, FileSource, PollingSource, WebhookSource
from .trigger import EventTrigger, check_name

_STRICT = ConfigDict(extra="forbid", frozen=True)
SOURCE_KINDS = ("webhook", "file", "poll")


def _default(cls: type, name: str) -> Any:
    """The runtime dataclass's default for field ``name``."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def _jsonpath(value: str) -> str:
    parse_path(value)  # a ValueError says why it is not one
    return value


JsonPath = Annotated[str, AfterValidator(_jsonpath)]


def _checked(build: Callable[[], Any]) -> Any:
    """``build()``, with a trigger definition error turned into a schema error."""
    try:
        return build()
    except TriggerDefinitionError as exc:
        raise ValueError(str(exc)) from None


class WebhookSpec(BaseModel):
    """``webhook:``: a signed HTTP POST; ``secret`` names the env variable holding the key."""

    model_config = _STRICT
    secret: str = Field(description="environment variable holding the HMAC-SHA256 key")
    path: str | None = Field(default=None, description="an extra route, e.g. /hooks/github")

    def build(self) -> WebhookSource:
        return WebhookSource(path=self.path, secret=self.secret)

    @model_validator(mode="after")
    def _check(self) -> WebhookSpec:
        _checked(self.build)
        return self


class FileSpec(BaseModel):
    """``file:``: files created in a folder."""

    model_config = _STRICT
    path: str = Field(description="the folder to watch")
    pattern: str = Field(default=_default(FileSource, "pattern"))
    recursive: bool = Field(default=_default(FileSource, "recursive"))

    def build(self) -> FileSource:
        return FileSource(path=self.path, pattern=self.pattern, recursive=self.recursive)

    @model_validator(mode="after")
    def _check(self) -> FileSpec:
        _checked(self.build)
        return self


class PollSpec(BaseModel):
    """``poll:``: new objects under an fsspec URL, listed every ``interval`` seconds."""

    model_config = _STRICT
    url: str = Field(description="s3://bucket/prefix/, gs://..., file:///folder ...")
    interval: float = Field(default=_default(PollingSource, "interval"))
    pattern: str = Field(default=_default(PollingSource, "pattern"))
    recursive: bool = Field(default=_default(PollingSource, "recursive"))

    def build(self) -> PollingSource:
        return PollingSource(url=self.url, interval=self.interval, pattern=self.pattern,
                             recursive=self.recursive)

    @model_validator(mode="after")
    def _check(self) -> PollSpec:
        _checked(self.build)
        return self


class SourceSpec(BaseModel):
    """``source:``: exactly one of ``webhook``, ``file`` or ``poll``."""

    model_config = _STRICT
    webhook: WebhookSpec | None = None
    file: FileSpec | None = None
    poll: PollSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SourceSpec:
        given = [kind for kind in SOURCE_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"a trigger source needs exactly one of {', '.join(SOURCE_KINDS)} "
                             f"(found {', '.join(given) or 'none'})")
        return self

    def build(self) -> EventSource:
        spec = self.webhook or self.file or self.poll
        assert spec is not None  # _one_kind saw to it
        return spec.build()


class TriggerSpec(BaseModel):
    """One entry of ``spec.triggers``: a trigger that starts this document's workflow."""

    model_config = _STRICT
    name: str = Field(description="unique among triggers; part of /webhooks/trigger/NAME")
    source: SourceSpec
    param_mapping: dict[str, JsonPath] = Field(
        default_factory=dict, description="run param -> JSONPath into the event ($.field)")
    filter: str | None = Field(
        default=None, description="CEL over the event ($ or event): \"$.ref == 'main'\"")
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return str(_checked(lambda: check_name(value)))


    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _checked(lambda: compile_filter(str(info.data.get("name", "?")), value))
        return value

    def to_trigger(self, workflow: str) -> EventTrigger:
        """The runtime trigger starting ``workflow``."""
        return _checked(lambda: EventTrigger(self.name, self.source.build(), workflow,
                                             dict(self.param_mapping), self.filter,
                                             self.enabled))


#: the model of the mapping found under each key, for "allowed keys" hints in errors
MODEL_UNDER: dict[str, type[BaseModel]] = {
    "triggers": TriggerSpec, "source": SourceSpec, "webhook": WebhookSpec, "file": FileSpec,
    "poll": PollSpec}
