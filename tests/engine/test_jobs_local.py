"""``LocalProcessAdapter`` with real subprocesses: isolation (session, environment, working
directory), streaming logs, whole-tree kills on timeout and cancel, rlimits and affinity,
sidecars, and the specific errors bad specs get before anything starts."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from waits import gone

from engine import (
    CommandNotFoundError,
    ContainerJobSpec,
    FailureReason,
    JobSpecError,
    JobState,
    LocalProcessAdapter,
    ResourceLimitError,
    ResourceRequirements,
    SidecarError,
    SidecarSpec,
    SpecValidator,
    UnknownJobError,
    UnsupportedSpecError,
)

T = TypeVar("T")
JOBS = Path(__file__).resolve().parents[1] / "resources" / "jobs"
TREE = str(JOBS / "tree.py")
SIDECAR = str(JOBS / "sidecar_server.py")
PY = sys.executable


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def job(*command: str, name: str = "test-job", **fields: Any) -> ContainerJobSpec:
    return ContainerJobSpec(name=name, image="ignored-locally", command=list(command), **fields)


async def finish(adapter: LocalProcessAdapter, spec: ContainerJobSpec,
                 ) -> tuple[Any, list[str]]:
    job_id = await adapter.submit(spec)
    lines = [line async for line in adapter.logs(job_id)]
    status = await adapter.wait(job_id)
    await adapter.cleanup(job_id)
    return status, lines


@pytest.fixture
def adapter() -> LocalProcessAdapter:
    return LocalProcessAdapter(kill_grace_seconds=0.5)


# --------------------------------------------------------------------------- running
def test_a_job_runs_and_its_output_is_its_log(adapter: LocalProcessAdapter) -> None:
    spec = job("python", "-c", "import json; print('hello'); print(json.dumps({'n': 42}))")
    status, lines = run(finish(adapter, spec))
    assert status.state is JobState.SUCCEEDED and status.exit_code == 0
    assert status.runtime == "local" and status.duration_seconds is not None
    assert lines == ["hello\n", '{"n": 42}\n']
    assert json.loads("".join(lines).splitlines()[-1]) == {"n": 42}


def test_stdout_and_stderr_both_arrive_with_their_stream(adapter: LocalProcessAdapter) -> None:
    async def scenario() -> list[tuple[str, str]]:
        job_id = await adapter.submit(job(
            "python", "-c", "import sys; print('out'); print('err', file=sys.stderr)"))
        records = [(r.stream, r.text) async for r in adapter.log_records(job_id)]
        await adapter.cleanup(job_id)
        return records

    assert sorted(run(scenario())) == [("stderr", "err\n"), ("stdout", "out\n")]


def test_the_environment_holds_only_the_spec_env_and_a_minimal_base(
        adapter: LocalProcessAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_TEST_DB_PASSWORD", "hunter2")
    spec = job("python", "-c", "import json, os; print(json.dumps(dict(os.environ)))",
               env={"SPINE_ENV": "development"})
    status, lines = run(finish(adapter, spec))
    env = json.loads(lines[-1])
    assert "SPINE_TEST_DB_PASSWORD" not in env
    assert env["SPINE_ENV"] == "development"
    assert set(env) - {"SPINE_ENV"} <= {"PATH", "HOME", "LANG", "PYTHONUNBUFFERED",
                                         "SPINE_JOB_ID", "SPINE_JOB_NAME", "SPINE_RUNTIME",
                                         "SPINE_JOB_DIR", "LC_CTYPE"}
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_pass_env_hands_named_variables_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_TEST_PROXY", "http://proxy:3128")
    adapter = LocalProcessAdapter(pass_env=["SPINE_TEST_PROXY"])
    _, lines = run(finish(adapter, job(
        "python", "-c", "import os; print(os.environ['SPINE_TEST_PROXY'])")))
    assert lines == ["http://proxy:3128\n"]


def test_each_job_has_its_own_session_and_process_group(adapter: LocalProcessAdapter) -> None:
    code = "import os, json; print(json.dumps([os.getpid(), os.getpgid(0), os.getsid(0)]))"
    _, lines = run(finish(adapter, job("python", "-c", code)))
    pid, pgid, sid = json.loads(lines[0])
    assert pid == pgid == sid
    assert pgid != os.getpgid(0)


def test_working_dir_given_or_a_scratch_folder_removed_at_cleanup(
        adapter: LocalProcessAdapter, tmp_path: Path) -> None:
    code = "import os; print(os.getcwd()); open('out.txt', 'w').write('x')"

    async def scenario() -> tuple[str, str, bytes]:
        given = await adapter.submit(job("python", "-c", code, working_dir=str(tmp_path)))
        scratch = await adapter.submit(job("python", "-c", code))
        await adapter.wait(given)
        await adapter.wait(scratch)
        here = [line async for line in adapter.logs(given)][0].strip()
        there = [line async for line in adapter.logs(scratch)][0].strip()
        data = await adapter.read_file(scratch, "out.txt")
        await adapter.cleanup(given)
        await adapter.cleanup(scratch)
        return here, there, data

    here, there, data = run(scenario())
    assert Path(here) == tmp_path.resolve() and (tmp_path / "out.txt").exists()
    assert data == b"x"
    assert Path(there).name.startswith("spine-job-") and not Path(there).exists()


def test_logs_stream_while_the_job_runs(adapter: LocalProcessAdapter) -> None:
    code = "import time; print('first'); time.sleep(0.6); print('second')"

    async def scenario() -> tuple[JobState, float, float]:
        job_id = await adapter.submit(job("python", "-c", code))
        started = time.monotonic()
        stream = adapter.logs(job_id)
        await stream.__anext__()
        first_at = time.monotonic() - started
        state = (await adapter.status(job_id)).state
        rest = [line async for line in stream]
        assert rest == ["second\n"]
        await adapter.cleanup(job_id)
        return state, first_at, time.monotonic() - started

    state, first_at, total = run(scenario())
    assert state is JobState.RUNNING
    assert first_at < total - 0.3  # the first line came well before the job ended


def test_a_job_submitted_in_one_event_loop_is_followed_from_another(
        adapter: LocalProcessAdapter) -> None:
    job_id = run(adapter.submit(job("python", "-c", "print('across loops')")))
    assert run(adapter.wait(job_id)).succeeded

    async def collect() -> list[str]:
        return [line async for line in adapter.logs(job_id)]

    assert run(collect()) == ["across loops\n"]
    run(adapter.cleanup(job_id))


def test_status_of_an_unknown_job_is_a_clear_error_and_cleanup_is_idempotent(
        adapter: LocalProcessAdapter) -> None:
    with pytest.raises(UnknownJobError, match="no job 'local-nope' on the local adapter"):
        run(adapter.status("local-nope"))
    job_id = run(adapter.submit(job("python", "-c", "pass")))
    run(adapter.cleanup(job_id))
    run(adapter.cleanup(job_id))
    with pytest.raises(UnknownJobError):
        run(adapter.status(job_id))


# --------------------------------------------------------------------------- failures
def test_a_non_zero_exit_fails_with_its_code_and_last_stderr_line(
        adapter: LocalProcessAdapter) -> None:
    code = "import sys; print('working'); sys.exit('bad input row 7')"
    status, _ = run(finish(adapter, job("python", "-c", code)))
    assert status.state is JobState.FAILED and status.exit_code == 1
    assert status.reason is FailureReason.EXIT_CODE
    assert status.message == "job 'test-job' exited with code 1: bad input row 7"
    assert status.category == "INTERNAL"


def test_a_job_killed_by_a_signal_says_which(adapter: LocalProcessAdapter) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    status, _ = run(finish(adapter, job("python", "-c", code)))
    assert status.reason is FailureReason.SIGNAL and status.exit_code == -15
    assert "killed by SIGTERM" in (status.message or "")


@pytest.mark.parametrize("ignore_term", [False, True], ids=["sigterm", "needs-sigkill"])
def test_a_timeout_kills_the_whole_process_tree(adapter: LocalProcessAdapter,
                                                ignore_term: bool) -> None:
    args = ["--ignore-term"] if ignore_term else []

    async def scenario() -> tuple[Any, dict[str, int], float]:
        job_id = await adapter.submit(job("python", TREE, *args, timeout_seconds=1))
        stream = adapter.logs(job_id)
        pids = json.loads(await stream.__anext__())
        started = time.monotonic()
        status = await adapter.wait(job_id)
        elapsed = time.monotonic() - started
        await adapter.cleanup(job_id)
        return status, pids, elapsed

    status, pids, elapsed = run(scenario())
    assert status.state is JobState.FAILED
    assert status.reason is FailureReason.TIMEOUT and status.category == "TIMEOUT"
    assert status.message == ("job 'test-job' exceeded its timeout of 1s; "
                              "its process tree was killed")
    assert gone(pids["pid"]) and gone(pids["grandchild"])
    assert elapsed < 60  # killed (timeout, grace, SIGKILL), not waited for: both sleep 120 s


def test_cancel_kills_the_whole_process_tree(adapter: LocalProcessAdapter) -> None:
    async def scenario() -> tuple[bool, Any, dict[str, int]]:
        job_id = await adapter.submit(job("python", TREE, "--ignore-term"))
        pids = json.loads(await adapter.logs(job_id).__anext__())
        cancelled = await adapter.cancel(job_id)
        status = await adapter.status(job_id)
        await adapter.cleanup(job_id)
        return cancelled, status, pids

    cancelled, status, pids = run(scenario())
    assert cancelled is True
    assert status.state is JobState.CANCELLED and status.reason is FailureReason.CANCELLED
    assert status.category == "CANCELLED"
    assert gone(pids["pid"]) and gone(pids["grandchild"])


def test_cleanup_of_a_running_job_kills_its_tree(adapter: LocalProcessAdapter) -> None:
    async def scenario() -> dict[str, int]:
        job_id = await adapter.submit(job("python", TREE))
        pids = json.loads(await adapter.logs(job_id).__anext__())
        await adapter.cleanup(job_id)
        return pids

    pids = run(scenario())
    assert gone(pids["pid"]) and gone(pids["grandchild"])


def test_children_left_behind_by_the_main_process_are_stopped_with_it(
        adapter: LocalProcessAdapter) -> None:
    status, lines = run(finish(adapter, job("python", TREE, "--exit")))
    pids = json.loads(lines[0])
    assert status.succeeded
    assert gone(pids["grandchild"])


def test_a_memory_limit_failure_says_memory(adapter: LocalProcessAdapter) -> None:
    code = "x = bytearray(512 * 1024 * 1024); print('allocated')"
    status, lines = run(finish(adapter, job(
        "python", "-c", code, resources=ResourceRequirements(memory_limit="200Mi"))))
    assert status.state is JobState.FAILED and status.reason is FailureReason.MEMORY
    assert "ran out of memory under its limit of 200 MiB" in (status.message or "")
    assert "allocated\n" not in lines
    fine, _ = run(finish(adapter, job("python", "-c", "x = bytearray(50 * 1024 * 1024)",
                                      resources=ResourceRequirements(memory_limit="200Mi"))))
    assert fine.succeeded


def test_a_cpu_time_limit_failure_says_cpu(adapter: LocalProcessAdapter) -> None:
    status, _ = run(finish(adapter, job("python", "-c", "while True: pass",
                                        resources=ResourceRequirements(cpu_seconds=1))))
    assert status.state is JobState.FAILED and status.reason is FailureReason.CPU
    assert status.message == ("job 'test-job' used up its CPU-time limit of 1s "
                              "(resources.cpu_seconds, RLIMIT_CPU) and was killed by SIGXCPU")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and at least two CPUs")
def test_a_cpu_core_limit_pins_the_job_to_that_many_cpus(adapter: LocalProcessAdapter) -> None:
    code = "import os; print(len(os.sched_getaffinity(0)))"
    _, lines = run(finish(adapter, job("python", "-c", code,
                                       resources=ResourceRequirements(cpu_limit="500m"))))
    assert lines == ["1\n"]


# --------------------------------------------------------------------------- bad input
def submit_error(adapter: LocalProcessAdapter, spec: ContainerJobSpec) -> JobSpecError:
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(JobSpecError) as caught:
        run(adapter.submit(spec))
    assert set(os.listdir(tempfile.gettempdir())) - before == set()  # nothing was set up
    assert adapter._jobs == {}
    return caught.value


def test_a_command_that_does_not_exist_fails_before_anything_runs(
        adapter: LocalProcessAdapter, tmp_path: Path) -> None:
    error = submit_error(adapter, job("no-such-program-xyz", "--flag"))
    assert isinstance(error, CommandNotFoundError)
    assert "command[0] 'no-such-program-xyz' was not found on the job's PATH" in str(error)
    relative = submit_error(adapter, job("bin/run.sh"))
    assert "relative path and the job has no working_dir" in str(relative)
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    not_executable = submit_error(adapter, job("./run.sh", working_dir=str(tmp_path)))
    assert "is not executable (chmod +x)" in str(not_executable)


def test_a_program_the_kernel_cannot_execute_is_a_start_error(
        adapter: LocalProcessAdapter, tmp_path: Path) -> None:
    from engine import JobStartError

    program = tmp_path / "not-a-program"
    program.write_bytes(b"\x00\x01 no interpreter line")
    program.chmod(0o755)
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(JobStartError, match=r"could not start '.*not-a-program': .*Exec format"):
        run(adapter.submit(job(str(program))))
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    assert adapter._jobs == {}


def test_limits_the_machine_cannot_give_are_refused(adapter: LocalProcessAdapter) -> None:
    cores = submit_error(adapter, job("python", "-c", "pass",
                                      resources=ResourceRequirements(cpu_request=4096)))
    assert isinstance(cores, ResourceLimitError)
    assert "resources.cpu_request: 4096 cores asked, this machine gives" in str(cores)
    memory = submit_error(adapter, job("python", "-c", "pass",
                                       resources=ResourceRequirements(memory_limit="64Pi")))
    assert isinstance(memory, ResourceLimitError) and "this machine has" in str(memory)
    gpu = submit_error(adapter, job("python", "-c", "pass",
                                    resources=ResourceRequirements(gpu_count=1)))
    assert isinstance(gpu, UnsupportedSpecError) and "local processes get no GPUs" in str(gpu)


def test_malformed_specs_name_the_field(adapter: LocalProcessAdapter, tmp_path: Path) -> None:
    cases = {
        "command is empty": job(),
        "is not a valid image reference": ContainerJobSpec(
            name="x", image="Not An Image", command=["python"]),
        "env['PORT']: values must be strings, got int": job("python", env={"PORT": 5447}),
        "timeout_seconds: -1 must be a number of seconds above zero":
            job("python", timeout_seconds=-1),
        "is not an existing directory": job("python", working_dir=str(tmp_path / "nope")),
        "above this adapter's maximum": job("python", timeout_seconds=10**9),
        "name '' must be 1-128": job("python", name=""),
    }
    for expected, spec in cases.items():
        assert expected in str(submit_error(adapter, spec)), expected


def test_bad_quantities_and_command_strings_fail_when_built() -> None:
    with pytest.raises(JobSpecError, match=r"resources.memory_limit: '4GB' is not a memory"):
        ResourceRequirements(memory_limit="4GB")
    with pytest.raises(JobSpecError, match="cpu_request '4' is more than cpu_limit '2'"):
        ResourceRequirements(cpu_request="4", cpu_limit="2")
    with pytest.raises(JobSpecError, match="command must be a list of arguments"):
        ContainerJobSpec(name="x", image="x", command="python -c pass")  # type: ignore[arg-type]
    assert ResourceRequirements(cpu="500m", memory="1.5Gi").cpu_limit_cores == 0.5
    assert ResourceRequirements(memory="1G").memory_request_bytes == 10**9


def test_the_validator_lists_every_problem_with_the_first_raised() -> None:
    spec = ContainerJobSpec(name="x", image="", command=[], env={"1BAD": "v"})
    problems = SpecValidator().validate(spec)
    assert len(problems) == 3
    with pytest.raises(JobSpecError, match=r"image: an image reference is required .*"
                                           r"\(and 2 more: .*command is empty.*'1BAD'"):
        SpecValidator().check(spec)


def test_capabilities(adapter: LocalProcessAdapter) -> None:
    caps = adapter.capabilities
    assert (caps.supports_gpu, caps.supports_volumes, caps.supports_sidecars) == (False, False, True)
    assert caps.max_timeout_seconds == 86_400


# --------------------------------------------------------------------------- sidecars
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_sidecar_is_ready_before_the_job_and_stopped_after_it(
        adapter: LocalProcessAdapter) -> None:
    port = free_port()
    sidecar = SidecarSpec(name="model-server", image="triton:latest", command=[PY, SIDECAR],
                          ports=[port], health_check="/health")
    code = ("import os, urllib.request; "
            "print(urllib.request.urlopen(os.environ['SPINE_SIDECAR_MODEL_SERVER_URL'] "
            "+ '/predict').read().decode())")

    async def scenario() -> tuple[Any, list[str], int]:
        job_id = await adapter.submit(job("python", "-c", code, sidecars=[sidecar]))
        sidecar_pid = adapter._jobs[job_id].sidecars.trees["model-server"].pid  # type: ignore[union-attr]
        lines = [line async for line in adapter.logs(job_id)]
        status = await adapter.wait(job_id)
        await adapter.cleanup(job_id)
        return status, lines, sidecar_pid

    status, lines, sidecar_pid = run(scenario())
    assert status.succeeded, status.message
    assert json.loads(lines[0]) == {"sidecar": "model-server", "path": "/predict"}
    assert gone(sidecar_pid)


def test_a_sidecar_that_never_gets_ready_stops_the_job_before_it_runs(
        adapter: LocalProcessAdapter) -> None:
    sidecar = SidecarSpec(name="feature-store", command=["sleep", "30"], ports=[free_port()],
                          startup_timeout_seconds=0.5)
    with pytest.raises(SidecarError, match="sidecar 'feature-store' was not ready after 0.5s"):
        run(adapter.submit(job("python", "-c", "print('never')", sidecars=[sidecar])))
    dying = SidecarSpec(name="crashes", command=["python", "-c", "raise SystemExit('no model')"],
                        ports=[free_port()])
    with pytest.raises(SidecarError, match="exited with code 1 before it was ready: no model"):
        run(adapter.submit(job("python", "-c", "print('never')", sidecars=[dying])))


def test_a_sidecar_without_a_command_cannot_run_locally(adapter: LocalProcessAdapter) -> None:
    spec = job("python", sidecars=[SidecarSpec(name="triton", image="triton:latest",
                                               ports=[8001], health_check="/v2/health/ready")])
    error = submit_error(adapter, spec)
    assert isinstance(error, UnsupportedSpecError)
    assert "sidecar 'triton' has no command" in str(error)
