"""Statement shapes the classifier's idioms look for, read from a cell's libcst tree.

What: ``idiom_facts(module)`` walks the whole tree once (function and loop bodies included,
with ``cstwalk``: no node is rebuilt) and returns ``IdiomFacts``: literal values handed to
``predict``, ``.replace("Yes", 1)`` codes, ``.drop(columns=...)``, ``x = x / 255``, the
``df.loc[mask, "c"] = v`` family (encode, cap, fill, fix), frames filtered by a mask on
themselves, row slices, frames cut by masks, working copies, widget values, loops over literal
lists, and the name a cell's last bare expression shows.

Why here and not in the classifier: these are facts about code, and the tree already knows
them; the classifier used to find them with regular expressions over the source, which missed
multi-line statements, matched comments and strings, and cost a third of classify's time at
10,000 cells.

Example: ``df.loc[df["Sex"] == "male", "Sex"] = 0`` gives ``loc_encodes == ("Sex",)`` and
``loc_fixes``; ``X_train = X[:800]`` gives ``slices`` and ``mask_roots == (("X_train", "X"),)``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

import libcst as cst

from nbsplit.analyze_bindings import binding_of, text_bindings
from nbsplit.cstwalk import children, inner_children, walk
from nbsplit.model import NO_IDIOMS, Binding, IdiomFacts

__all__ = ["idiom_facts", "text_idiom_facts"]

_LOC = frozenset({"loc", "iloc", "at"})
_PREDICT = frozenset({"predict", "predict_proba"})
_MASK_METHODS = frozenset({"filter", "where", "query"})
_CAP_OPS = (cst.LessThan, cst.GreaterThan, cst.LessThanEqual, cst.GreaterThanEqual)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGITS = re.compile(r"-?\d+")
_BARE_EQUAL = re.compile(r"(?<![=!<>])=(?!=)")
_SLICE_NODES = (cst.Name, cst.Attribute, cst.Integer, cst.Float)
_SLICE_OPS = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide)


@lru_cache(maxsize=4096)
def idiom_facts(module: cst.Module) -> IdiomFacts:
    """The ``IdiomFacts`` of one parsed cell. Cached like ``analyze._parse``, whose trees identical
    cells share (a libcst node hashes by identity; the facts depend on the tree alone)."""
    v = _Visitor()
    walk(module, v)
    ends = _ends_showing(module)
    if not (v.found or ends):
        return NO_IDIOMS
    mask_roots: dict[str, str] = {}
    for name, root in v.mask_roots:
        mask_roots.setdefault(name, root)
    return IdiomFacts(
        predicts_literal=v.predicts_literal, replace_codes=v.replace_codes,
        drops_columns=v.drops_columns, rescaled=tuple(v.rescaled), loc_encodes=tuple(v.loc_encodes),
        loc_caps=v.loc_caps, loc_fills=v.loc_fills, loc_fixes=v.loc_fixes,
        row_filters=tuple(v.row_filters), slices=v.slices, mask_roots=tuple(mask_roots.items()),
        copies=frozenset(v.copies), widget_names=frozenset(v.widget_names),
        literal_loop_targets=frozenset(v.loop_targets), ends_showing=ends,
        bindings=tuple(v.bindings),
    )


class _Visitor(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False
        self.predicts_literal = self.replace_codes = self.drops_columns = False
        self.loc_caps = self.loc_fills = self.loc_fixes = self.slices = False
        self.rescaled: list[str] = []
        self.loc_encodes: list[str] = []
        self.row_filters: list[str] = []
        self.mask_roots: list[tuple[str, str]] = []
        self.copies: set[str] = set()
        self.widget_names: set[str] = set()
        self.loop_targets: set[str] = set()
        self.bindings: list[Binding] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is not cst.Attribute:
            return
        method = func.attr.value
        args = node.args
        if method in _PREDICT:
            if args and _typed_values(args[0]):
                self.predicts_literal = self.found = True
        elif method == "replace":
            if _replaces_with_code(args):
                self.replace_codes = self.found = True
        elif method == "drop":
            if args and (_kw(args[0]) == "columns" or any(
                    _kw(a) == "axis" and _axis_columns(a.value) for a in args)):
                self.drops_columns = self.found = True
            if args and _kw(args[0]) is None and type(args[0].value) is cst.Attribute \
                    and type(args[0].value.value) is cst.Name and args[0].value.attr.value.startswith("index"):
                self.slices = self.found = True  # df.drop(train.index): the rows left over
        elif method == "sample":
            self.slices = self.found = True

    def visit_Subscript(self, node: cst.Subscript) -> None:
        value = node.value
        if type(value) is cst.Attribute and value.attr.value == "iloc":
            self.slices = self.found = True
        elif len(node.slice) == 1 and type(node.slice[0].slice) is cst.Slice and _simple_bounds(node.slice[0].slice):
            self.slices = self.found = True

    def visit_For(self, node: cst.For) -> None:
        target, it = node.target, node.iter
        if type(target) is cst.Name and (type(it) in (cst.List, cst.ListComp, cst.GeneratorExp) or it.lpar
                                         or (type(it) is cst.Tuple and it.lpar)):
            self.loop_targets.add(target.value)
            self.found = True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node)

    def _bind(self, node: cst.Assign | cst.AnnAssign) -> None:
        found = binding_of(node)
        if found is not None:
            self.bindings.append(found)
            self.found = True

    def visit_Assign(self, node: cst.Assign) -> None:
        self._bind(node)
        targets, value = node.targets, node.value
        first = targets[0].target
        last = targets[-1].target
        if type(last) is cst.Name and _starts_with_widget(value):
            self.widget_names.add(last.value)
            self.found = True
        if type(first) is cst.Subscript:
            self._loc_target(first, value)
        if len(targets) != 1 or type(first) is not cst.Name:
            return
        name = first.value
        if type(value) is cst.Name or (type(value) is cst.Call and not value.args
                                       and type(value.func) is cst.Attribute and value.func.attr.value == "copy"
                                       and type(value.func.value) is cst.Name):
            self.copies.add(name)
            self.found = True
        spine = _spine(value)
        root = spine[-1]
        if type(root) is not cst.Name:
            return
        if root.value == name and sum(len(getattr(n, "lpar", ())) for n in spine) <= 1 \
                and _divides_by_scale(spine, name):
            self.rescaled.append(name)
            self.found = True
        if not any(getattr(n, "lpar", ()) for n in spine) and len(spine) >= 2:
            above = spine[-2]
            if type(above) is cst.Subscript or (
                    len(spine) >= 3 and type(above) is cst.Attribute
                    and ((above.attr.value == "loc" and type(spine[-3]) is cst.Subscript)
                         or (above.attr.value in _MASK_METHODS and type(spine[-3]) is cst.Call))):
                self.mask_roots.append((name, root.value))
                self.found = True
        filtered = _filters_itself(value, name)
        if filtered:
            self.row_filters.append(filtered)
            self.found = True

    def _loc_target(self, target: cst.Subscript, value: cst.BaseExpression) -> None:
        spine = _spine(target)
        root = spine[-1]
        if len(spine) >= 3 and type(root) is cst.Name and type(spine[-2]) is cst.Attribute \
                and spine[-2].attr.value in _LOC and type(spine[-3]) is cst.Subscript:
            self.loc_fixes = self.found = True
        if _has_loc(target) and _calls_isna(target):
            self.loc_fills = self.found = True
        if type(target.value) is not cst.Attribute or target.value.attr.value != "loc" \
                or type(target.value.value) is not cst.Name or len(target.slice) != 2 or not _is_number(value):
            return
        frame = target.value.value.value
        mask, col = target.slice[0].slice, target.slice[1].slice
        if type(mask) is not cst.Index or type(col) is not cst.Index:
            return
        column = _plain_string(col.value)
        cmp = mask.value
        if not column or type(cmp) is not cst.Comparison or len(cmp.comparisons) != 1 or len(cmp.lpar) > 1:
            return
        if _column_of(cmp.left, frame) != column:
            return
        op, right = cmp.comparisons[0].operator, cmp.comparisons[0].comparator
        if type(op) is cst.Equal and _plain_string(right) is not None:
            self.loc_encodes.append(column)
            self.found = True
        elif isinstance(op, _CAP_OPS) and _is_number(right):
            self.loc_caps = self.found = True


# --- shapes ------------------------------------------------------------------------------------
def _kw(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _dotted(node: cst.BaseExpression) -> str:
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        head = _dotted(node.value)
        return head + "." + node.attr.value if head else ""
    return ""


def _spine(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``node`` and its leftmost descendants down to the first token's node (``df`` of
    ``df["a"].sum() / 2``)."""
    out = [node]
    while True:
        t = type(node)
        if t is cst.BinaryOperation or t is cst.Comparison or t is cst.BooleanOperation:
            node = node.left  # type: ignore[attr-defined]
        elif t is cst.Attribute or t is cst.Subscript:
            node = node.value  # type: ignore[attr-defined]
        elif t is cst.Call:
            node = node.func  # type: ignore[attr-defined]
        else:
            return out
        out.append(node)


