"""Event triggers (spec §7): definitions, signed webhooks, file and polling watchers over a real
SQLite store, and triggers declared in Python and YAML workflow files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waits import wait_until

from engine import (
    Catalog,
    EventRouter,
    EventTrigger,
    FileSource,
    PollingSource,
    RunStore,
    Step,
    TriggerDefinitionError,
    TriggerFire,
    TriggerPayloadError,
    TriggerSignatureError,
    TriggerStartError,
    TriggerWorkflowError,
    UnknownTriggerError,
    WebhookSource,
    Workflow,
    WorkflowSpec,
    WorkflowSpecError,
    discover,
    load_file,
    register_workflow,
    sign_webhook,
    start_run,
)
from engine.hot_reload import merge_reload

pytestmark = pytest.mark.usefixtures("clean_registry")
GOOD = Path(__file__).resolve().parent.parent / "resources" / "triggers" / "good"
BAD = Path(__file__).resolve().parent.parent / "resources" / "triggers" / "bad"
SECRET = "TRIG_TEST_SECRET"
PUSH = {"ref": "refs/heads/main", "after": "abc123", "repository": {"full_name": "acme/app"}}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "spine.db"


@pytest.fixture
def catalog() -> Catalog:
    found = discover([GOOD])
    assert found.errors == ()
    return found


@pytest.fixture
def router(catalog: Catalog, db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventRouter]:
    monkeypatch.setenv(SECRET, "s3cret")
    router = EventRouter(lambda: catalog, start=start_run, db=db)
    yield router
    router.stop()


def body(event: dict) -> bytes:
    return json.dumps(event).encode()


def runs(db: Path) -> list:
    return RunStore(db).list_runs() if db.exists() else []


# ---------------------------------------------------------------------------- definitions


def test_the_spec_example_constructs_as_written() -> None:
    webhook_trigger = EventTrigger(
        name="github_push",
        event_source=WebhookSource(
            path="/hooks/github",
            secret="GITHUB_WEBHOOK_SECRET",
        ),
        workflow_name="ci_pipeline",
        filter="$.ref == 'refs/heads/main'",
        param_mapping={
            "commit": "$.after",
            "repo": "$.repository.full_name",
        },
    )
    assert webhook_trigger.enabled is True
    assert webhook_trigger.started_by == "trigger:github_push"
    assert webhook_trigger.params_for(PUSH) == {"commit": "abc123", "repo": "acme/app"}


def test_mapping_gives_none_for_no_match_and_a_list_for_many() -> None:
    t = EventTrigger("m", WebhookSource(secret=SECRET), "wf",
                     {"missing": "$.nope.deeper", "one": "$.items[0].id",
                      "all": "$.items[*].id", "whole": "$"})
    event = {"items": [{"id": 1}, {"id": 2}]}
    assert t.params_for(event) == {"missing": None, "one": 1, "all": [1, 2], "whole": event}


@pytest.mark.parametrize("path", ["$.", "$.a[", "$..", "a b"])
def test_a_malformed_jsonpath_fails_at_construction_naming_trigger_and_path(path: str) -> None:
    with pytest.raises(TriggerDefinitionError) as caught:
        EventTrigger("bad_map", WebhookSource(secret=SECRET), "wf", {"commit": path})
    assert "trigger 'bad_map'" in str(caught.value)
    assert repr(path) in str(caught.value)


@pytest.mark.parametrize(("build", "needle"), [
    (lambda: EventTrigger("has space", WebhookSource(secret=SECRET), "wf"), "trigger name"),
    (lambda: EventTrigger("t", "webhook", "wf"), "event_source must be"),  # type: ignore[arg-type]
    (lambda: EventTrigger("t", WebhookSource(secret=SECRET), ""), "workflow_name"),
    (lambda: WebhookSource(path="/x"), "secret=ENV_VAR"),
    (lambda: WebhookSource(path="hooks", secret=SECRET), "must start with '/'"),
    (lambda: FileSource(""), "folder to watch"),
    (lambda: PollingSource("file:///tmp", interval=0), "interval"),
])
def test_bad_definitions_fail_at_construction(build: Callable[[], object], needle: str) -> None:
    with pytest.raises(TriggerDefinitionError, match=needle):
        build()


# ---------------------------------------------------------------------------- webhooks


def test_a_signed_webhook_starts_a_run_recorded_as_the_trigger(router: EventRouter,
                                                                db: Path) -> None:
    payload = body(PUSH)
    fire = router.handle_webhook("trig.github_push", payload, sign_webhook(payload, "s3cret"))
    assert isinstance(fire, TriggerFire)
    record = RunStore(db).get_run(fire.run_id)
    assert record.workflow == "trig.ci"
    assert record.started_by == "trigger:trig.github_push"
    assert record.params == {"commit": "abc123", "repo": "acme/app"}
    assert record.source is not None and record.source.endswith("trig_ci.py")


def test_the_webhook_path_finds_its_trigger_too(router: EventRouter, db: Path) -> None:
    payload = body(PUSH)
    fire = router.handle_webhook("/hooks/github", payload, sign_webhook(payload, "s3cret"))
    assert fire is not None and fire.trigger == "trig.github_push"


@pytest.mark.parametrize("signature", [
    None, "", "sha1=abc", "sha256=" + "0" * 64, sign_webhook(body(PUSH), "wrong key"),
    sign_webhook(body({**PUSH, "ref": "x"}), "s3cret")])
def test_a_bad_or_missing_signature_is_refused_and_starts_nothing(
        router: EventRouter, db: Path, signature: str | None) -> None:
    with pytest.raises(TriggerSignatureError):
        router.handle_webhook("trig.github_push", body(PUSH), signature)
    assert runs(db) == []


def test_without_a_configured_secret_every_request_is_refused(
        router: EventRouter, db: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(SECRET)
    payload = body(PUSH)
    with caplog.at_level(logging.ERROR, "engine.triggers"), \
            pytest.raises(TriggerSignatureError, match="no secret configured"):
        router.handle_webhook("trig.github_push", payload, sign_webhook(payload, ""))
    assert f"set the environment variable {SECRET}" in caplog.text
    assert runs(db) == []


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'"text"',
                                     b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_a_payload_error(
        router: EventRouter, db: Path, payload: bytes) -> None:
    with pytest.raises(TriggerPayloadError):
        router.handle_webhook("trig.github_push", payload, sign_webhook(payload, "s3cret"))
    assert runs(db) == []


def test_a_filtered_out_or_disabled_trigger_starts_nothing(router: EventRouter,
                                                           db: Path) -> None:
    other = body({**PUSH, "ref": "refs/heads/dev"})
    assert router.handle_webhook("trig.github_push", other, sign_webhook(other, "s3cret")) is None
    payload = body(PUSH)
    assert router.handle_webhook("trig.paused_push", payload,
                                 sign_webhook(payload, "s3cret")) is None
    assert runs(db) == []


def test_unknown_triggers_and_non_webhook_triggers_are_not_found(router: EventRouter) -> None:
    payload = body(PUSH)
    with pytest.raises(UnknownTriggerError, match="trig.github_push"):
        router.handle_webhook("nope", payload, sign_webhook(payload, "s3cret"))
    with pytest.raises(UnknownTriggerError, match="is a file trigger, not a webhook"):
        router.handle_webhook("trig.new_csv", payload, sign_webhook(payload, "s3cret"))


def test_a_workflow_missing_from_the_catalog_is_a_specific_error(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET, "s3cret")
    router = EventRouter(lambda: Catalog(), start=start_run, db=db, triggers=[
        EventTrigger("orphan", WebhookSource(secret=SECRET), "not.there")])
    payload = body(PUSH)
    with pytest.raises(TriggerWorkflowError, match="'not.there', which is not in the catalog"):
        router.handle_webhook("orphan", payload, sign_webhook(payload, "s3cret"))
    assert runs(db) == []


def test_a_run_that_cannot_start_is_a_start_error(catalog: Catalog, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET, "s3cret")
    router = EventRouter(lambda: catalog, start=start_run, db=tmp_path)  # a folder, not a file
    payload = body(PUSH)
    with pytest.raises(TriggerStartError, match="could not start 'trig.ci'"):
        router.handle_webhook("trig.github_push", payload, sign_webhook(payload, "s3cret"))


def test_the_router_always_reads_the_current_catalog(db: Path) -> None:
    current = {"catalog": Catalog()}
    router = EventRouter(lambda: current["catalog"], start=start_run, db=db)
    with pytest.raises(UnknownTriggerError):
        router.fire("trig.github_push", PUSH)
    current["catalog"] = discover([GOOD])
    fire = router.fire("trig.github_push", PUSH)
    assert fire is not None and RunStore(db).get_run(fire.run_id).workflow == "trig.ci"


def test_without_a_catalog_registered_workflows_are_started_by_name(db: Path) -> None:
    register_workflow(Workflow("trig.registered", steps=[Step.wait("nap", 0)]))
    router = EventRouter(start=start_run, db=db)
    router.register(EventTrigger("by_name", WebhookSource(secret=SECRET), "trig.registered",
                                 {"who": "$.user"}))
    [fire] = router.dispatch("by_name", {"user": "ann"})
    record = RunStore(db).get_run(fire.run_id)
    assert (record.started_by, record.params) == ("trigger:by_name", {"who": "ann"})
    with pytest.raises(TriggerDefinitionError, match="already registered"):
        router.register(EventTrigger("by_name", WebhookSource(secret=SECRET), "x"))


def test_handle_event_dispatches_by_source_key_for_async_callers(router: EventRouter,
                                                                 db: Path) -> None:
    fired = asyncio.run(router.handle_event("/hooks/github", PUSH))
    assert [f.trigger for f in fired] == ["trig.github_push"]
    assert RunStore(db).get_run(fired[0].run_id).params["commit"] == "abc123"
    with pytest.raises(UnknownTriggerError):
        router.dispatch("/hooks/nothing", PUSH)


# ---------------------------------------------------------------------------- files & polling


def file_trigger(folder: Path, name: str = "t.csv", workflow: str = "trig.ingest") -> EventTrigger:
    return EventTrigger(name, FileSource(str(folder), pattern="*.csv"), workflow,
                        {"path": "$.path", "name": "$.name", "size": "$.size", "kind": "$.event"})


def workflows_only() -> Catalog:
    """The fixture workflows without the triggers their files declare."""
    return Catalog(tuple(dataclasses.replace(w, triggers=()) for w in discover([GOOD]).workflows))


def watch(catalog: Callable[[], Catalog], db: Path, *triggers: EventTrigger) -> EventRouter:
    router = EventRouter(catalog, start=start_run, db=db, triggers=triggers)
    router.start()
    wait_until(lambda: router.ready, what="the watchers to be armed")
    return router


def seen(db: Path, trigger: str) -> dict[str, str | None]:
    rows = RunStore(db).db.query("SELECT item, run_id FROM trigger_seen WHERE trigger = ? "
                                 "AND item != ''", [trigger])
    return {row["item"]: row["run_id"] for row in rows}


def test_a_created_file_starts_a_run_but_files_there_at_first_start_do_not(
        tmp_path: Path, db: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.csv").write_text("there before")
    catalog = workflows_only()
    router = watch(lambda: catalog, db, file_trigger(inbox))
    try:
        (inbox / "notes.txt").write_text("not a csv")
        (inbox / ".hidden.csv").write_text("hidden")
        (inbox / "new.csv").write_text("hello")
        [record] = wait_until(lambda: runs(db), what="the run of new.csv")
    finally:
        router.stop()
    new = str((inbox / "new.csv").resolve())
    assert record.started_by == "trigger:t.csv"
    assert record.params == {"path": new, "name": "new.csv", "size": 5, "kind": "created"}
    assert seen(db, "t.csv") == {str((inbox / "old.csv").resolve()): None,
                                 new: record.run_id}


def test_a_restart_fires_once_for_files_that_came_while_stopped(tmp_path: Path,
                                                                db: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    catalog = workflows_only()
    watch(lambda: catalog, db, file_trigger(inbox)).stop()
    (inbox / "while_down.csv").write_text("1")
    router = watch(lambda: catalog, db, file_trigger(inbox))  # the catch-up precedes ready
    router.stop()
    assert [r.params["name"] for r in runs(db)] == ["while_down.csv"]
    watch(lambda: catalog, db, file_trigger(inbox)).stop()
    assert len(runs(db)) == 1


def test_a_file_written_again_after_a_delete_fires_again(tmp_path: Path, db: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    catalog = workflows_only()
    router = watch(lambda: catalog, db, file_trigger(inbox))
    try:
        (inbox / "a.csv").write_text("1")
        wait_until(lambda: len(runs(db)) == 1, what="the first run")
        (inbox / "a.csv").unlink()
        wait_until(lambda: seen(db, "t.csv") == {}, what="the delete to be seen")
        (inbox / "a.csv").write_text("2")
        wait_until(lambda: len(runs(db)) == 2, what="the second run")
    finally:
        router.stop()


def test_two_routers_on_one_store_fire_once_per_file(tmp_path: Path, db: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    catalog = workflows_only()
    first = watch(lambda: catalog, db, file_trigger(inbox))
    second = watch(lambda: catalog, db, file_trigger(inbox))
    try:
        (inbox / "a.csv").write_text("1")
        wait_until(lambda: len(runs(db)) == 1, what="the run of a.csv")
        (inbox / "b.csv").write_text("2")  # both saw a.csv before b.csv
        wait_until(lambda: len(runs(db)) == 2, what="the run of b.csv")
    finally:
        first.stop()
        second.stop()
    assert sorted(r.params["name"] for r in runs(db)) == ["a.csv", "b.csv"]


def test_an_unknown_workflow_is_logged_and_the_file_fires_once_it_exists(
        tmp_path: Path, db: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with caplog.at_level(logging.ERROR, "engine.triggers"):
        router = watch(lambda: Catalog(), db, file_trigger(inbox))
        try:
            (inbox / "early.csv").write_text("1")
            wait_until(lambda: "which is not in the catalog" in caplog.text, what="the error")
        finally:
            router.stop()
    assert runs(db) == [] and seen(db, "t.csv") == {}
    catalog = workflows_only()
    watch(lambda: catalog, db, file_trigger(inbox)).stop()
    assert [r.params["name"] for r in runs(db)] == ["early.csv"]


def test_a_new_object_in_a_polled_store_fires_once(tmp_path: Path, db: Path) -> None:
    bucket = tmp_path / "bucket"
    (bucket / "raw").mkdir(parents=True)
    (bucket / "raw" / "old.json").write_text("{}")
    catalog = workflows_only()
    trigger = EventTrigger("t.poll", PollingSource(f"file://{bucket}", interval=0.05,
                                                   pattern="raw/*.json"), "trig.ingest",
                           {"bucket": "$.bucket", "key": "$.key", "size": "$.size",
                            "url": "$.url"})
    router = watch(lambda: catalog, db, trigger)
    try:
        (bucket / "raw" / "skip.txt").write_text("no")
        (bucket / "raw" / "new.json").write_text('{"a": 1}')
        [record] = wait_until(lambda: runs(db), what="the run of new.json")
    finally:
        router.stop()
    assert record.started_by == "trigger:t.poll"
    assert record.params == {"bucket": None, "key": "raw/new.json", "size": 8,
                             "url": f"file://{bucket}/raw/new.json"}
    watch(lambda: catalog, db, trigger).stop()  # a restart lists both again: nothing new
    assert len(runs(db)) == 1


def test_the_router_follows_triggers_added_and_removed_by_a_reload(tmp_path: Path,
                                                                   db: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    plain = workflows_only()
    ingest = plain.get("trig.ingest")
    assert ingest is not None
    current = {"catalog": plain}
    router = watch(lambda: current["catalog"], db)
    try:
        assert router.watching == {}
        with_file = dataclasses.replace(ingest, triggers=(file_trigger(inbox, "t.reloaded"),))
        current["catalog"] = Catalog((with_file,))
        wait_until(lambda: "t.reloaded" in router.watching and router.ready,
                   what="the new trigger to be watched")
        (inbox / "a.csv").write_text("1")
        [record] = wait_until(lambda: runs(db), what="the run of a.csv")
        assert record.started_by == "trigger:t.reloaded"
        current["catalog"] = plain
        wait_until(lambda: router.watching == {}, what="the removed trigger to stop")
    finally:
        router.stop()


# ---------------------------------------------------------------------------- declarations


def test_discovery_lists_python_and_yaml_triggers_with_their_workflows(catalog: Catalog) -> None:
    by_name = {t.name: t for t in catalog.triggers}
    assert set(by_name) == {"trig.github_push", "trig.paused_push", "trig.new_csv",
                            "trig.new_object", "trig.deploy_hook"}
    assert by_name["trig.github_push"].workflow_name == "trig.ci"
    assert by_name["trig.new_csv"].event_source == FileSource("inbox", pattern="*.csv")
    assert by_name["trig.new_object"].enabled is False
    assert by_name["trig.deploy_hook"].params_for(
        {"env": "prod", "services": [{"name": "api"}, {"name": "db"}]}) == {
        "env": "prod", "services": ["api", "db"]}
    ingest = catalog.get("trig.ingest")
    assert ingest is not None and {t.name for t in ingest.triggers} == {
        "trig.new_csv", "trig.new_object", "trig.deploy_hook"}


def test_a_python_trigger_for_another_files_workflow_is_a_load_error() -> None:
    found = discover([BAD])
    assert found.names() == ["trig.local"] and found.triggers == ()
    [error] = found.errors
    assert error.error_type == "TriggerWorkflowError"
    assert "'trig.stray' starts workflow 'trig.ingest', which this file does not define" \
        in error.message


def test_a_trigger_name_declared_twice_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "again.yaml").write_text(
        (GOOD / "trig_ingest.yaml").read_text().replace("trig.ingest", "trig.again"))
    found = discover([GOOD, tmp_path])
    assert len([t for t in found.triggers if t.name == "trig.new_csv"]) == 1
    assert any(e.error_type == "DuplicateTriggerError" and "'trig.new_csv'" in e.message
               for e in found.errors)


def test_a_hot_reload_keeps_each_files_triggers(catalog: Catalog) -> None:
    source = str(GOOD / "trig_ci.py")
    workflows, errors = load_file(source)
    reloaded = merge_reload(catalog, source, workflows, errors)
    assert {t.name for t in reloaded.triggers} == {t.name for t in catalog.triggers}
    assert merge_reload(catalog, source, [], [], removed=True).get("trig.ci") is None
    assert "trig.github_push" not in {t.name for t in merge_reload(
        catalog, source, [], [], removed=True).triggers}


YAML = """\
apiVersion: spine.io/v1
kind: Workflow
metadata: {name: trig.doc}
spec:
  steps:
    - name: nap
      wait: {duration_seconds: 0}
  triggers:
    - name: hook
      source:
        webhook: {secret: TRIG_TEST_SECRET}
      param_mapping:
        commit: $.after
