"""What each assignment of a cell binds, for the classifier's ``Context`` (``IdiomFacts.bindings``).

What: ``binding_of(node)`` reads one ``Assign``/``AnnAssign`` of a libcst tree and returns a
``Binding``: the plain names it binds and the shape of its value the classifier needs to tell
what those names hold (a model, a split, rows read from a file, predictions): the call the value
starts with and that call's first argument, the name it starts with, the calls and string
literals in it. ``text_bindings(source)`` gives the same facts from the text of a cell libcst
cannot parse, with the line patterns the classifier used before it read the tree.

Why a tree fact: the classifier found these with a regular expression over every source line
(``lhs = rhs`` on one line), which took keyword arguments and ``def f(x=...)`` lines for
assignments, bound ``df`` and ``col`` for ``df[col] = ...``, read only the first line of a value
that spans several, and saw calls inside comments and strings.

Example: ``X_tr, X_te = train_test_split(\\n    X, y)`` gives ``targets == ("X_tr", "X_te")``,
``callee == "train_test_split"``, ``first_arg == "X"``.
"""

from __future__ import annotations

import re

import libcst as cst

from nbsplit.cstwalk import inner_children
from nbsplit.model import Binding

__all__ = ["binding_of", "text_bindings", "callees"]

_BEST = ("best_estimator_", "bestModel")


def binding_of(node: cst.Assign | cst.AnnAssign) -> Binding | None:
    """The ``Binding`` of one assignment statement; None when it binds no plain name or (an
    annotation alone) assigns nothing."""
    value = node.value
    if value is None:
        return None
    targets: list[str] = []
    if type(node) is cst.AnnAssign:
        _names(node.target, targets)
    else:
        for t in node.targets:  # type: ignore[union-attr]
            _names(t.target, targets)
    if not targets:
        return None
    callee = first_arg = root = transformed = ""
    chain = _lead(value)
    if chain is not None:
        # the value starts with a name: ``name.attr...(`` is a call of a dotted name
        head = chain[0]
        root_name = head.value  # type: ignore[attr-defined]
        if len(chain) >= 2 and type(chain[1]) in (cst.Attribute, cst.Subscript):
            root = root_name
        dotted = [root_name]
        for n in chain[1:]:
            if type(n) is cst.Attribute:
                dotted.append(n.attr.value)  # type: ignore[attr-defined]
                continue
            if type(n) is cst.Call:
                callee = ".".join(dotted)
                first_arg = _first_arg(n)  # type: ignore[arg-type]
            break
    called: list[str] = []
    dotted_calls: list[str] = []
    strings: list[str] = []
    best = reads_file = False
    # every node of the value, a call taken where its "(" is: after its callee, before its
    # arguments (``a().transform(x).transform(y)``: the inner call's "(" comes first)
    stack: list[object] = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        n = pop()
        t = type(n)
        if t is cst.Call:
            args = list(n.args)  # type: ignore[attr-defined]
            args.reverse()
            extend(args)
            push(_Open(n))  # type: ignore[arg-type]
            push(n.func)  # type: ignore[attr-defined]
            continue
        if t is _Open:
            call = n.call  # type: ignore[attr-defined]
            func = call.func
            if type(func) is cst.Name:
                called.append(func.value)
            text = _call_text(func)
            if text:
                dotted_calls.append(text)
                last = text.rsplit(".", 1)[-1]
                if len(last) > 5 and last.startswith("read_"):
                    reads_file = True
            if type(func) is cst.Attribute:
                attr = func.attr.value
                if attr == "table" and _is_spark(func.value):
                    reads_file = True
                if not transformed and attr in ("transform", "fit_transform") and (
                        type(func.value) is cst.Call or getattr(func.value, "rpar", ())):
                    # ``StandardScaler().fit(X_te).transform(X_te)``: the rows it is handed
                    transformed = _first_arg(call)
            continue
        if t is cst.Attribute:
            attr = n.attr.value  # type: ignore[attr-defined]
            if attr.startswith(_BEST):
                best = True
            elif attr == "read" and _is_spark(n.value):  # type: ignore[attr-defined]
                reads_file = True
        elif t is cst.SimpleString:
            strings.append(_string_text(n.value))  # type: ignore[attr-defined]
        elif t is cst.FormattedString:
            strings.append("".join(p.value for p in n.parts  # type: ignore[attr-defined]
                                   if type(p) is cst.FormattedStringText))
        elif t is cst.Name or t is cst.Integer or t is cst.Float:
            continue  # nothing below
        kids = inner_children(n)  # type: ignore[arg-type]
        kids.reverse()
        extend(kids)
    return Binding(targets=tuple(targets), callee=callee, first_arg=first_arg, root=root,
                   called=tuple(called), callees=tuple(dotted_calls), transformed=transformed,
                   best=best, reads_file=reads_file, strings=tuple(s for s in strings if s))