def _number_text(node: cst.BaseExpression) -> str | None:
    """``3``, ``-2.5`` as written (no parentheses), else None."""
    sign = ""
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus and not node.lpar:
        sign, node = "-", node.expression
    if type(node) in (cst.Integer, cst.Float) and not node.lpar and _NUMBER.fullmatch(node.value):  # type: ignore[attr-defined]
        return sign + node.value  # type: ignore[attr-defined]
    return None


def _is_number(node: cst.BaseExpression) -> bool:
    return _number_text(node) is not None


def _plain_string(node: cst.BaseExpression) -> str | None:
    """The text of a one-quote string literal without quotes or newlines inside, else None."""
    if type(node) is not cst.SimpleString or node.lpar:
        return None
    raw = node.value
    if raw[:1] not in ("'", '"') or raw[:3] in ("'''", '"""'):
        return None
    text = raw[1:-1]
    return None if "'" in text or '"' in text or "\n" in text else text


def _typed_values(arg: cst.Arg) -> bool:
    """``[[60, 1.5]]``, ``["a", 2]``, ``np.array([[-1, 2]])``: numbers or strings typed in."""
    if arg.keyword is not None or arg.star:
        return False
    value = arg.value
    if type(value) is cst.Call and _dotted(value.func) == "np.array" and value.args \
            and value.args[0].keyword is None and not value.args[0].star:
        value = value.args[0].value
    if type(value) is not cst.List or value.lpar or not value.elements:
        return False
    head = value.elements[0].value
    if type(head) is cst.List and not head.lpar:
        if not head.elements:
            return False
        head = head.elements[0].value
    if type(head) is cst.UnaryOperation and type(head.operator) is cst.Minus and not head.lpar:
        head = head.expression
    if type(head) in (cst.Integer, cst.Float, cst.Imaginary):
        return not head.lpar and head.value[:1].isdigit()  # type: ignore[attr-defined]
    if type(head) in (cst.SimpleString, cst.ConcatenatedString):
        first = head if type(head) is cst.SimpleString else head.left  # type: ignore[attr-defined]
        return not head.lpar and type(first) is cst.SimpleString and first.value[:1] in ("'", '"')
    return False


