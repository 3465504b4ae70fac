"""nbsplit.cstwalk gives what libcst's own ``children`` and ``visit`` give, without rebuilding."""

from __future__ import annotations

import functools
import typing
from pathlib import Path

import libcst as cst
import pytest

from nbsplit.analyze_text import mask_ipython
from nbsplit.cstwalk import _FIELDS, _INNER, _TRIVIA, children, inner_children, walk
from nbsplit.parse_guard import too_deep
from nbsplit.read import read_notebook

ROOT = Path(__file__).resolve().parent.parent

# Syntax the samples may lack: every statement and expression form libcst reads on 3.11.
EVERY_FORM = '''\
from __future__ import annotations
import os.path as osp, sys
from . import (a, b as c,)
from .. mod import *
@decorator(1)
async def f(x: int = 1, /, y=2, *args, z: "s" = 3, **kw) -> list[int]:
    global g
    async with ctx() as (p, q), other:
        await x
    async for i in range(3):
        yield i
    return [i async for i in gen() if i]
class C(Base, metaclass=M):
    """doc"""
    def g(self):
        nonlocal_ = lambda a, *b, c=1, **d: (a, b, c, d)
        return nonlocal_
x = y = (1 if a else 2) if b else f"{a!r:>{w}} {b=} {{}}" "concat"; bb = b"bytes" rb'raw'
x += 1; x -= -2 ** ~3
x: dict[str, int] = {**d, "k": v} if False else {k: v for k, v in d.items() if k not in s}
s = {1, 2, *t}; s2 = {e for e in s}; g2 = (e for e in s)
del a[1:2:3], b.c, [d, e]
assert a is not b and not c or d < e <= f != g in h, "msg"
while (n := n - 1) > 0:
    continue
else:
    pass
for a, *b in zip(x, y):
    break
try:
    raise ValueError("v") from None
except (TypeError, ValueError) as exc:
    print(exc, sep="", end="\\n")
else:
    pass
finally:
    pass
try:
    pass
except* OSError:
    pass
with open(p) as fh, open(q):
    data = fh.read()[::2, ..., None]
match command.split():
    case [action, *rest] if rest:
        pass
    case {"k": 1, **kw}:
        pass
    case Point(x=0, y=_) | None:
        pass
    case _:
        pass
print(*a, **k); a @= b; c = a @ b >> 2 << 1 | 3 & 4 ^ 5 // 6 % 7
'''


def _code_cells() -> list[str]:
    sources = [EVERY_FORM]
    for path in sorted((ROOT / "sample_notebooks").iterdir()):
        if path.suffix in (".ipynb", ".py") and path.name != "execute_samples.py":
            sources += [c.source for c in read_notebook(path).cells if c.kind == "code"]
    return sources


@functools.lru_cache(maxsize=1)
def _trees() -> list[cst.Module]:
    trees = []
    for source in _code_cells():
        masked = mask_ipython(source)
        if not masked.python_body or too_deep(masked.source) is not None:
            continue
        try:
            trees.append(cst.parse_module(masked.source))
        except cst.ParserSyntaxError:
            continue
    return trees


def test_children_are_libcsts_children_on_every_node() -> None:
    seen: set[str] = set()
    trees = _trees()
    assert len(trees) > 50
    for tree in trees:
        stack: list[cst.CSTNode] = [tree]
        while stack:
            node = stack.pop()
            expected = node.children
            got = children(node)
            assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), type(node).__name__
            inner = [c for c in expected if not isinstance(c, _TRIVIA)]
            got = inner_children(node)
            assert len(got) == len(inner) and all(a is b for a, b in zip(got, inner)), type(node).__name__
            seen.add(type(node).__name__)
            stack.extend(expected)
    # the comparison covered most of the table (whitespace, statements, expressions, f-strings, match)
    assert len(seen & set(_FIELDS)) > 120, sorted(set(_FIELDS) - seen)


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(("call", id(node)))

    def visit_Name(self, node: cst.Name) -> None:
        self.calls.append(("name", id(node)))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.calls.append(("string", id(node)))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.calls.append(("lambda", id(node)))
        return False  # its body skipped by both walks

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        self.calls.append(("ifexp", id(node)))
        return len(self.calls) % 2 == 0  # sometimes skipped


def test_walk_calls_what_visit_calls_in_the_same_order() -> None:
    for tree in _trees():
        libcst_way, ours = _Recorder(), _Recorder()
        tree.visit(libcst_way)
        walk(tree, ours)
        assert ours.calls == libcst_way.calls


def test_walk_refuses_visitors_it_would_call_differently() -> None:
    class Leaves(cst.CSTVisitor):
        def leave_Call(self, node: cst.Call) -> None:
            pass

    class Whitespace(cst.CSTVisitor):
        def visit_Comma(self, node: cst.Comma) -> None:
            pass

    for visitor in (Leaves(), Whitespace()):
        with pytest.raises(TypeError):
            walk(cst.parse_module("f(a, b)"), visitor)


def _leaf_types(annotation: object) -> list[type]:
    if typing.get_origin(annotation) is None:
        return [annotation] if isinstance(annotation, type) and annotation is not type(None) else []
    return [t for a in typing.get_args(annotation) if a is not Ellipsis for t in _leaf_types(a)]


def test_inner_fields_are_the_fields_not_typed_as_trivia_only() -> None:
    """``_INNER`` drops exactly the fields whose annotation allows only whitespace/punctuation."""
    import libcst._nodes.expression as expression
    import libcst._nodes.statement as statement

    names = vars(cst) | vars(expression) | vars(statement)
    classes = {c.__name__: c for c in _subclasses(cst.CSTNode)}
    for name, fields in _FIELDS.items():
        if name not in classes:  # a node of a newer libcst (LazyImport is 1.9's); the floor is 1.8.4
            continue
        hints = typing.get_type_hints(classes[name], names)
        kept = []
        for field in fields:
            types = [t for t in _leaf_types(hints[field]) if t is not cst.MaybeSentinel]
            assert types, (name, field)
            if not all(issubclass(t, _TRIVIA) for t in types):
                kept.append(field)
        assert _INNER[name] == tuple(kept), name


def _subclasses(klass: type) -> list[type]:
    out = []
    for sub in klass.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out
