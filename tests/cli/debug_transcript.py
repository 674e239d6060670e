"""Reading a scripted ``spine-engine debug`` session's output, command by command."""

from __future__ import annotations


def transcript(out: str) -> list[tuple[str, list[str]]]:
    """The session as (command, lines printed for it), in order; the banner has command ""."""
    blocks: list[tuple[str, list[str]]] = [("", [])]
    for line in out.splitlines():
        if line.startswith("(spine) "):
            blocks.append((line[len("(spine) "):], []))
        else:
            blocks[-1][1].append(line)
    return blocks


def replies(out: str, command: str, occurrence: int = 0) -> list[str]:
    """What the prompt printed for the ``occurrence``-th ``command`` of the session."""
    return [lines for typed, lines in transcript(out) if typed == command][occurrence]