def _replaces_with_code(args: tuple[cst.Arg, ...]) -> bool:
    """``.replace("Yes", 1)``, ``.replace(False, 0)``, ``.replace(to_replace="S", value="1")``."""
    if len(args) < 2 or _kw(args[0]) not in (None, "to_replace") or _kw(args[1]) not in (None, "value"):
        return False
    if args[0].star or args[1].star:
        return False
    old, new = args[0].value, args[1].value
    if not (_plain_string(old) is not None or (type(old) is cst.Name and old.value in ("True", "False") and not old.lpar)):
        return False
    text = _plain_string(new)
    return _is_number(new) or (text is not None and _DIGITS.fullmatch(text) is not None)


def _axis_columns(node: cst.BaseExpression) -> bool:
    if type(node) is cst.Integer:
        return node.value.startswith("1")
    return _plain_string(node) == "columns"


def _simple_bounds(s: cst.Slice) -> bool:
    """``[a:b]`` whose bounds are names, numbers, attributes, one-argument calls and arithmetic
    (``X[:int(0.8 * len(X))]``), without a step."""
    if s.step is not None or s.second_colon is not cst.MaybeSentinel.DEFAULT:
        return False
    return all(b is None or _simple(b) for b in (s.lower, s.upper))


def _simple(node: cst.BaseExpression) -> bool:
    t = type(node)
    if t in _SLICE_NODES:
        return t is not cst.Attribute or _simple(node.value)  # type: ignore[attr-defined]
    if t is cst.BinaryOperation:
        return isinstance(node.operator, _SLICE_OPS) and _simple(node.left) and _simple(node.right)  # type: ignore[attr-defined]
    if t is cst.UnaryOperation:
        return type(node.operator) in (cst.Minus, cst.Plus) and _simple(node.expression)  # type: ignore[attr-defined]
    if t is cst.Call:
        args = node.args  # type: ignore[attr-defined]
        return _simple(node.func) and len(args) <= 1 and all(  # type: ignore[attr-defined]
            a.keyword is None and not a.star and _simple(a.value) for a in args)
    return False


