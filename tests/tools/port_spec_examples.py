"""Copy the spec's example code blocks into tests/resources/spec_examples/, imports pointed at ``engine``.

Only import lines change (``from spine.<module> import X, Y`` becomes ``from engine import X, Y``);
every other line stays byte-identical, so the generated files prove the spec's own code runs
against our API. Run it after the spec changes and commit the output:

    .venv/bin/python tests/tools/port_spec_examples.py [path/to/advanced-workflow-patterns.md]

``--check`` exits non-zero when the committed files differ from what the spec would generate.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DEFAULT_SPEC = Path("/work/shared/spec/advanced-workflow-patterns.md")
OUT_DIR = Path(__file__).resolve().parents[1] / "resources" / "spec_examples"
EXAMPLE_IDS = ("B1", "B2", "B3", "B4", "B5", "I2", "I4", "I5", "M1", "M4", "A4",
               "F1", "F2", "F4", "F5", "F6", "F7", "F8", "F9", "F10",
               "I1", "I3", "A2", "A3", "M2", "M5")

_HEADING = re.compile(r"^### (?P<id>[A-Z]\d+) — ", re.MULTILINE)
_FENCE_OPEN = "```python\n"
_FENCE_CLOSE = re.compile(r"^```\s*$", re.MULTILINE)
_SPINE_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from spine(?:\.[\w.]+)? import (?P<names>.+)$")


class SpecFormatError(ValueError):
    """The spec does not contain an example where the port expects one."""


def example_blocks(markdown: str) -> dict[str, str]:
    """The first ``python`` code block under each ``### <ID> — title`` heading, by id."""
    headings = list(_HEADING.finditer(markdown))
    blocks: dict[str, str] = {}
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(markdown)
        section = markdown[heading.end():end]
        open_at = section.find(_FENCE_OPEN)
        if open_at < 0:
            continue
        body_start = open_at + len(_FENCE_OPEN)
        close = _FENCE_CLOSE.search(section, body_start)
        if close is None:
            line = markdown.count("\n", 0, heading.start()) + 1
            raise SpecFormatError(f"example {heading['id']} (line {line}): unclosed code block")
        blocks.setdefault(heading["id"], section[body_start:close.start()])
    return blocks


def port_imports(code: str) -> str:
    """Rewrite ``from spine... import`` lines to import from ``engine``; nothing else changes."""
    lines = code.splitlines(keepends=True)
    out: list[str] = []
    for line in lines:
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = _SPINE_IMPORT.match(body)
        if match:  # a parenthesised import keeps its following name lines as they are
            body = f"{match['indent']}from engine import {match['names']}"
        out.append(body + ending)
    return "".join(out)


def generate(markdown: str, ids: tuple[str, ...] = EXAMPLE_IDS) -> dict[str, str]:
    """File name -> ported source for every requested example."""
    blocks = example_blocks(markdown)
    missing = [i for i in ids if i not in blocks]
    if missing:
        raise SpecFormatError(f"spec has no code block for example(s): {', '.join(missing)}")
    return {f"{i.lower()}.py": port_imports(blocks[i]) for i in ids}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--check", action="store_true",
                        help="compare with the files on disk instead of writing")
    args = parser.parse_args(argv)
    try:
        files = generate(args.spec.read_text(encoding="utf-8"))
    except (OSError, SpecFormatError) as exc:
        print(f"port_spec_examples: {exc}", file=sys.stderr)
        return 2
    stale = []
    for name, source in files.items():
        target = args.out / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == source:
            continue
        stale.append(name)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
    verb = "out of date" if args.check else "written"
    print(f"{len(files)} examples, {len(stale)} {verb}: {', '.join(stale) or '-'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
