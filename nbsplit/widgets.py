"""The Databricks widgets a notebook declares, with their defaults (``dbutils.widgets.text(name,
default)`` and the dropdown/combobox/multiselect forms), found in its code cells' syntax trees.

They become job parameters with these defaults, so a deployed job runs the notebook as written
instead of overriding its widgets with values of nbsplit's own.
"""

from __future__ import annotations

import ast

from nbsplit.analyze_text import leading_indent
from nbsplit.memo import per_notebook
from nbsplit.model import Notebook
from nbsplit.parse_guard import safe_ast

__all__ = ["notebook_widgets"]

_KINDS = frozenset({"text", "dropdown", "combobox", "multiselect"})


def notebook_widgets(notebook: Notebook) -> dict[str, str]:
    """``{widget name: default}`` in source order; the first declaration of a name wins."""
    return dict(_widgets(notebook))  # a copy: callers may change theirs


@per_notebook
def _widgets(notebook: Notebook) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.kind != "code":
            continue
        if "dbutils" not in cell.source and cell.source.isascii():
            # no `dbutils` name, so no widget: skips parsing and walking almost every cell (a
            # non-ASCII cell may spell the name in letters Python normalizes to it)
            continue
        tree = safe_ast(leading_indent(cell.source))
        if tree is None:  # magics and shell lines: widgets are declared in Python cells (or too deep to parse)
            continue
        for node in ast.walk(tree):
            widget = _widget(node)
            if widget is not None:
                found.setdefault(*widget)
    return tuple(found.items())


def _widget(node: ast.AST) -> tuple[str, str] | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _KINDS):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Attribute) and owner.attr == "widgets"
            and isinstance(owner.value, ast.Name) and owner.value.id == "dbutils"):
        return None
    args = {i: a for i, a in enumerate(node.args)}
    keywords = {k.arg: k.value for k in node.keywords}
    name, default = args.get(0, keywords.get("name")), args.get(1, keywords.get("defaultValue"))
    if isinstance(name, ast.Constant) and isinstance(name.value, str) and isinstance(default, ast.Constant):
        return name.value, "" if default.value is None else str(default.value)
    return None