def _divides_by_scale(spine: list[cst.BaseExpression], name: str) -> bool:
    """Along the value's leftmost chain: ``/ 255``, ``/ x.max()``, ``/ x.std()``, ``/ np.max(...)``
    (``x = x / 255``, ``x = (x - x.mean()) / x.std()``, ``X = X.values.reshape(-1, 1) / 255``)."""
    for node in spine:
        if type(node) is not cst.BinaryOperation or type(node.operator) not in (cst.Divide, cst.FloorDivide):
            continue
        right = node.right
        if type(right) in (cst.Integer, cst.Float) and not right.lpar and right.value[:1].isdigit():  # type: ignore[attr-defined]
            return True
        chain = _spine(right)
        head = _dotted(chain[-2]) if len(chain) >= 2 and type(chain[-2]) is cst.Attribute else ""
        parens = sum(len(getattr(n, "lpar", ())) for n in chain)
        if head and (parens == 0 and (head.startswith(f"{name}.max") or head.startswith("np.max"))
                     or parens <= 1 and head.startswith(f"{name}.std")):
            return True
    return False


def _starts_with_widget(value: cst.BaseExpression) -> bool:
    """``dbutils.widgets.get("x")`` (or ``dbutils.widgets.get("x") == "yes"``) starts the value."""
    for node in _spine(value):
        if getattr(node, "lpar", ()):
            return False
        if type(node) is cst.Call and _dotted(node.func) == "dbutils.widgets.get":
            return True
    return False


