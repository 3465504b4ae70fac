"""The one YAML emitter: block style, two spaces per level, ``- `` items, ``{}``/``[]`` when empty.

Its callers differ only in how a scalar is written: the bundle double-quotes every value
(:func:`nbsplit.render.escape.yaml_scalar`, nothing can break out of it), Jupytext headers keep
Jupytext's plain style. No anchors, tags or flow collections, so any YAML reader reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["emit_yaml"]


def emit_yaml(value: Any, indent: int = 0, *, scalar: Callable[[Any], str], key: Callable[[Any], str]) -> list[str]:
    """The lines of ``value`` (mappings, lists, scalars) starting ``indent`` spaces in."""
    lines: list[str] = []
    _emit(value, indent, lines, scalar, key)
    return lines


def _emit(value: Any, indent: int, lines: list[str], scalar: Callable[[Any], str], key: Callable[[Any], str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            lines.append(pad + "{}")
        for name, item in value.items():
            _emit_item(pad + key(name) + ":", item, indent, lines, scalar, key)
    elif isinstance(value, (list, tuple)):
        if not value:
            lines.append(pad + "[]")
        for item in value:
            if isinstance(item, Mapping) and item:
                # "- first_key: ..." then the other keys aligned under the first.
                sub: list[str] = []
                _emit(item, indent + 2, sub, scalar, key)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                lines.extend(sub)
            else:
                _emit_item(pad + "-", item, indent, lines, scalar, key)
    else:
        lines.append(pad + scalar(value))


def _emit_item(head: str, item: Any, indent: int, lines: list[str], scalar: Callable[[Any], str],
               key: Callable[[Any], str]) -> None:
    if isinstance(item, (Mapping, list, tuple)) and item:
        lines.append(head)
        _emit(item, indent + 2, lines, scalar, key)
    elif isinstance(item, Mapping):
        lines.append(head + " {}")
    elif isinstance(item, (list, tuple)):
        lines.append(head + " []")
    else:
        lines.append(head + " " + scalar(item))
