"""Reading parsed elements the same way whether lxml's XML parser (namespaced XHTML, inline
XBRL) or its HTML parser (plain HTML, ``ix:`` prefixes kept in the tag) built them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

IX_NAMESPACES = frozenset({"http://www.xbrl.org/2013/inlineXBRL",
                           "http://www.xbrl.org/2008/inlineXBRL"})
XBRLI_NAMESPACE = "http://www.xbrl.org/2003/instance"
XBRLDI_NAMESPACE = "http://xbrl.org/2006/xbrldi"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

#: elements that start a new line of text
BLOCK_TAGS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table",
                        "center", "blockquote", "pre", "section", "article", "dl", "dt", "dd",
                        "body", "header", "footer", "hr", "form"})
SKIPPED_TAGS = frozenset({"head", "script", "style", "title", "noscript"})


def local(el: Any) -> str:
    """The element's lower-case local name ("nonfraction", "td"); "" for comments."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        return tag.rpartition("}")[2].lower()
    return tag.rpartition(":")[2].lower()


def family(el: Any) -> str:
    """"ix", "xbrli", "xbrldi" or "html": which vocabulary the element belongs to."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        ns = tag[1:].partition("}")[0]
        if ns in IX_NAMESPACES:
            return "ix"
        if ns == XBRLI_NAMESPACE:
            return "xbrli"
        if ns == XBRLDI_NAMESPACE:
            return "xbrldi"
        return "html"
    prefix = tag.partition(":")[0].lower() if ":" in tag else ""
    return prefix if prefix in ("ix", "xbrli", "xbrldi") else "html"


def attr(el: Any, name: str) -> str | None:
    """An attribute by its XML name, also as the HTML parser stores it (lower case)."""
    value = el.get(name)
    return value if value is not None else el.get(name.lower())


def text_of(el: Any) -> str:
    """The element's text with whitespace collapsed (comments are dropped at parse time)."""
    return " ".join("".join(el.itertext()).split())


def is_block(el: Any) -> bool:
    return local(el) in BLOCK_TAGS


def has_block_inside(el: Any) -> bool:
    """Whether an inline element wraps blocks (an ``ix:nonNumeric`` text block, a span of
    paragraphs), in which case it is walked like a container."""
    return any(local(d) in BLOCK_TAGS for d in el.iterdescendants())


_NAMESPACES = {"ix": tuple(sorted(IX_NAMESPACES)), "xbrli": (XBRLI_NAMESPACE,),
               "xbrldi": (XBRLDI_NAMESPACE,)}


@functools.lru_cache(maxsize=64)
def _tags(family_name: str, names: tuple[str, ...]) -> tuple[str, ...]:
    tags: list[str] = []
    for name in names:
        tags += [f"{{{ns}}}{name}" for ns in _NAMESPACES[family_name]]
        tags += [f"{family_name}:{name}", f"{family_name}:{name.lower()}"]
    return tuple(dict.fromkeys(tags))


def descendants(el: Any, family_name: str, *names: str) -> Iterator[Any]:
    """Descendants (and the element itself) of one vocabulary named one of ``names`` (as the
    XML spells them: "nonFraction"), found by lxml's own tag filter."""
    return el.iter(*_tags(family_name, names))  # type: ignore[no-any-return]


def is_ix_header(el: Any) -> bool:
    return local(el) == "header" and family(el) == "ix"