def _filters_itself(value: cst.BaseExpression, name: str) -> str | None:
    """``d2 = d[d.a > 0]`` / ``d = d[~(d["a"].isna())]`` -> "d"; ``d = d.drop(d[m].index)`` -> "d"."""
    chain = _spine(value)
    if len(chain) >= 2 and type(chain[-1]) is cst.Name and type(chain[-2]) is cst.Subscript \
            and not any(getattr(n, "lpar", ()) for n in chain):
        # d[mask], d[mask][col], d[mask].copy(): the value starts with the filtered frame
        frame = chain[-1].value  # type: ignore[attr-defined]
        index = chain[-2].slice[0].slice  # type: ignore[attr-defined]
        if type(index) is not cst.Index:
            return None
        key = index.value
        if type(key) is cst.UnaryOperation and type(key.operator) is cst.BitInvert and not key.lpar:
            key = key.expression
        spine = _spine(key)
        if len(spine) >= 2 and type(spine[-1]) is cst.Name and spine[-1].value == frame \
                and type(spine[-2]) in (cst.Subscript, cst.Attribute) \
                and sum(len(getattr(n, "lpar", ())) for n in spine) <= 1:
            return frame
        return None
    if type(value) is cst.Call and type(value.func) is cst.Attribute and value.func.attr.value == "drop" \
            and type(value.func.value) is cst.Name and value.func.value.value == name and value.args \
            and value.args[0].keyword is None:
        spine = _spine(value.args[0].value)
        if len(spine) >= 2 and type(spine[-1]) is cst.Name and spine[-1].value == name \
                and type(spine[-2]) is cst.Subscript and not any(getattr(n, "lpar", ()) for n in spine):
            return name
    return None


def _column_of(node: cst.BaseExpression, frame: str) -> str | None:
    """``frame["c"]`` / ``frame.c`` -> "c"."""
    if type(node) is cst.Subscript and type(node.value) is cst.Name and node.value.value == frame \
            and len(node.slice) == 1 and type(node.slice[0].slice) is cst.Index:
        return _plain_string(node.slice[0].slice.value)
    if type(node) is cst.Attribute and type(node.value) is cst.Name and node.value.value == frame:
        return node.attr.value
    return None


def _has_loc(target: cst.BaseExpression) -> bool:
    return any(type(n) is cst.Subscript and type(n.value) is cst.Attribute and n.value.attr.value in _LOC
               for n in _nodes(target))


def _calls_isna(target: cst.BaseExpression) -> bool:
    return any(type(n) is cst.Call and not n.args and type(n.func) is cst.Attribute
               and n.func.attr.value in ("isna", "isnull") for n in _nodes(target))


def _nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(_kids(n))
    return out


def _kids(node: cst.CSTNode) -> list[cst.CSTNode]:
    return inner_children(node)


def _ends_showing(module: cst.Module) -> str:
    """The leftmost name of the last top-level statement when that statement is a bare
    expression on one line with no ``=`` in it (``summary.head()``, not ``summary.plot(kind=
    "bar")``); else ""."""
    if not module.body:
        return ""
    last = module.body[-1]
    if type(last) is not cst.SimpleStatementLine or len(last.body) != 1:
        return ""
    stmt = last.body[0]
    if type(stmt) is not cst.Expr:
        return ""
    shown = stmt.value
    if type(shown) is cst.Tuple and not shown.lpar and shown.elements:
        shown = shown.elements[0].value  # ``low, mid``: the line starts with ``low``
    spine = _spine(shown)
    root = spine[-1]
    if type(root) is not cst.Name or any(getattr(n, "lpar", ()) for n in spine):
        return ""
    comment = last.trailing_whitespace.comment
    if comment is not None and _BARE_EQUAL.search(comment.value):
        return ""
    stack: list[cst.CSTNode] = [stmt.value]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is cst.AssignEqual or t is cst.NamedExpr or t is cst.ParenthesizedWhitespace \
                or t is cst.SimpleWhitespace and "\n" in n.value:  # type: ignore[attr-defined]
            return ""  # a keyword/default ``=``, a walrus, or a second line
        if (t is cst.SimpleString or t is cst.FormattedStringText or t is cst.Comment) \
                and _BARE_EQUAL.search(n.value):  # type: ignore[attr-defined]
            return ""  # the line shows an ``=`` (a bare expression's line has none)
        stack.extend(children(n))
    return root.value


