"""Dotted paths into nested values: the one walker of parsed JSON documents.

A policy's `fields` names a leaf by its dotted path ("user.email"); lists are transparent
("items.name" is every element's name). The anonymizer (nested.transform_json), the classifier
(detect/classify.py) and the leak scan (validate/leaks.py) all find leaves here, so a path means
the same thing to each of them.
"""

from __future__ import annotations

from typing import Any

Leaves = dict[str, list[tuple[Any, Any]]]


def json_leaves(doc: Any, leaves: Leaves | None = None) -> Leaves:
    """Every scalar leaf of a parsed JSON document, by dotted path: `leaves[path]` gets one
    (container, key) pair per leaf, to read (`c[k]`) or replace it in place. Adds to `leaves` when
    given (one dict over many documents); a scalar document has no leaves."""
    out: Leaves = {} if leaves is None else leaves
    _walk(doc, "", out)
    return out


def _walk(node: Any, path: str, out: Leaves) -> None:
    if isinstance(node, dict):
        items = ((f"{path}.{k}" if path else str(k), k, v) for k, v in node.items())
    elif isinstance(node, list):
        items = ((path, i, v) for i, v in enumerate(node))
    else:
        return
    for p, k, v in items:
        if isinstance(v, (dict, list)):
            _walk(v, p, out)
        else:
            out.setdefault(p, []).append((node, k))
