"""Paths a notebook's code builds from string constants rather than writes as one literal.

Data scientists name a folder once and build every path from it::

    DATA_DIR = "../data/"                                # or Path("..") / "data"
    train = pd.read_csv(DATA_DIR + "train.csv")          # also f"{DATA_DIR}train.csv",
    test = pd.read_csv(os.path.join(DATA_DIR, "test.csv"))  # Path(DATA_DIR) / "test.csv"

``built_paths`` evaluates such expressions with the string constants the notebook assigned at
module level before them (in cell order, as a top-to-bottom run would see them): joins
(``os.path.join``, ``Path(...)``, ``/``), concatenation (``+``), f-strings, ``str(...)`` and
``os.pardir``. A part it cannot know (a loop variable, a function's argument) ends the path:
what is known before it still names a folder (``os.path.join(DATA_DIR, name)`` -> ``data/``).

Why: ``paths`` decides from these which folders a deployed bundle syncs and what ``run --compare``
copies; reading only whole literals missed the common idiom above (the bundle then synced no data).
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass
from typing import Iterator, Mapping

from nbsplit.memo import per_notebook
from nbsplit.model import Notebook

__all__ = ["built_paths", "cell_tree", "dotted_name", "statements_with_constants", "string_value"]

_JOIN = frozenset({"os.path.join", "path.join", "posixpath.join", "join"})
_PATH_TYPES = frozenset({"Path", "PurePath", "PosixPath", "PurePosixPath", "pathlib.Path", "pathlib.PurePath"})
_PARDIR = frozenset({"os.pardir", "pardir"})
_SEP = frozenset({"os.sep", "sep", "os.path.sep"})


@dataclass(frozen=True)
class _Part:
    text: str
    whole: bool  # False: ``text`` is only the known start of a longer string


@per_notebook
def built_paths(notebook: Notebook) -> dict[int, tuple[str, ...]]:
    """Per code cell, the paths its expressions build (normalised, a folder keeps its trailing
    ``/``), in the order they appear; cells that build none are absent."""
    out: dict[int, list[str]] = {}
    for index, stmt, env in statements_with_constants(notebook):
        for expr in _outermost(stmt):
            text = _path_text(_safe_eval(expr, env))
            if text:
                out.setdefault(index, []).append(text)
    return {index: tuple(dict.fromkeys(found)) for index, found in out.items()}


def statements_with_constants(notebook: Notebook, *, every: bool = False) -> Iterator[tuple[int, ast.stmt, Mapping[str, str]]]:
    """Every top-level statement of the code cells that may name a path, in source order, with
    the string constants bound at module level before it (the mapping is valid until the next
    item). A cell with no string literal and no known constant's name is passed over: it names
    no path and rebinds no constant (``every``: it is not, for a call of a function that does)."""
    env: dict[str, str] = {}
    for cell in notebook.cells:
        source = cell.source
        if cell.kind != "code" or (not every and "'" not in source and '"' not in source
                                   and "pardir" not in source and not any(name in source for name in env)):
            continue
        for stmt, assigned in _statements(source):
            yield cell.index, stmt, env
            if assigned is not None:
                name, value = assigned
                part = _safe_eval(value, env)
                if part is not None and part.whole:
                    env[name] = part.text
                else:
                    env.pop(name, None)  # rebound to something unknown: stop resolving it


def string_value(node: ast.expr, env: Mapping[str, str]) -> str | None:
    """The whole string ``node`` evaluates to with ``env``'s constants, or None."""
    part = _safe_eval(node, env)
    return part.text if part is not None and part.whole else None


_Statement = tuple[ast.stmt, "tuple[str, ast.expr] | None"]