# --- cells libcst cannot parse ------------------------------------------------------------------
# A cell that does not parse has regex-level facts (``analyze_text.fallback_facts``); its idiom
# facts come from the same kind of text patterns, the ones the classifier used before these facts
# were read from the tree, so such a cell is classified as it always was. Each pattern is linear
# in the text (tests/test_regex_linear.py).
_T_LITERAL_PREDICT = re.compile(r"\.(?:predict|predict_proba)\(\s*(?:np\.array\(\s*)?\[\s*\[?\s*-?[\d'\"]")
_T_REPLACE_CODE = re.compile(
    r"\.replace\(\s*(?:to_replace\s*=\s*)?(?:(['\"])[^'\"\n]*\1|True|False)\s*,\s*(?:value\s*=\s*)?"
    r"(?:-?\d+(?:\.\d+)?|(['\"])-?\d+\2)\s*[,)]"
)
_T_RESCALE = re.compile(r"^[ \t]*(\w+)\s*=\s*\(?\s*\1\b[^\n]*\)?\s*/\s*(?:\d|\1\.max|\(?\s*\1\.std|np\.max)", re.M)
_T_LOC_FIX = re.compile(r"^[ \t]*\w+\.(?:loc|iloc|at)\[[^\n]*\]\s*=(?!=)", re.M)
_T_LOC_OPEN = re.compile(r"\.(?:loc|iloc|at)\[")
_T_ISNA_CALL = re.compile(r"\.(?:isnull|isna)\(\)")
_T_ASSIGNED = re.compile(r"\s*+=(?!=)")
_T_LOC_CAP = re.compile(
    r"^[ \t]*(\w+)\.loc\[\s*\(?\s*\1\s*(?:\[\s*(['\"])(?P<a>[^'\"\n]+)\2\s*\]|\.(?P<b>\w+))\s*[<>]=?\s*"
    r"-?\d+(?:\.\d+)?\s*\)?\s*,\s*(['\"])(?P<c>[^'\"\n]+)\5\s*\]\s*=\s*-?\d+(?:\.\d+)?\s*(?:#[^\n]*)?$",
    re.M,
)
_T_LOC_ENCODE = re.compile(
    r"^[ \t]*(\w+)\.loc\[\s*\(?\s*\1\s*(?:\[\s*(['\"])(?P<a>[^'\"\n]+)\2\s*\]|\.(?P<b>\w+))\s*==\s*"
    r"(['\"])[^'\"\n]*\5\s*\)?\s*,\s*(['\"])(?P<c>[^'\"\n]+)\6\s*\]\s*=\s*-?\d+(?:\.\d+)?\s*(?:#[^\n]*)?$",
    re.M,
)
_T_ROW_FILTER = re.compile(
    r"^[ \t]*(\w+)\s*=\s*(\w+)\s*\[\s*~?\(?\s*\2\s*[\[.]|^[ \t]*(\w+)\s*=\s*\3\.drop\(\s*\3\s*\[", re.M
)
_T_DROP_OPEN = re.compile(r"\.drop\(")
_T_DROP_COLUMNS_KW = re.compile(r"\s*+columns\s*+=")
_T_AXIS_COLUMNS = re.compile(r"\baxis\s*+=\s*+(?:1|['\"]columns['\"])")
_T_SLICE = re.compile(r"\[\s*[\w.()+\-*/ ]*:\s*[\w.()+\-*/ ]*\]|\.iloc\[|\.sample\(|\.drop\(\s*\w+\.index")
_T_MASK_ROOT = re.compile(r"^[ \t]*(\w+)\s*=\s*(\w+)\s*(?:\[|\.loc\[|\.(?:filter|where|query)\()", re.M)
_T_COPY = re.compile(r"^[ \t]*(\w+)\s*=\s*\w+(?:\.copy\(\s*\))?\s*$", re.M)
_T_WIDGET = re.compile(r"\b(\w+)\s*=\s*dbutils\.widgets\.get\(")
_T_LOOP = re.compile(r"^[ \t]*for\s+(\w+)\s+in\s*[(\[]", re.M)
_T_HEAD = re.compile(r"[A-Za-z_]\w*")


