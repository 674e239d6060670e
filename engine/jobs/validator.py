"""``SpecValidator``: the checks every job spec passes before any adapter sees it (names,
image reference, command, environment, timeout, sidecars), so bad input fails before
anything runs, with the field it is about."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import JobSpecError
from .spec import ContainerJobSpec, SidecarSpec

#: an OCI image reference: [registry[:port]/]path[:tag][@digest], path components lowercase
_IMAGE = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::\d+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*:[0-9a-fA-F]{32,}))?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def image_problem(image: str) -> str | None:
    """Why ``image`` is not a valid image reference, or None."""
    if not isinstance(image, str) or not image:
        return "an image reference is required (e.g. 'python:3.12-slim')"
    if _IMAGE.match(image) is None:
        return (f"{image!r} is not a valid image reference; use [registry/]name[:tag] with a "
                "lowercase name, e.g. 'spine-pipeline:latest'")
    return None


class SpecValidator:
    """Checks a ``ContainerJobSpec`` on its own (adapters add what depends on where it
    runs: does the command exist, can the machine give the limits)."""

    def validate(self, spec: ContainerJobSpec) -> list[JobSpecError]:
        """Every problem with ``spec``; empty when it is well formed."""
        problems: list[str] = []
        if not isinstance(spec.name, str) or _JOB_NAME.match(spec.name) is None:
            problems.append(f"name {spec.name!r} must be 1-128 letters, digits or '_.:-', "
                            "starting with a letter or digit")
        label = f"job {spec.name!r}"
        bad_image = image_problem(spec.image)
        if bad_image:
            problems.append(f"image: {bad_image}")
        argv = (*spec.command, *spec.args)
        if not spec.command:
            problems.append("command is empty; give the program and its arguments, e.g. "
                            "['python', '-c', 'print(1)']")
        elif not all(isinstance(part, str | int | float) and not isinstance(part, bool)
                     for part in argv):
            problems.append("command and args must be strings")
        elif not str(spec.command[0]).strip():
            problems.append("command[0] is blank; it must name a program")
        problems += _env_problems("env", spec.env)
        problems += _env_problems("labels", spec.labels, names=False)
        timeout = spec.timeout_seconds
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, int | float) or not timeout > 0):
            problems.append(f"timeout_seconds: {timeout!r} must be a number of seconds above zero")
        if spec.working_dir is not None and (not isinstance(spec.working_dir, str)
                                             or not spec.working_dir):
            problems.append(f"working_dir: {spec.working_dir!r} must be a non-empty path")
        problems += _sidecar_problems(spec.sidecars)
        return [JobSpecError(f"{label}: {problem}") for problem in problems]

    def check(self, spec: ContainerJobSpec) -> None:
        """Raise the first problem (naming how many more there are), if any."""
        raise_first(self.validate(spec))


def raise_first(problems: list[JobSpecError]) -> None:
    """Raise the first of ``problems`` with the others appended to its message."""
    if not problems:
        return
    first = problems[0]
    if len(problems) > 1:
        rest = "; ".join(str(p) for p in problems[1:])
        raise type(first)(f"{first} (and {len(problems) - 1} more: {rest})")
    raise first


def _env_problems(field: str, values: Mapping[str, str], names: bool = True) -> list[str]:
    problems = []
    for key, value in values.items():
        if not isinstance(key, str) or (names and _ENV_NAME.match(key) is None):
            problems.append(f"{field}: {key!r} is not a valid variable name "
                            "(letters, digits and '_', not starting with a digit)")
        elif not isinstance(value, str):
            problems.append(f"{field}[{key!r}]: values must be strings, got "
                            f"{type(value).__name__} {value!r}; write str(value)")
    return problems


def _sidecar_problems(sidecars: tuple[SidecarSpec, ...] | list[SidecarSpec] | object,
                      ) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for sidecar in sidecars if isinstance(sidecars, tuple | list) else ():
        where = f"sidecar {sidecar.name!r}"
        if not isinstance(sidecar.name, str) or _JOB_NAME.match(sidecar.name) is None:
            problems.append(f"{where}: name must be letters, digits or '_.:-'")
        if sidecar.name in seen:
            problems.append(f"{where}: two sidecars share this name")
        seen.add(sidecar.name)
        for port in sidecar.ports:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                problems.append(f"{where}: port {port!r} must be an integer in 1-65535")
        if sidecar.health_check is not None:
            if not str(sidecar.health_check).startswith("/"):
                problems.append(f"{where}: health_check {sidecar.health_check!r} must be a "
                                "path starting with '/'")
            if not sidecar.ports:
                problems.append(f"{where}: health_check needs a port to ask; add ports=[...]")
        if not sidecar.startup_timeout_seconds > 0:
            problems.append(f"{where}: startup_timeout_seconds must be above zero")
        problems += _env_problems(f"{where} env", sidecar.env)
    return problems