def _names(target: cst.BaseExpression, out: list[str]) -> None:
    """Plain names bound by an assignment target (tuples and lists unpacked, ``*rest`` too);
    ``df[c] = ...`` and ``obj.a = ...`` change an object and bind no name."""
    t = type(target)
    if t is cst.Name:
        out.append(target.value)  # type: ignore[attr-defined]
    elif t is cst.Tuple or t is cst.List:
        for el in target.elements:  # type: ignore[attr-defined]
            _names(el.value, out)
    elif t is cst.StarredElement:
        _names(target.value, out)  # type: ignore[attr-defined]


def _lead(value: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The nodes from the value's first token up, when that token is a name not inside
    parentheses: [Name, its parent, ...] along the leftmost chain (``df`` of ``df["a"].sum() /
    2``, ``f`` of ``f(x), g(y)``); None when the value starts with anything else."""
    chain = [value]
    node = value
    while True:
        if getattr(node, "lpar", ()):
            return None  # the text starts with "("
        t = type(node)
        if t is cst.Name:
            chain.reverse()
            return chain
        if t is cst.BinaryOperation or t is cst.Comparison or t is cst.BooleanOperation:
            node = node.left  # type: ignore[attr-defined]
        elif t is cst.Attribute or t is cst.Subscript:
            node = node.value  # type: ignore[attr-defined]
        elif t is cst.Call:
            node = node.func  # type: ignore[attr-defined]
        elif t is cst.IfExp:
            node = node.body  # type: ignore[attr-defined]
        elif t is cst.Tuple and node.elements:  # type: ignore[attr-defined]
            node = node.elements[0].value  # type: ignore[attr-defined]
        else:
            return None
        chain.append(node)


def _first_arg(call: cst.Call) -> str:
    """The name a call's first argument starts with: ``X_test`` of ``predict(X_test.values)``,
    the keyword of ``f(x=1)``; "" for a literal, a starred or parenthesised argument."""
    if not call.args:
        return ""
    arg = call.args[0]
    if arg.keyword is not None:
        return arg.keyword.value
    if arg.star:
        return ""
    value = arg.value
    t = type(value)
    if t is cst.Lambda and not value.lpar:  # type: ignore[attr-defined]
        return "lambda"
    if t is cst.UnaryOperation and type(value.operator) is cst.Not and not value.lpar:  # type: ignore[attr-defined]
        return "not"
    chain = _lead(value)
    return chain[0].value if chain else ""  # type: ignore[attr-defined]


def _call_text(func: cst.BaseExpression) -> str:
    """The dotted run a call's text ends in before ``(``: ``pd.read_csv``; ``apply`` of
    ``df["a"].apply(``; "" for ``f()(``."""
    parts: list[str] = []
    node = func
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)  # type: ignore[attr-defined]
        if node.lpar:  # type: ignore[attr-defined]
            return ""
        node = node.value  # type: ignore[attr-defined]
    if type(node) is cst.Name and not node.lpar:  # type: ignore[attr-defined]
        parts.append(node.value)  # type: ignore[attr-defined]
    parts.reverse()
    return ".".join(parts)


def _is_spark(node: cst.BaseExpression) -> bool:
    """``spark`` or ``<something>.spark``."""
    return (type(node) is cst.Name and node.value == "spark") or (  # type: ignore[attr-defined]
        type(node) is cst.Attribute and node.attr.value == "spark")  # type: ignore[attr-defined]


def _string_text(raw: str) -> str:
    """A string literal's text between its quotes, as written."""
    start = 0
    while start < len(raw) and raw[start] not in "'\"":
        start += 1
    quote = raw[start:start + 3] if raw[start:start + 3] in ("'''", '"""') else raw[start]
    return raw[start + len(quote):len(raw) - len(quote)]


class _Open:
    """Where a call's "(" stands in the walk over a value."""

    __slots__ = ("call",)

    def __init__(self, call: cst.Call) -> None:
        self.call = call


# --- cells libcst cannot parse ------------------------------------------------------------------
# The line patterns the classifier's Context read every cell with before the tree gave these
# facts; each is linear in the text (tests/test_regex_linear.py).
_ASSIGN = re.compile(
    r"^[ \t]*(?P<lhs>[A-Za-z_(\[][\w \t,()\[\]]*?)[ \t]*=(?!=)[ \t]*(?P<rhs>[^\n]+)$", re.M
)
_CALLEE = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_ROOT = re.compile(r"([A-Za-z_]\w*)\s*[\[.]")
_FIRST_ARG = re.compile(r"\s*([A-Za-z_]\w*)")
_READ_CALL = re.compile(r"\bread_\w+\(|\bspark\.read\b|\bspark\.table\(")
_CHAINED_TRANSFORM = re.compile(r"\)\s*\.(?:fit_)?transform\(\s*([A-Za-z_]\w*)")
_CALLED_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_QUOTED = re.compile(r"['\"]([^'\"\n]+)['\"]")
_TARGET_SPLIT = re.compile(r"[,()\[\] \t]+")


def text_bindings(source: str) -> tuple[Binding, ...]:
    """The ``Binding`` of every ``lhs = rhs`` line of a cell that does not parse."""
    if "=" not in source:
        return ()
    found: list[Binding] = []
    for m in _ASSIGN.finditer(source):
        targets = tuple(t for t in _TARGET_SPLIT.split(m.group("lhs")) if t.isidentifier())
        if not targets:
            continue
        rhs = m.group("rhs").strip()
        callee = first_arg = ""
        call = _CALLEE.match(rhs)
        if call is not None:
            callee = call.group(1)
            arg = _FIRST_ARG.match(rhs, call.end())
            first_arg = arg.group(1) if arg else ""
        root = _ROOT.match(rhs)
        chained = _CHAINED_TRANSFORM.search(rhs)
        found.append(Binding(
            targets=targets, callee=callee, first_arg=first_arg, root=root.group(1) if root else "",
            called=tuple(_CALLED_NAME.findall(rhs)), callees=tuple(callees(rhs)),
            transformed=chained.group(1) if chained else "",
            best=".best_estimator_" in rhs or ".bestModel" in rhs,
            reads_file=_READ_CALL.search(rhs) is not None, strings=tuple(_QUOTED.findall(rhs))))
    return tuple(found)


_NAME_RUN = re.compile(r"[\w.]++")
_OPEN_CALL = re.compile(r"\s*+\(")
_FIRST_NAME_CHAR = re.compile(r"[A-Za-z_]")


def callees(text: str) -> list[str]:
    r"""``([A-Za-z_][\w.]*)\s*\(`` found all over ``text``, in linear time: the regex restarts
    inside every ``[\w.]`` run and rescans it, quadratic on one long run. A run can only be a
    callee from its first letter or underscore, and only if ``(`` follows the whole run."""
    found: list[str] = []
    pos = 0
    while True:
        m = _NAME_RUN.search(text, pos)
        if m is None:
            return found
        pos = m.end()
        first = _FIRST_NAME_CHAR.search(m.group())
        if first is None:
            continue
        call = _OPEN_CALL.match(text, pos)
        if call is not None:
            found.append(m.group()[first.start():])
            pos = call.end()