def text_idiom_facts(source: str) -> IdiomFacts:
    """``IdiomFacts`` of a cell that does not parse, from its text."""
    flat = _join_brackets(source) if "\n" in source else source
    rescaled = _T_RESCALE.search(source)
    mask_roots: dict[str, str] = {}
    for m in _T_MASK_ROOT.finditer(source):
        mask_roots.setdefault(m.group(1), m.group(2))
    return IdiomFacts(
        predicts_literal=bool(_T_LITERAL_PREDICT.search(source)),
        replace_codes=bool(_T_REPLACE_CODE.search(source)),
        drops_columns=drops_by_column_text(source),
        rescaled=(rescaled.group(1),) if rescaled else (),
        loc_encodes=tuple(m.group("c") for m in _T_LOC_ENCODE.finditer(flat)
                          if (m.group("a") or m.group("b")) == m.group("c")),
        loc_caps=any((m.group("a") or m.group("b")) == m.group("c") for m in _T_LOC_CAP.finditer(flat)),
        loc_fills=fills_missing_text(flat),
        loc_fixes=bool(_T_LOC_FIX.search(flat)),
        row_filters=tuple(m.group(2) or m.group(3) for m in _T_ROW_FILTER.finditer(source)),
        slices=bool(_T_SLICE.search(source)),
        mask_roots=tuple(mask_roots.items()),
        copies=frozenset(m.group(1) for m in _T_COPY.finditer(source)),
        widget_names=frozenset(m.group(1) for m in _T_WIDGET.finditer(source)),
        literal_loop_targets=frozenset(_T_LOOP.findall(source)),
        ends_showing=_last_line_head(source),
        bindings=text_bindings(source),
    )


def _last_line_head(source: str) -> str:
    lines = [ln for ln in source.strip().split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or lines[-1].startswith((" ", "\t")):
        return ""
    last = lines[-1].strip()
    head = _T_HEAD.match(last)
    return head.group(0) if head and not _BARE_EQUAL.search(last) else ""


def fills_missing_text(text: str) -> bool:
    """A line with ``.loc[``/``.iloc[``/``.at[``, then ``.isna()``/``.isnull()``, then a ``]``
    followed by an assignment (``=``, not ``==``; the ``=`` may follow on a later line)."""
    if "isn" not in text:
        return False
    pos, n = 0, len(text)
    while pos <= n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        opener = _T_LOC_OPEN.search(text, pos, end)
        call = _T_ISNA_CALL.search(text, opener.end(), end) if opener else None
        if call is not None:
            bracket = text.find("]", call.end(), end)
            while bracket >= 0:
                if _T_ASSIGNED.match(text, bracket + 1):
                    return True
                bracket = text.find("]", bracket + 1, end)
        pos = end + 1
    return False


def drops_by_column_text(source: str) -> bool:
    """``df.drop(columns=...)`` or ``df.drop(..., axis=1)`` somewhere in ``source`` (checked
    occurrence by occurrence with cached positions: ``[^)]*`` restarted at every ``.drop(`` of a
    long line is quadratic)."""
    if ".drop(" not in source:
        return False
    axes = [m.start() for m in _T_AXIS_COLUMNS.finditer(source)]
    close = -1
    for m in _T_DROP_OPEN.finditer(source):
        if _T_DROP_COLUMNS_KW.match(source, m.end()):
            return True
        if close < m.end():
            close = source.find(")", m.end())
            if close < 0:
                close = len(source)
        i = bisect_left(axes, m.end())
        if i < len(axes) and axes[i] < close:
            return True
    return False


def _join_brackets(source: str) -> str:
    """Source with newlines inside brackets replaced by spaces (multi-line subscripts on one line)."""
    out: list[str] = []
    depth = 0
    quote = ""
    for ch in source:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "\n" and depth:
            ch = " "
        out.append(ch)
    return "".join(out)