def _statements(source: str) -> tuple[_Statement, ...]:
    """Per top-level statement: the statement and the ``name = value`` it binds (a single
    name), kept on analyze's view of the source."""
    from nbsplit.analyze import python_view

    memo = python_view(source).memo
    hit = memo.get("path statements")
    if hit is not None:
        return hit  # type: ignore[return-value]
    tree = cell_tree(source)
    result: list[_Statement] = []
    for stmt in tree.body if tree is not None else ():
        assigned = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            assigned = (stmt.targets[0].id, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            assigned = (stmt.target.id, stmt.value)
        result.append((stmt, assigned))
    memo["path statements"] = value = tuple(result)
    return value


def cell_tree(source: str) -> ast.Module | None:
    """The cell's Python with its IPython lines masked (``%matplotlib inline``, ``!ls`` and
    ``%%time`` become nothing), so a read or write beside them is still seen; None when it is
    not Python (``%%bash``, ``%%writefile``) or cannot be parsed."""
    from nbsplit.analyze import python_ast, python_view

    return python_ast(source, masked=True) if python_view(source).masked is not None else None


def _outermost(node: ast.AST) -> Iterator[ast.expr]:
    """The expressions under ``node`` that could build a string, not descending into one (its
    inner links are prefixes of the same path)."""
    for child in ast.iter_child_nodes(node):
        if _builds(child):
            yield child  # type: ignore[misc]
        else:
            yield from _outermost(child)


def _builds(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Div))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Call):
        name = dotted_name(node.func)
        return name in _JOIN or name in _PATH_TYPES
    return False


def _safe_eval(node: ast.expr, env: Mapping[str, str]) -> _Part | None:
    try:
        return _eval(node, env)
    except RecursionError:  # a chain of thousands of ``+`` (analyze's nesting guard stops most)
        return None


def _eval(node: ast.expr, env: Mapping[str, str]) -> _Part | None:
    """The string ``node`` evaluates to with ``env``'s constants: whole, only its known start,
    or None when even its start is unknown."""
    if isinstance(node, ast.Constant):
        return _Part(node.value, True) if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        value = env.get(node.id)
        return None if value is None else _Part(value, True)
    if isinstance(node, ast.Attribute):
        name = dotted_name(node)
        return _Part("..", True) if name in _PARDIR else _Part("/", True) if name in _SEP else None
    if isinstance(node, ast.JoinedStr):
        return _concat(node.values, env, formatted=True)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _concat([node.left, node.right], env)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        # strings do not divide: ``a / b`` on path-like operands is a pathlib join
        return _join([node.left, node.right], env)
    if isinstance(node, ast.Call) and not node.keywords:
        name = dotted_name(node.func)
        if name in _JOIN or name in _PATH_TYPES:
            return _join(node.args, env) if node.args else None
        if name == "str" and len(node.args) == 1:
            return _eval(node.args[0], env)
    return None


def _concat(parts: list[ast.expr], env: Mapping[str, str], formatted: bool = False) -> _Part | None:
    text = ""
    for k, part in enumerate(parts):
        if formatted and isinstance(part, ast.FormattedValue):
            value = None if part.format_spec is not None or part.conversion not in (-1, ord("s")) else (
                _eval(part.value, env))
        else:
            value = _eval(part, env)
        if value is None:
            return _Part(text, False) if k else None
        text += value.text
        if not value.whole:
            return _Part(text, False)
    return _Part(text, True)


def _join(parts: list[ast.expr], env: Mapping[str, str]) -> _Part | None:
    known: list[str] = []
    for part in parts:
        value = _eval(part, env)
        if value is None or not value.whole:
            head = value.text[:value.text.rfind("/") + 1] if value is not None else ""
            if head:  # ``f"{sub}/x_{i}.csv"``: only its folder is known
                known.append(head)
            # what is known names a folder (``os.path.join(DATA_DIR, name)`` -> ``data/``)
            return _Part(posixpath.join(*known, ""), False) if known else None
        known.append(value.text)
    return _Part(posixpath.join(*known), True)


def _path_text(part: _Part | None) -> str:
    """A built string as a path: the known start up to its last ``/`` when the rest is unknown;
    normalised (``data//x.csv`` -> ``data/x.csv``), keeping a folder's trailing ``/``."""
    if part is None:
        return ""
    text = part.text if part.whole else part.text[:part.text.rfind("/") + 1]
    if not text or "\n" in text:
        return ""
    folder = text.endswith("/")
    text = posixpath.normpath(text)
    return "" if text == "." else text + "/" if folder and text != "/" else text


def dotted_name(node: ast.AST) -> str | None:
    """``pd.read_csv`` for that callee, ``spark.read.format().load`` for a chain; None when
    the root is not a name (the dataflow's reading, imported late: dataflow imports this)."""
    from nbsplit.dataflow import _dotted as dotted

    return dotted(node)