"""


@pytest.mark.parametrize(("old", "new", "line", "needle"), [
    ("commit: $.after", "commit: '$.a['", 13, "param_mapping.commit: '$.a[' is not a valid"),
    ("      param_mapping:", "      filter: \"$.ref ==\"\n      param_mapping:", 12,
     "invalid filter"),
    ("webhook: {secret: TRIG_TEST_SECRET}", "webhook: {secret: 'not a name'}", 11,
     "secret=ENV_VAR"),
    ("webhook: {secret: TRIG_TEST_SECRET}", "webhook: {secret: X}\n        file: {path: in}",
     10, "exactly one of webhook, file, poll"),
    ("webhook: {secret: TRIG_TEST_SECRET}", "poll: {url: 'file:///x', every: 3}", 11,
     "unknown key 'every'; allowed keys: url, interval, pattern, recursive"),
    ("name: hook", "name: 'no spaces please'", 9, "trigger name"),
])
def test_yaml_trigger_errors_name_the_file_and_line(old: str, new: str, line: int,
                                                    needle: str) -> None:
    text = YAML.replace(old, new)
    with pytest.raises(WorkflowSpecError) as caught:
        WorkflowSpec.from_yaml(text, source="flows/doc.yaml")
    assert caught.value.source == "flows/doc.yaml"
    assert caught.value.line == line, caught.value
    assert needle in caught.value.detail


def test_yaml_triggers_round_trip_and_stay_out_of_the_runtime_workflow() -> None:
    spec = WorkflowSpec.from_yaml(YAML)
    [hook] = spec.to_triggers()
    assert (hook.name, hook.workflow_name, hook.param_mapping) == (
        "hook", "trig.doc", {"commit": "$.after"})
    assert WorkflowSpec.from_yaml(spec.to_yaml()) == spec
    exported = WorkflowSpec.from_workflow(spec.to_workflow())
    assert exported.to_triggers() == [] and "triggers" not in exported.to_yaml()


def test_the_secret_is_read_from_the_environment_at_each_request(
        router: EventRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = body(PUSH)
    monkeypatch.setenv(SECRET, "rotated")
    with pytest.raises(TriggerSignatureError):
        router.handle_webhook("trig.github_push", payload, sign_webhook(payload, "s3cret"))
    assert router.handle_webhook("trig.github_push", payload,
                                 sign_webhook(payload, "rotated")) is not None
    assert os.environ[SECRET] == "rotated"
