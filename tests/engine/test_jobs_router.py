"""Routing jobs: the router's priorities and failover (an unavailable Docker engine, an
adapter whose ``available()`` is False, one whose runtime vanishes at submit), the
``DockerAdapter``'s availability check over a real unix socket, the ``JobEngine`` facade,
and ``HotReloadAdapter`` rebuilding its adapter between jobs."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine import (
    CommandNotFoundError,
    ContainerJobSpec,
    DockerAdapter,
    HotReloadAdapter,
    JobEngine,
    JobState,
    LocalProcessAdapter,
    NoAdapterError,
    RuntimeAdapterRouter,
    RuntimeUnavailableError,
    UnsupportedSpecError,
)

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def job(*command: str, **fields: Any) -> ContainerJobSpec:
    fields.setdefault("image", "spine-pipeline:latest")
    return ContainerJobSpec(name="routed", command=list(command), **fields)


ECHO_RUNTIME = ("python", "-c", "import os; print(os.environ['SPINE_RUNTIME'])")


class Down:
    """A test adapter that is never available (a sync ``available()``)."""

    runtime_name = "down"
    submitted = 0

    def available(self) -> bool:
        return False

    async def submit(self, spec: ContainerJobSpec) -> str:
        self.submitted += 1
        raise AssertionError("an unavailable adapter must not get jobs")

    async def status(self, job_id: str) -> Any: ...
    async def cancel(self, job_id: str) -> bool: ...
    async def cleanup(self, job_id: str) -> None: ...


class Vanishing(LocalProcessAdapter):
    """Available when asked, gone when handed the job (a daemon that just died)."""

    runtime_name = "vanishing"

    async def submit(self, spec: ContainerJobSpec) -> str:
        raise RuntimeUnavailableError("engine went away between the check and the submit")


@pytest.fixture
def no_docker(tmp_path: Path) -> DockerAdapter:
    return DockerAdapter(host=f"unix://{tmp_path / 'docker.sock'}")


# --------------------------------------------------------------------------- docker
def test_docker_without_an_engine_reports_itself_unavailable(no_docker: DockerAdapter,
                                                             tmp_path: Path) -> None:
    reason = run(no_docker.unavailable_reason())
    assert reason == f"no Docker engine: {tmp_path / 'docker.sock'} does not exist " \
                     "(is Docker running?)"
    assert run(no_docker.available()) is False
    with pytest.raises(RuntimeUnavailableError, match="does not exist"):
        run(no_docker.submit(job(*ECHO_RUNTIME)))
    unsupported = DockerAdapter(host="ssh://build-box")
    assert "is not supported; use unix:///path" in (run(unsupported.unavailable_reason()) or "")


class PingServer:
    """A unix-socket HTTP server answering every request with one fixed response."""

    def __init__(self, path: Path, status: str, body: bytes) -> None:
        self.path, self.response = path, (
            f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            .encode() + body)
        self.requests: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(65536))
                conn.sendall(self.response)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (unix socket paths are limited to ~100 bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        yield Path(folder)


def test_docker_is_available_when_the_engine_answers_ping_on_its_socket(
        short_dir: Path) -> None:
    server = PingServer(short_dir / "d.sock", "200 OK", b"OK")
    try:
        adapter = DockerAdapter(host=f"unix://{short_dir / 'd.sock'}")
        assert run(adapter.unavailable_reason()) is None
        assert server.requests[0].startswith(b"GET /_ping HTTP/1.1")
    finally:
        server.close()


def test_docker_answering_ping_with_an_error_is_unavailable(short_dir: Path) -> None:
    server = PingServer(short_dir / "d.sock", "500 Internal Server Error",
                        b'{"message": "daemon is starting"}')
    try:
        adapter = DockerAdapter(host=f"unix://{short_dir / 'd.sock'}")
        reason = run(adapter.unavailable_reason()) or ""
        assert "answered /_ping with HTTP 500: daemon is starting" in reason
    finally:
        server.close()


def test_docker_checks_specs_for_what_it_cannot_run(no_docker: DockerAdapter) -> None:
    from engine import SidecarSpec

    problems = no_docker.check(job("python", working_dir="relative/dir",
                                   sidecars=[SidecarSpec(name="s", command=["x"])]))
    assert [type(p).__name__ for p in problems] == ["UnsupportedSpecError", "JobSpecError"]


# --------------------------------------------------------------------------- router
def test_failover_from_an_unavailable_docker_adapter_to_local(no_docker: DockerAdapter) -> None:
    router = RuntimeAdapterRouter()
    router.register(no_docker, priority=1)
    router.register(LocalProcessAdapter(), priority=2)
    engine = JobEngine(router=router)

    async def scenario() -> tuple[Any, Any, str, Any]:
        usable, reasons, _ = await router.candidates(job(*ECHO_RUNTIME))
        result = await engine.run(job(*ECHO_RUNTIME))
        return usable, reasons, result.stdout, result

    usable, reasons, stdout, result = run(scenario())
    assert [u.name for u in usable] == ["local"]
    assert reasons["docker"].startswith("unavailable: no Docker engine:")
    assert stdout == "local\n" and result.runtime == "local"
    assert engine.ledger.get(result.job_id).runtime == "local"
    assert engine.ledger.get(result.job_id).state is JobState.SUCCEEDED


def test_an_adapter_whose_available_is_false_is_skipped() -> None:
    down = Down()
    router = RuntimeAdapterRouter()
    router.register(down, priority=0)
    router.register(LocalProcessAdapter())
    result = run(JobEngine(router=router).run(job(*ECHO_RUNTIME)))
    assert result.stdout == "local\n" and down.submitted == 0


def test_an_adapter_failing_at_submit_hands_the_job_to_the_next() -> None:
    router = RuntimeAdapterRouter()
    router.register(Vanishing(), priority=1)
    router.register(LocalProcessAdapter(), priority=2)
    assert run(JobEngine(router=router).run(job(*ECHO_RUNTIME))).runtime == "local"


def test_no_available_adapter_names_every_reason(no_docker: DockerAdapter) -> None:
    router = RuntimeAdapterRouter()
    router.register(no_docker)
    router.register(Down())
    with pytest.raises(NoAdapterError) as caught:
        run(JobEngine(router=router).submit(job(*ECHO_RUNTIME)))
    assert set(caught.value.reasons) == {"docker", "down"}
    assert "no runtime adapter can run job 'routed': docker: unavailable: no Docker " \
           "engine" in str(caught.value)
    assert "down: unavailable: reports itself unavailable" in str(caught.value)
    with pytest.raises(NoAdapterError, match="no adapter is registered"):
        run(JobEngine(router=RuntimeAdapterRouter()).submit(job(*ECHO_RUNTIME)))


def test_an_image_no_adapter_can_run_is_refused_with_the_reason(no_docker: DockerAdapter) -> None:
    router = RuntimeAdapterRouter()
    router.register(no_docker, priority=1)
    router.register(LocalProcessAdapter(images=["spine-*", "python:*"]), priority=2)
    engine = JobEngine(router=router)
    assert run(engine.run(job(*ECHO_RUNTIME, image="python:3.12-slim"))).succeeded
    with pytest.raises(UnsupportedSpecError,
                       match="image 'rocker/tidyverse:latest' is not one this local adapter "
                             r"stands in for \(spine-\*, python:\*\)"):
        run(engine.submit(job("Rscript", "model.R", image="rocker/tidyverse:latest")))
    with pytest.raises(NoAdapterError, match="docker: unavailable"):
        run(engine.submit(job(*ECHO_RUNTIME, runtime="docker")))


def test_with_one_adapter_up_its_specific_error_comes_through(no_docker: DockerAdapter) -> None:
    router = RuntimeAdapterRouter()
    router.register(no_docker, priority=1)
    router.register(LocalProcessAdapter(), priority=2)
    with pytest.raises(CommandNotFoundError, match="'Rscript' was not found"):
        run(JobEngine(router=router).submit(job("Rscript", "model.R")))


def test_priorities_order_the_adapters_and_names_stay_unique() -> None:
    router = RuntimeAdapterRouter()
    first, second, third = LocalProcessAdapter(), LocalProcessAdapter(), Down()
    router.register(first)
    router.register(second, priority=5)
    router.register(third, priority=5)
    assert [r.name for r in router.registrations] == ["local#2", "down", "local"]
    router.register(first, priority=1)  # again: only its priority changes
    assert router.adapters == [first, second, third]
    assert run(router.route(job(*ECHO_RUNTIME))) is first
    assert repr(router) == ("RuntimeAdapterRouter([local (priority 1), local#2 (priority 5), "
                            "down (priority 5)])")
    with pytest.raises(TypeError, match="is not a runtime adapter"):
        router.register(object())


# --------------------------------------------------------------------------- engine
def test_the_engine_follows_jobs_by_id_and_relays_lines_as_they_come() -> None:
    engine = JobEngine()
    seen: list[str] = []
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)"
    result = run(engine.run(job("python", "-c", code), on_line=lambda line: seen.append(line.text)))
    assert seen == ["0\n", "1\n", "2\n"] and result.succeeded
    assert result.json_output() is None
    with pytest.raises(KeyError):  # cleaned up: the adapter forgot it, the ledger did not
        engine.adapter_of(result.job_id)
    assert engine.ledger.get(result.job_id).exit_code == 0


def test_setting_the_cancel_event_kills_a_running_job() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result = run(JobEngine().run(job("sleep", "30"), cancel=cancel))
    assert result.status.state is JobState.CANCELLED


# --------------------------------------------------------------------------- hot reload
def test_hot_reload_applies_the_new_config_to_the_next_job() -> None:
    built: list[dict[str, Any]] = []

    def factory(config: dict[str, Any]) -> LocalProcessAdapter:
        built.append(config)
        return LocalProcessAdapter()

    hot = HotReloadAdapter(initial_config={"env": {"LOG_LEVEL": "INFO"}, "timeout": 30},
                           adapter_factory=factory)
    engine = JobEngine(router=RuntimeAdapterRouter())
    engine.router.register(hot)
    level = ("python", "-c", "import os; print(os.environ['LOG_LEVEL'])")

    async def scenario() -> tuple[str, str, str]:
        slow = await engine.submit(job("python", "-c", "import time; time.sleep(0.3); print(1)"))
        first = (await engine.run(job(*level))).stdout
        assert hot.update_config({"env": {"LOG_LEVEL": "DEBUG"}, "timeout": 60}) is True
        assert hot.update_config({"env": {"LOG_LEVEL": "DEBUG"}, "timeout": 60}) is False
        second = (await engine.run(job(*level))).stdout
        own = (await engine.run(job(*level, env={"LOG_LEVEL": "TRACE"}))).stdout
        assert (await engine.wait(slow)).succeeded  # still followed on its old adapter
        await engine.cleanup(slow)
        return first, second, own

    assert run(scenario()) == ("INFO\n", "DEBUG\n", "TRACE\n")
    assert hot.reload_count == 1 and len(built) == 2
    assert hot.current_config == {"env": {"LOG_LEVEL": "DEBUG"}, "timeout": 60}


def bump(path: Path, text: str) -> None:
    """Rewrite ``path`` so its stamp surely changes (same-second writes keep mtime)."""
    stat = path.stat() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if stat is not None:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_hot_reload_watches_its_config_file_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    config = tmp_path / "dev.yaml"
    config.write_text("env:\n  LOG_LEVEL: INFO\n", encoding="utf-8")
    hot = HotReloadAdapter(adapter_factory=lambda c: LocalProcessAdapter(), config_path=config)
    assert hot.current_config == {"env": {"LOG_LEVEL": "INFO"}}
    assert hot.check_for_changes() is False
    bump(config, "env:\n  LOG_LEVEL: DEBUG\n")
    assert hot.check_for_changes() is True and hot.reload_count == 1
    bump(config, "env: [unclosed\n")
    assert hot.check_for_changes() is False
    assert hot.current_config == {"env": {"LOG_LEVEL": "DEBUG"}}
    assert "dev.yaml" in (hot.last_error or "")


def test_hot_reload_reimports_a_changed_factory_module(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "spine_test_job_factory.py"
    template = textwrap.dedent("""
        from engine import LocalProcessAdapter

        VERSION = {version}

        def make(config):
            adapter = LocalProcessAdapter()
            adapter.version = VERSION
            return adapter
    """)
    module.write_text(template.format(version=1), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        hot = HotReloadAdapter({}, "spine_test_job_factory:make")
        assert hot.adapter.version == 1
        bump(module, template.format(version=2))
        job_id = run(hot.submit(job(*ECHO_RUNTIME)))  # a submission picks the change up
        assert hot.adapter.version == 2 and hot.reload_count == 1
        assert run(hot.wait(job_id)).succeeded
        run(hot.cleanup(job_id))
        bump(module, "def make(config):\n    raise\n  broken indentation\n")
        assert hot.check_for_changes() is False
        assert hot.adapter.version == 2 and "IndentationError" in (hot.last_error or "")
    finally:
        sys.modules.pop("spine_test_job_factory", None)


# --------------------------------------------------------------------------- docker protocol
def fake_engine(folder: Path, **options: Any) -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources" / "jobs"))
    try:
        from fake_docker import FakeDocker
    finally:
        sys.path.pop(0)
    return FakeDocker(folder / "e.sock", **options)


def test_docker_jobs_create_pull_start_and_stream_over_the_engine_api(short_dir: Path) -> None:
    from engine import ResourceRequirements

    engine_api = fake_engine(short_dir, images=set(), pullable={"spine-pipeline:latest"})
    try:
        router = RuntimeAdapterRouter()
        router.register(DockerAdapter(host=f"unix://{short_dir / 'e.sock'}"), priority=1)
        router.register(LocalProcessAdapter(), priority=2)
        spec = job("python", "-m", "etl", env={"PGHOST": "db"},
                   resources=ResourceRequirements(cpu_limit="1.5", memory_limit="256Mi"))
        result = run(JobEngine(router=router).run(spec))
    finally:
        engine_api.close()
    assert result.runtime == "docker" and result.succeeded
    assert result.stdout == 'hello from docker\n{"n": 1}\n' and result.stderr == "a warning\n"
    assert result.json_output() == {"n": 1}
    assert result.status.duration_seconds == pytest.approx(1.376544, abs=1e-3)
    body = engine_api.bodies[0]
    assert (body["Image"], body["Entrypoint"], body["Cmd"]) == (
        "spine-pipeline:latest", ["python"], ["-m", "etl"])
    assert "PGHOST=db" in body["Env"] and body["Labels"]["spine.job"] == "routed"
    assert body["HostConfig"]["Memory"] == 256 * 2**20
    assert body["HostConfig"]["NanoCpus"] == 1_500_000_000
    paths = [(method, path) for method, path, _ in engine_api.calls]
    container = f"/containers/{'c0ffee' * 10}"
    assert paths.index(("POST", "/images/create")) < paths.index(("POST", f"{container}/start"))
    assert ("DELETE", container) in paths


def test_an_image_docker_cannot_pull_fails_over_to_local(short_dir: Path) -> None:
    engine_api = fake_engine(short_dir, images=set(), pullable=set())
    try:
        router = RuntimeAdapterRouter()
        router.register(DockerAdapter(host=f"unix://{short_dir / 'e.sock'}"), priority=1)
        router.register(LocalProcessAdapter(), priority=2)
        result = run(JobEngine(router=router).run(job(*ECHO_RUNTIME)))
        alone = RuntimeAdapterRouter()
        alone.register(DockerAdapter(host=f"unix://{short_dir / 'e.sock'}"))
        with pytest.raises(NoAdapterError, match="could not be pulled: pull access denied"):
            run(JobEngine(router=alone).submit(job(*ECHO_RUNTIME)))
    finally:
        engine_api.close()
    assert result.runtime == "local" and result.stdout == "local\n"


def test_a_failed_docker_job_says_why(short_dir: Path) -> None:
    engine_api = fake_engine(short_dir, images={"spine-pipeline:latest"}, pullable=set(),
                             exit_code=137)
    try:
        adapter = DockerAdapter(host=f"unix://{short_dir / 'e.sock'}")
        status = run(JobEngine(router=_only(adapter)).run(job("python"))).status
    finally:
        engine_api.close()
    assert status.state is JobState.FAILED and status.exit_code == 137
    assert "killed by SIGKILL" in (status.message or "")


def _only(adapter: Any) -> RuntimeAdapterRouter:
    router = RuntimeAdapterRouter()
    router.register(adapter)
    return router
