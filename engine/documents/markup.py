"""Turn a filing's bytes into an lxml tree (the one module that imports lxml): XHTML with
inline XBRL through the XML parser (entities and network access off), a not well-formed file
through the recovering parser with the reason kept, plain HTML through the HTML parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lxml.html
from lxml import etree

from .nodes import local

_SNIFF = 4096


class NotADocumentError(ValueError):
    """The input is not an HTML or XHTML document at all (empty, binary, CSV, JSON...)."""


@dataclass(frozen=True)
class Loaded:
    """A parsed tree, whether it came through the XML parser, and what was wrong with it."""

    root: Any
    xhtml: bool
    problems: tuple[str, ...]


def load(data: bytes) -> Loaded:
    """Parse ``data``; raise ``NotADocumentError`` when it is not markup at all."""
    head = data[:_SNIFF]
    if not data.strip():
        raise NotADocumentError("the file is empty")
    if b"\x00" in head:
        raise NotADocumentError("binary data, not an HTML or XHTML document")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<html" not in lowered and not lowered.startswith((b"<?xml", b"<!doctype")):
        raise NotADocumentError(f"no <html> element in the first {_SNIFF // 1024} KB: "
                                "not an HTML or XHTML filing")
    problems: list[str] = []
    xhtml = lowered.startswith(b"<?xml") or b"xmlns=" in lowered
    root: Any = None
    if xhtml:
        try:
            root = etree.fromstring(data, _xml_parser(recover=False))
        except etree.XMLSyntaxError as err:
            problems.append(f"not well-formed XHTML at line {err.lineno}: {err.msg}")
            root = etree.fromstring(data, _xml_parser(recover=True))
    else:
        root = lxml.html.document_fromstring(data, parser=lxml.html.HTMLParser(
            remove_comments=True, no_network=True))
    if root is None or local(root) != "html":
        raise NotADocumentError("no <html> root element could be read")
    for br in root.iter("{*}br"):
        br.tail = " " + (br.tail or "")
    return Loaded(root=root, xhtml=xhtml, problems=tuple(problems))


def _xml_parser(recover: bool) -> Any:
    return etree.XMLParser(recover=recover, resolve_entities=False, no_network=True,
                           remove_comments=True, remove_pis=True, huge_tree=False)
