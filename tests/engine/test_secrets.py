"""Secrets: backends, the resolver, ``SecretValue``, references in step config resolved when the
step runs (never in the definition), ``ctx.resolve_secret``, the errors, and the masker that
keeps resolved values out of log lines, errors, outputs and events."""

from __future__ import annotations

import logging
import os
import pickle
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import (
    EnvSecretBackend,
    ErrorCategory,
    ErrorPolicy,
    Event,
    FileSecretBackend,
    LogLine,
    MissingSecretError,
    RetryPolicy,
    RunFinished,
    RunStatus,
    SecretBackend,
    SecretBackendError,
    SecretReferenceError,
    SecretsResolver,
    SecretValue,
    Step,
    StepFinished,
    StepResult,
    StepRetrying,
    UnknownSecretBackendError,
    Workflow,
    WorkflowContext,
    WorkflowRunner,
    WorkflowSpec,
    WorkflowValidationError,
    register_pipeline,
    unregister_pipeline,
)
from engine.secrets import has_references, masking, parse_reference

SECRET = "pa55-Word-9c1e77"


@pytest.fixture(autouse=True)
def isolated_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Each test masks only what it resolves, uses the default resolver, and an empty folder
    of mounted secrets; the env var the tests read holds ``SECRET``."""
    before = masking.known_values()
    previous = SecretsResolver.set_default(None)
    folder = tmp_path / "mounted"
    folder.mkdir()
    monkeypatch.setenv("SPINE_SECRETS_DIR", str(folder))
    monkeypatch.setenv("SPINE_TEST_DB_PASSWORD", SECRET)
    yield folder
    SecretsResolver.set_default(previous)
    masking.forget(masking.known_values() - before)


def run(wf: Workflow, params: dict[str, Any] | None = None,
        capture: bool = True) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    result = WorkflowRunner(listeners=[events.append], capture_logs=capture).execute(wf, params)
    return result, events


def text_of(events: list[Event]) -> str:
    return "\n".join(repr(e) for e in events)


# --------------------------------------------------------------------------- SecretValue
def test_secret_value_never_shows_its_value() -> None:
    value = SecretValue(SECRET)
    assert str(value) == repr(value) == "[REDACTED]"
    assert f"{value}" == f"{value:>10}".strip() == "[REDACTED]"
    assert logging.Formatter().format(logging.makeLogRecord(
        {"msg": "pw %s", "args": (value,)})) == "pw [REDACTED]"
    assert repr({"pw": value}) == "{'pw': [REDACTED]}"
    assert value.get_secret_value() == value.get_secret() == SECRET
    assert value == SecretValue(SECRET) and value != SecretValue("other-value")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)


def test_a_secret_value_is_masked_once_created() -> None:
    SecretValue("created-not-resolved")
    assert masking.mask("x created-not-resolved y") == "x [REDACTED] y"


# --------------------------------------------------------------------------- backends
def test_env_backend_tries_the_name_then_its_upper_case_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    backend = EnvSecretBackend()
    monkeypatch.setenv("POSTGRES_PASSWORD", "from-upper")
    assert backend.get("postgres_password") == "from-upper"
    monkeypatch.setenv("postgres_password", "exact")
    assert backend.get("postgres_password") == "exact"
    assert backend.get("db.password") is None
    monkeypatch.setenv("DB_PASSWORD", "dotted")
    assert backend.get("db.password") == "dotted"
    assert EnvSecretBackend(prefix="APP_").describe("x") == "env ($APP_x, $APP_X)"


def test_file_backend_reads_one_file_per_secret(isolated_secrets: Path, tmp_path: Path) -> None:
    (isolated_secrets / "db_password").write_text("from-file\n", encoding="utf-8")
    assert FileSecretBackend().get("db_password") == "from-file"  # $SPINE_SECRETS_DIR
    assert FileSecretBackend().get("DB_PASSWORD") == "from-file"  # then the lower-case name
    assert FileSecretBackend(tmp_path / "nowhere").get("db_password") is None
    (tmp_path / "outside").write_text("never", encoding="utf-8")
    for escape in ("../outside", ".hidden", "a/b", ""):
        assert FileSecretBackend(isolated_secrets).get(escape) is None
    assert "not a plain file name" in FileSecretBackend(isolated_secrets).describe("../x")


def test_a_failing_backend_fails_the_lookup_naming_the_backend(isolated_secrets: Path) -> None:
    (isolated_secrets / "folder").mkdir()  # a folder is no secret file: absent, not an error
    assert FileSecretBackend(isolated_secrets).get("folder") is None

    class Broken(SecretBackend):
        def get(self, name: str) -> str | None:
            raise ConnectionError("vault unreachable")

    with pytest.raises(SecretBackendError, match="'broken' failed to look up 'x'") as info:
        SecretsResolver([Broken()]).resolve("x")
    assert info.value.category == ErrorCategory.TRANSIENT.value


def test_backend_reference_names_come_from_scheme_or_class_name() -> None:
    class APISecretBackend(SecretBackend):
        def get(self, name: str) -> str | None:
            return None

    class Vault(SecretBackend):
        scheme = "vault"

        def get(self, name: str) -> str | None:
            return None

    assert APISecretBackend().reference_name == "api"
    assert Vault().reference_name == "vault"
    assert EnvSecretBackend().reference_name == "env"
    assert FileSecretBackend().reference_name == "file"


# --------------------------------------------------------------------------- resolver
class DictBackend(SecretBackend):
    """A backend over a dict, recording every lookup."""

    def __init__(self, values: dict[str, str], scheme: str = "vault") -> None:
        self.values = values
        self.asked: list[str] = []
        self._scheme = scheme

    @property
    def reference_name(self) -> str:
        return self._scheme

    def get(self, name: str) -> str | None:
        self.asked.append(name)
        return self.values.get(name)


def test_resolver_asks_backends_in_order_and_never_caches() -> None:
    first = DictBackend({"db_username": "svc"})
    resolver = SecretsResolver([first, EnvSecretBackend()])
    assert resolver.resolve("db_username") == "svc"
    assert resolver.resolve("spine_test_db_password") == SECRET  # not in the first: env
    first.values["db_username"] = "rotated"
    assert resolver.resolve("db_username") == "rotated"
    assert first.asked == ["db_username", "spine_test_db_password", "db_username"]


def test_resolver_default_and_missing_error_name_secret_and_places_never_a_value(
        isolated_secrets: Path) -> None:
    resolver = SecretsResolver()
    assert resolver.resolve("absent_secret", default="fallback") == "fallback"
    assert "fallback" not in masking.known_values()  # a default is in the code already
    with pytest.raises(MissingSecretError) as info:
        resolver.resolve("absent_secret")
    message = str(info.value)
    assert "'absent_secret'" in message
    assert "$absent_secret" in message and "$ABSENT_SECRET" in message
    assert str(isolated_secrets / "absent_secret") in message
    assert info.value.tried and info.value.name == "absent_secret"
    assert info.value.category == ErrorCategory.CONFIGURATION.value
    assert SECRET not in message


def test_resolve_secret_value_wraps_and_masks() -> None:
    value = SecretsResolver().resolve_secret_value("spine_test_db_password")
    assert isinstance(value, SecretValue) and value.get_secret() == SECRET
    assert masking.mask(f"password={SECRET}") == "password=[REDACTED]"


def test_references_ask_only_their_kind_of_backend(isolated_secrets: Path) -> None:
    (isolated_secrets / "api_key").write_text("file-key", encoding="utf-8")
    vault = DictBackend({"api_key": "vault-key"})
    resolver = SecretsResolver([vault, EnvSecretBackend(), FileSecretBackend()])
    assert resolver.resolve("secret:file:api_key") == "file-key"
    assert resolver.resolve("secret:vault:api_key") == "vault-key"
    assert resolver.resolve("secret:env:SPINE_TEST_DB_PASSWORD") == SECRET
    assert vault.asked == ["api_key"]
    assert resolver.resolve("secret:env:NOT_SET_ANYWHERE", default=None) is None
    with pytest.raises(UnknownSecretBackendError, match="backend 'aws'.*backends: vault, env, "
                                                        "file"):
        resolver.resolve("secret:aws:api_key")


def test_a_value_that_is_a_reference_is_followed_and_loops_are_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "secret:env:SPINE_TEST_DB_PASSWORD")  # spec F1's .env
    assert SecretsResolver().resolve("pgpassword") == SECRET
    monkeypatch.setenv("LOOP_A", "secret:env:LOOP_B")
    monkeypatch.setenv("LOOP_B", "secret:env:LOOP_A")
    with pytest.raises(Exception, match="more than 5 times"):
        SecretsResolver().resolve("LOOP_A")


@pytest.mark.parametrize(("text", "problem"), [
    ("secret:env", "no ':' between"),
    ("secret::X", "backend is empty"),
    ("secret:env:", "name is empty"),
    ("secret:env:has space", "may only hold"),
    ("secret:9x:NAME", "not a plain name"),
    ("secret:env:A:B", "may only hold"),
])
def test_malformed_references_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(SecretReferenceError, match=problem) as info:
        parse_reference(text)
    assert "secret:<backend>:<NAME>" in str(info.value)
    assert info.value.category == ErrorCategory.CONFIGURATION.value


def test_has_references_looks_through_nested_config() -> None:
    assert not has_references({"a": 1, "b": ["x", {"c": None}], "d": "secrets"})
    assert has_references({"a": [{"b": ("x", "secret:env:X")}]})
    assert has_references("secret:file:x")


# --------------------------------------------------------------------------- in steps
def show_config(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    db = config["db"]
    return StepResult.ok(output={"password_length": len(db["password"]),
                                 "list_ok": db["hosts"][1]["token"] == SECRET,
                                 "tuple_ok": db["pair"][1] == SECRET,
                                 "plain": db["hosts"][0]})


NESTED = {"db": {"password": "secret:env:SPINE_TEST_DB_PASSWORD",
                 "hosts": ["h1", {"token": "secret:env:SPINE_TEST_DB_PASSWORD"}],
                 "pair": ("x", "secret:env:SPINE_TEST_DB_PASSWORD")}}


def test_references_anywhere_in_config_reach_the_handler_resolved_on_a_copy() -> None:
    wf = Workflow("secrets.nested", [Step.lambda_("use", show_config, config=NESTED)])
    result, _ = run(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["use"] == {"password_length": len(SECRET), "list_ok": True,
                                     "tuple_ok": True, "plain": "h1"}
    assert wf.steps[0].config == NESTED  # the definition keeps the reference text


def test_references_are_resolved_when_the_step_runs_not_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROTATING_TOKEN", raising=False)

    def set_token(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        os.environ["ROTATING_TOKEN"] = f"token-{ctx.params['n']}"
        return {}

    def use_token(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        return {"token_ok": config["token"] == f"token-{ctx.params['n']}"}

    wf = Workflow("secrets.late", [
        Step.lambda_("set", set_token),
        Step.lambda_("use", use_token, config={"token": "secret:env:ROTATING_TOKEN"})])
    for n in (1, 2):  # a rotated value is picked up by the next run
        result, _ = run(wf, {"n": n})
        assert result.outputs["use"] == {"token_ok": True}


def fetch(ticker: str, api_key: str = "secret:env:SPINE_TEST_DB_PASSWORD") -> dict[str, Any]:
    """Spec 14a: the default is a reference, resolved at run time."""
    return {"ticker": ticker, "key_ok": api_key == SECRET}


def test_plain_function_defaults_params_and_outputs_that_are_references() -> None:
    def passes_ref() -> dict[str, Any]:
        return {"token": "secret:env:SPINE_TEST_DB_PASSWORD", "note": "secret: not a ref"}

    def takes(token: str, note: str, key: str) -> dict[str, Any]:
        return {"token_ok": token == SECRET, "note": note, "key_ok": key == SECRET}

    wf = Workflow("secrets.kwargs", [
        Step.from_function("fetch", fetch, config={"ticker": "NVDA"}),
        Step.from_function("ref", passes_ref),
        Step.from_function("takes", takes)])
    result, _ = run(wf, {"key": "secret:env:SPINE_TEST_DB_PASSWORD"})
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["fetch"] == {"ticker": "NVDA", "key_ok": True}
    assert result.outputs["takes"] == {"token_ok": True, "note": "secret: not a ref",
                                       "key_ok": True}


def test_pipeline_and_map_steps_resolve_their_config() -> None:
    def pipeline(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        return {"ok": config["password"] == SECRET}

    register_pipeline("secrets.test_pipeline", pipeline)
    try:
        wf = Workflow("secrets.pipeline", [Step.pipeline(
            "p", "secrets.test_pipeline",
            config={"password": "secret:env:SPINE_TEST_DB_PASSWORD"})])
        result, _ = run(wf)
        assert result.outputs["p"] == {"ok": True}
    finally:
        unregister_pipeline("secrets.test_pipeline")


def test_ctx_resolve_secret_in_a_handler() -> None:
    def handler(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        key = ctx.resolve_secret("spine_test_db_password")
        print(f"using key {key}")
        return {"ok": key == SECRET,
                "fallback": ctx.resolve_secret("not_configured_anywhere", default="dflt"),
                "ref_ok": ctx.resolve_secret("secret:env:SPINE_TEST_DB_PASSWORD") == SECRET}

    result, events = run(Workflow("secrets.ctx", [Step.lambda_("h", handler)]))
    assert result.outputs["h"] == {"ok": True, "fallback": "dflt", "ref_ok": True}
    lines = [e.message for e in events if isinstance(e, LogLine)]
    assert lines == ["using key [REDACTED]"]


def test_a_custom_default_resolver_serves_its_backend_in_config() -> None:
    vault = DictBackend({"db_password": "from-vault-7731"})
    SecretsResolver.set_default(SecretsResolver([vault, EnvSecretBackend()]))

    def handler(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        return {"ok": config["pw"] == "from-vault-7731"}

    wf = Workflow("secrets.vault", [Step.lambda_("h", handler,
                                                 config={"pw": "secret:vault:db_password"})])
    result, _ = run(wf)
    assert result.outputs["h"] == {"ok": True}


def test_a_yaml_workflow_resolves_references_and_exports_them_unchanged() -> None:
    def pipeline(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        return {"ok": config["auth"]["password"] == SECRET}

    text = textwrap.dedent("""
        apiVersion: spine.io/v1
        kind: Workflow
        metadata: {name: secrets.yaml}
        spec:
          steps:
            - name: load
              pipeline: secrets.yaml_pipeline
              config:
                auth: {password: "secret:env:SPINE_TEST_DB_PASSWORD"}
    """)
    register_pipeline("secrets.yaml_pipeline", pipeline)
    try:
        spec = WorkflowSpec.from_yaml(text)
        result, _ = run(spec.to_workflow())
        assert result.outputs["load"] == {"ok": True}
        exported = WorkflowSpec.from_workflow(spec.to_workflow()).to_yaml()
        assert "secret:env:SPINE_TEST_DB_PASSWORD" in exported and SECRET not in exported
    finally:
        unregister_pipeline("secrets.yaml_pipeline")


# --------------------------------------------------------------------------- failures
def noop(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    return {}


@pytest.mark.parametrize(("reference", "error", "says"), [
    ("secret:env:SPINE_TEST_UNSET_SECRET", "MissingSecretError", "not found (tried env"),
    ("secret:vault:db_password", "UnknownSecretBackendError", "backend 'vault'"),
])
def test_a_step_with_a_bad_reference_fails_as_configuration_naming_step_key_and_reference(
        reference: str, error: str, says: str) -> None:
    wf = Workflow("secrets.bad", [
        Step.lambda_("connect", noop, config={"db": {"password": reference}}),
        Step.lambda_("after", noop)])
    result, _ = run(wf)
    assert result.status is RunStatus.FAILED
    step = result.steps["connect"]
    assert step.error_category == ErrorCategory.CONFIGURATION.value
    assert step.error_type == error
    assert step.error is not None
    for part in ("step 'connect'", "config key 'db.password'", repr(reference), says):
        assert part in step.error, step.error
    assert result.steps["after"].status is not RunStatus.COMPLETED


@pytest.mark.parametrize(("config", "where"), [
    ({"db": {"password": "secret:env:bad name"}}, "config key 'db.password'"),
    ({"hosts": ["ok", "secret:env:"]}, "config key 'hosts[1]'"),
    ({"token": "secret:vault"}, "config key 'token'"),
])
def test_a_malformed_reference_is_refused_when_the_workflow_is_built(
        config: dict[str, Any], where: str) -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        Workflow("secrets.malformed", [Step.lambda_("connect", noop, config=config)])
    message = str(caught.value)
    for part in ("workflow 'secrets.malformed'", "step 'connect'", where,
                 "malformed secret reference", "secret:env:DB_PASSWORD"):
        assert part in message, message


def test_a_malformed_reference_in_a_function_default_is_an_error() -> None:
    def bad(key: str = "secret:env:") -> dict[str, Any]:
        return {}

    result, _ = run(Workflow("secrets.bad_default", [Step.from_function("bad", bad)]))
    step = result.steps["bad"]
    assert step.error_category == ErrorCategory.CONFIGURATION.value
    assert "default of argument 'key'" in (step.error or "")


# --------------------------------------------------------------------------- masking
def leaky(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    password = config["password"]
    print(f"stdout {password}")
    print(f"stderr {password}", file=sys.stderr)
    logging.getLogger("secrets.test").warning("logged %s", password)
    logging.getLogger("spine.run").info("run log %r", password)
    if ctx.params.get("raise"):
        raise RuntimeError(f"cannot connect with {password}")
    return StepResult.ok(output={"echo": password, "nested": [{"again": f"x{password}y"}]})


def test_prints_logs_outputs_and_errors_are_masked_in_events() -> None:
    config = {"password": "secret:env:SPINE_TEST_DB_PASSWORD"}
    wf = Workflow("secrets.leaky", [Step.lambda_("leak", leaky, config=config)])
    result, events = run(wf)
    lines = [e.message for e in events if isinstance(e, LogLine)]
    assert lines == ["stdout [REDACTED]", "stderr [REDACTED]",
                     "secrets.test: logged [REDACTED]", "spine.run: run log '[REDACTED]'"]
    finished = next(e for e in events if isinstance(e, StepFinished))
    assert finished.output == {"echo": "[REDACTED]", "nested": [{"again": "x[REDACTED]y"}]}
    assert result.outputs["leak"]["echo"] == SECRET  # in memory the handler's data is its own
    assert SECRET not in text_of(events)

    failing, events = run(wf.with_steps([Step.lambda_("leak", leaky, config=config,
                                                      on_error=ErrorPolicy.STOP)]),
                          {"raise": True})
    assert failing.status is RunStatus.FAILED
    end = next(e for e in events if isinstance(e, RunFinished))
    assert end.error == "step 'leak' failed: RuntimeError: cannot connect with [REDACTED]"
    assert SECRET not in text_of(events)


def test_retry_errors_are_masked() -> None:
    def flaky(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
        return StepResult.fail(f"auth failed for {config['pw']}", category="TRANSIENT")

    wf = Workflow("secrets.retry", [Step.lambda_(
        "flaky", flaky, config={"pw": "secret:env:SPINE_TEST_DB_PASSWORD"},
        retry_policy=RetryPolicy(max_attempts=2, initial_delay_seconds=0))])
    _, events = run(wf)
    retry = next(e for e in events if isinstance(e, StepRetrying))
    assert retry.error == "auth failed for [REDACTED]"
    assert SECRET not in text_of(events)


def test_masking_covers_repr_escapes_and_multi_line_secrets() -> None:
    masking.register("line-one-abc\nline-two-def")
    masking.register('quote"d\\value')
    assert masking.mask("got line-two-def") == "got [REDACTED]"
    assert masking.mask(repr('quote"d\\value')) == "'[REDACTED]'"
    assert masking.mask('{"k": "quote\\"d\\\\value"}') == '{"k": "[REDACTED]"}'


def test_masking_skips_very_short_values_and_copies_nothing_without_a_match() -> None:
    masking.register("ab")
    assert masking.mask("ab cab") == "ab cab"
    data = {"a": ["x", {"b": 1}], "c": ("y",)}
    masking.register(SECRET)
    assert masking.mask_data(data) is data
    event = LogLine(run_id="r", workflow="w", at=datetime.now(UTC),
                    step="s", message="nothing to hide")
    assert masking.mask_event(event) is event
