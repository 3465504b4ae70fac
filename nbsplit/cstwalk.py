"""Read-only walks over libcst trees that do not rebuild them.

libcst's ``node.visit(visitor)`` and ``node.children`` go through ``_visit_and_replace_children``,
which constructs (and validates) a new copy of every node they pass: most of the time of a walk
over a cell. ``children`` below gives the same list as ``node.children`` (same nodes, lexical
order) by reading the fields each node type's ``_visit_and_replace_children`` visits, in the
order it visits them (``_FIELDS``, read from libcst 1.x's source; tests/test_cstwalk.py compares
both on every node of the project's notebooks, so a libcst that changes the order fails there).
A node type missing from the table falls back to libcst's own ``children``.

``inner_children`` and ``walk`` skip whitespace, comments and punctuation (``_TRIVIA``): no name,
call or string is below them, and they are most of a tree's nodes. ``_INNER`` lists the fields
that can hold something else (the fields whose annotation is not only trivia types, read from
libcst's annotations; ``ImportFrom.names`` may be ``ImportStar``, which is skipped).
"""

from __future__ import annotations

from typing import Any

import nbsplit.fastimport  # noqa: F401  (imports libcst with its dataclass code cached)
import libcst as cst

CSTNode = cst.CSTNode
_DEFAULT = cst.MaybeSentinel.DEFAULT
_STAR = cst.ImportStar

# Visited fields per node type, in visiting (lexical) order.
_FIELDS: dict[str, tuple[str, ...]] = {
    "Add": ("whitespace_before", "whitespace_after"),
    "AddAssign": ("whitespace_before", "whitespace_after"),
    "And": ("whitespace_before", "whitespace_after"),
    "AnnAssign": ("target", "annotation", "equal", "value", "semicolon"),
    "Annotation": ("whitespace_before_indicator", "whitespace_after_indicator", "annotation"),
    "Arg": ("whitespace_after_star", "keyword", "equal", "value", "comma", "whitespace_after_arg"),
    "AsName": ("whitespace_before_as", "name", "whitespace_after_as"),
    "Assert": ("whitespace_after_assert", "test", "comma", "msg", "semicolon"),
    "Assign": ("targets", "value", "semicolon"),
    "AssignEqual": ("whitespace_before", "whitespace_after"),
    "AssignTarget": ("target", "whitespace_before_equal", "whitespace_after_equal"),
    "Asynchronous": ("whitespace_after",),
    "Attribute": ("lpar", "value", "dot", "attr", "rpar"),
    "AugAssign": ("target", "operator", "value", "semicolon"),
    "Await": ("lpar", "whitespace_after_await", "expression", "rpar"),
    "BaseValueToken": (),
    "BinaryOperation": ("lpar", "left", "operator", "right", "rpar"),
    "BitAnd": ("whitespace_before", "whitespace_after"),
    "BitAndAssign": ("whitespace_before", "whitespace_after"),
    "BitInvert": ("whitespace_after",),
    "BitOr": ("whitespace_before", "whitespace_after"),
    "BitOrAssign": ("whitespace_before", "whitespace_after"),
    "BitXor": ("whitespace_before", "whitespace_after"),
    "BitXorAssign": ("whitespace_before", "whitespace_after"),
    "BooleanOperation": ("lpar", "left", "operator", "right", "rpar"),
    "Break": ("semicolon",),
    "Call": ("lpar", "func", "whitespace_after_func", "whitespace_before_args", "args", "rpar"),
    "ClassDef": ("leading_lines", "decorators", "lines_after_decorators", "whitespace_after_class", "name", "whitespace_after_name", "type_parameters", "whitespace_after_type_parameters", "lpar", "bases", "keywords", "rpar", "whitespace_before_colon", "body"),
    "Colon": ("whitespace_before", "whitespace_after"),
    "Comma": ("whitespace_before", "whitespace_after"),
    "Comment": (),
    "CompFor": ("whitespace_before", "asynchronous", "whitespace_after_for", "target", "whitespace_before_in", "whitespace_after_in", "iter", "ifs", "inner_for_in"),
    "CompIf": ("whitespace_before", "whitespace_before_test", "test"),
    "Comparison": ("lpar", "left", "comparisons", "rpar"),
    "ComparisonTarget": ("operator", "comparator"),
    "ConcatenatedString": ("lpar", "left", "whitespace_between", "right", "rpar"),
    "Continue": ("semicolon",),
    "Decorator": ("leading_lines", "whitespace_after_at", "decorator", "trailing_whitespace"),
    "Del": ("target", "whitespace_after_del", "semicolon"),
    "Dict": ("lpar", "lbrace", "elements", "rbrace", "rpar"),
    "DictComp": ("lpar", "lbrace", "key", "whitespace_before_colon", "whitespace_after_colon", "value", "for_in", "rbrace", "rpar"),
    "DictElement": ("key", "whitespace_before_colon", "whitespace_after_colon", "value", "comma"),
    "Divide": ("whitespace_before", "whitespace_after"),
    "DivideAssign": ("whitespace_before", "whitespace_after"),
    "Dot": ("whitespace_before", "whitespace_after"),
    "Element": ("value", "comma"),
    "Ellipsis": ("lpar", "rpar"),
    "Else": ("leading_lines", "whitespace_before_colon", "body"),
    "EmptyLine": ("whitespace", "comment", "newline"),
    "Equal": ("whitespace_before", "whitespace_after"),
    "ExceptHandler": ("leading_lines", "whitespace_after_except", "type", "name", "whitespace_before_colon", "body"),
    "ExceptStarHandler": ("leading_lines", "whitespace_after_except", "whitespace_after_star", "type", "name", "whitespace_before_colon", "body"),
    "Expr": ("value", "semicolon"),
    "Finally": ("leading_lines", "whitespace_before_colon", "body"),
    "Float": ("lpar", "rpar"),
    "FloorDivide": ("whitespace_before", "whitespace_after"),
    "FloorDivideAssign": ("whitespace_before", "whitespace_after"),
    "For": ("leading_lines", "asynchronous", "whitespace_after_for", "target", "whitespace_before_in", "whitespace_after_in", "iter", "whitespace_before_colon", "body", "orelse"),
    "FormattedString": ("lpar", "parts", "rpar"),
    "FormattedStringExpression": ("whitespace_before_expression", "expression", "equal", "whitespace_after_expression", "format_spec"),
    "FormattedStringText": (),
    "From": ("whitespace_before_from", "whitespace_after_from", "item"),
    "FunctionDef": ("leading_lines", "decorators", "lines_after_decorators", "asynchronous", "whitespace_after_def", "name", "whitespace_after_name", "type_parameters", "whitespace_after_type_parameters", "whitespace_before_params", "params", "returns", "whitespace_before_colon", "body"),
    "GeneratorExp": ("lpar", "elt", "for_in", "rpar"),
    "Global": ("whitespace_after_global", "names", "semicolon"),
    "GreaterThan": ("whitespace_before", "whitespace_after"),
    "GreaterThanEqual": ("whitespace_before", "whitespace_after"),
    "If": ("leading_lines", "whitespace_before_test", "test", "whitespace_after_test", "body", "orelse"),
    "IfExp": ("lpar", "body", "whitespace_before_if", "whitespace_after_if", "test", "whitespace_before_else", "whitespace_after_else", "orelse", "rpar"),
    "Imaginary": ("lpar", "rpar"),
    "Import": ("whitespace_after_import", "names", "semicolon"),
    "ImportAlias": ("name", "asname", "comma"),
    "ImportFrom": ("whitespace_after_from", "relative", "module", "whitespace_before_import", "whitespace_after_import", "lpar", "names", "rpar", "semicolon"),
    "ImportStar": (),
    "In": ("whitespace_before", "whitespace_after"),
    "IndentedBlock": ("header", "body", "footer"),
    "Index": ("whitespace_after_star", "value"),
    "Integer": ("lpar", "rpar"),
    "Is": ("whitespace_before", "whitespace_after"),
    "IsNot": ("whitespace_before", "whitespace_between", "whitespace_after"),
    "Lambda": ("lpar", "whitespace_after_lambda", "params", "colon", "body", "rpar"),
    "LazyImport": ("whitespace_after_lazy", "whitespace_after_import", "names", "semicolon"),
    "LazyImportFrom": ("whitespace_after_lazy", "whitespace_after_from", "relative", "module", "whitespace_before_import", "whitespace_after_import", "lpar", "names", "rpar", "semicolon"),
    "LeftCurlyBrace": ("whitespace_after",),
    "LeftParen": ("whitespace_after",),
    "LeftShift": ("whitespace_before", "whitespace_after"),
    "LeftShiftAssign": ("whitespace_before", "whitespace_after"),
    "LeftSquareBracket": ("whitespace_after",),
    "LessThan": ("whitespace_before", "whitespace_after"),
    "LessThanEqual": ("whitespace_before", "whitespace_after"),
    "List": ("lpar", "lbracket", "elements", "rbracket", "rpar"),
    "ListComp": ("lpar", "lbracket", "elt", "for_in", "rbracket", "rpar"),
    "Match": ("leading_lines", "whitespace_after_match", "subject", "whitespace_before_colon", "whitespace_after_colon", "cases", "footer"),
    "MatchAs": ("lpar", "pattern", "whitespace_before_as", "whitespace_after_as", "name", "rpar"),
    "MatchCase": ("leading_lines", "whitespace_after_case", "pattern", "whitespace_before_if", "whitespace_after_if", "guard", "whitespace_before_colon", "body"),
    "MatchClass": ("lpar", "cls", "whitespace_after_cls", "whitespace_before_patterns", "patterns", "kwds", "whitespace_after_kwds", "rpar"),
    "MatchKeywordElement": ("key", "whitespace_before_equal", "whitespace_after_equal", "pattern", "comma"),
    "MatchList": ("lpar", "lbracket", "patterns", "rbracket", "rpar"),
    "MatchMapping": ("lpar", "lbrace", "elements", "whitespace_before_rest", "rest", "trailing_comma", "rbrace", "rpar"),
    "MatchMappingElement": ("key", "whitespace_before_colon", "whitespace_after_colon", "pattern", "comma"),
    "MatchOr": ("lpar", "patterns", "rpar"),
    "MatchOrElement": ("pattern", "separator"),
    "MatchSequenceElement": ("value", "comma"),
    "MatchSingleton": ("value",),
    "MatchStar": ("whitespace_before_name", "name", "comma"),
    "MatchTuple": ("lpar", "patterns", "rpar"),
    "MatchValue": ("value",),
    "MatrixMultiply": ("whitespace_before", "whitespace_after"),
    "MatrixMultiplyAssign": ("whitespace_before", "whitespace_after"),
    "Minus": ("whitespace_after",),
    "Module": ("header", "body", "footer"),
    "Modulo": ("whitespace_before", "whitespace_after"),
    "ModuloAssign": ("whitespace_before", "whitespace_after"),
    "Multiply": ("whitespace_before", "whitespace_after"),
    "MultiplyAssign": ("whitespace_before", "whitespace_after"),
    "Name": ("lpar", "rpar"),
    "NameItem": ("name", "comma"),
    "NamedExpr": ("lpar", "target", "whitespace_before_walrus", "whitespace_after_walrus", "value", "rpar"),
    "Newline": (),
    "Nonlocal": ("whitespace_after_nonlocal", "names", "semicolon"),
    "Not": ("whitespace_after",),
    "NotEqual": ("whitespace_before", "whitespace_after"),
    "NotIn": ("whitespace_before", "whitespace_between", "whitespace_after"),
    "Or": ("whitespace_before", "whitespace_after"),
    "Param": ("whitespace_after_star", "name", "annotation", "equal", "default", "comma", "whitespace_after_param"),
    "ParamSlash": ("comma", "whitespace_after"),
    "ParamSpec": ("name", "whitespace_after_star"),
    "ParamStar": ("comma",),
    "Parameters": ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "ParenthesizedWhitespace": ("first_line", "empty_lines", "last_line"),
    "Pass": ("semicolon",),
    "Plus": ("whitespace_after",),
    "Power": ("whitespace_before", "whitespace_after"),
    "PowerAssign": ("whitespace_before", "whitespace_after"),
    "Raise": ("whitespace_after_raise", "exc", "cause", "semicolon"),
    "Return": ("whitespace_after_return", "value", "semicolon"),
    "RightCurlyBrace": ("whitespace_before",),
    "RightParen": ("whitespace_before",),
    "RightShift": ("whitespace_before", "whitespace_after"),
    "RightShiftAssign": ("whitespace_before", "whitespace_after"),
    "RightSquareBracket": ("whitespace_before",),
    "Semicolon": ("whitespace_before", "whitespace_after"),
    "Set": ("lpar", "lbrace", "elements", "rbrace", "rpar"),
    "SetComp": ("lpar", "lbrace", "elt", "for_in", "rbrace", "rpar"),
    "SimpleStatementLine": ("leading_lines", "body", "trailing_whitespace"),
    "SimpleStatementSuite": ("leading_whitespace", "body", "trailing_whitespace"),
    "SimpleString": ("lpar", "rpar"),
    "SimpleWhitespace": (),
    "Slice": ("lower", "first_colon", "upper", "second_colon", "step"),
    "StarredDictComp": ("lpar", "lbrace", "whitespace_before_value", "value", "for_in", "rbrace", "rpar"),
    "StarredDictElement": ("whitespace_before_value", "value", "comma"),
    "StarredElement": ("lpar", "whitespace_before_value", "value", "rpar", "comma"),
    "Subscript": ("lpar", "value", "whitespace_after_value", "lbracket", "slice", "rbracket", "rpar"),
    "SubscriptElement": ("slice", "comma"),
    "Subtract": ("whitespace_before", "whitespace_after"),
    "SubtractAssign": ("whitespace_before", "whitespace_after"),
    "TemplatedString": ("lpar", "parts", "rpar"),
    "TemplatedStringExpression": ("whitespace_before_expression", "expression", "equal", "whitespace_after_expression", "format_spec"),
    "TemplatedStringText": (),
    "TrailingWhitespace": ("whitespace", "comment", "newline"),
    "Try": ("leading_lines", "whitespace_before_colon", "body", "handlers", "orelse", "finalbody"),
    "TryStar": ("leading_lines", "whitespace_before_colon", "body", "handlers", "orelse", "finalbody"),
    "Tuple": ("lpar", "elements", "rpar"),
    "TypeAlias": ("whitespace_after_type", "name", "whitespace_after_name", "type_parameters", "whitespace_after_type_parameters", "whitespace_after_equals", "value", "semicolon"),
    "TypeParam": ("param", "equal", "whitespace_after_star", "default", "comma"),
    "TypeParameters": ("lbracket", "params", "rbracket"),
    "TypeVar": ("name", "colon", "bound"),
    "TypeVarTuple": ("name", "whitespace_after_star"),
    "UnaryOperation": ("lpar", "operator", "expression", "rpar"),
    "While": ("leading_lines", "whitespace_after_while", "test", "whitespace_before_colon", "body", "orelse"),
    "With": ("leading_lines", "asynchronous", "whitespace_after_with", "lpar", "items", "rpar", "whitespace_before_colon", "body"),
    "WithItem": ("item", "asname", "comma"),
    "Yield": ("lpar", "whitespace_after_yield", "value", "rpar"),
}

# Whitespace, comments and punctuation: nothing below them is a name, call or string.
_TRIVIA = (cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.TrailingWhitespace, cst.Newline,
           cst.Comment, cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
           cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.Comma, cst.Dot, cst.BaseBinaryOp,
           cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp, cst.AssignEqual,
           cst.Colon, cst.Semicolon, cst.ImportStar)

# Visited fields that may hold something other than trivia, in visiting order.
_INNER: dict[str, tuple[str, ...]] = {
    "Add": (),
    "AddAssign": (),
    "And": (),
    "AnnAssign": ("target", "annotation", "value"),
    "Annotation": ("annotation",),
    "Arg": ("keyword", "value"),
    "AsName": ("name",),
    "Assert": ("test", "msg"),
    "Assign": ("targets", "value"),
    "AssignEqual": (),
    "AssignTarget": ("target",),
    "Asynchronous": (),
    "Attribute": ("value", "attr"),
    "AugAssign": ("target", "value"),
    "Await": ("expression",),
    "BaseValueToken": (),
    "BinaryOperation": ("left", "right"),
    "BitAnd": (),
    "BitAndAssign": (),
    "BitInvert": (),
    "BitOr": (),
    "BitOrAssign": (),
    "BitXor": (),
    "BitXorAssign": (),
    "BooleanOperation": ("left", "right"),
    "Break": (),
    "Call": ("func", "args"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "Colon": (),
    "Comma": (),
    "Comment": (),
    "CompFor": ("asynchronous", "target", "iter", "ifs", "inner_for_in"),
    "CompIf": ("test",),
    "Comparison": ("left", "comparisons"),
    "ComparisonTarget": ("comparator",),
    "ConcatenatedString": ("left", "right"),
    "Continue": (),
    "Decorator": ("decorator",),
    "Del": ("target",),
    "Dict": ("elements",),
    "DictComp": ("key", "value", "for_in"),
    "DictElement": ("key", "value"),
    "Divide": (),
    "DivideAssign": (),
    "Dot": (),
    "Element": ("value",),
    "Ellipsis": (),
    "Else": ("body",),
    "EmptyLine": (),
    "Equal": (),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "Expr": ("value",),
    "Finally": ("body",),
    "Float": (),
    "FloorDivide": (),
    "FloorDivideAssign": (),
    "For": ("asynchronous", "target", "iter", "body", "orelse"),
    "FormattedString": ("parts",),
    "FormattedStringExpression": ("expression", "format_spec"),
    "FormattedStringText": (),
    "From": ("item",),
    "FunctionDef": ("decorators", "asynchronous", "name", "type_parameters", "params", "returns", "body"),
    "GeneratorExp": ("elt", "for_in"),
    "Global": ("names",),
    "GreaterThan": (),
    "GreaterThanEqual": (),
    "If": ("test", "body", "orelse"),
    "IfExp": ("body", "test", "orelse"),
    "Imaginary": (),
    "Import": ("names",),
    "ImportAlias": ("name", "asname"),
    "ImportFrom": ("module", "names"),
    "ImportStar": (),
    "In": (),
    "IndentedBlock": ("body",),
    "Index": ("value",),
    "Integer": (),
    "Is": (),
    "IsNot": (),
    "Lambda": ("params", "body"),
    "LazyImport": ("names",),
    "LazyImportFrom": ("module", "names"),
    "LeftCurlyBrace": (),
    "LeftParen": (),
    "LeftShift": (),
    "LeftShiftAssign": (),
    "LeftSquareBracket": (),
    "LessThan": (),
    "LessThanEqual": (),
    "List": ("elements",),
    "ListComp": ("elt", "for_in"),
    "Match": ("subject", "cases"),
    "MatchAs": ("pattern", "name"),
    "MatchCase": ("pattern", "guard", "body"),
    "MatchClass": ("cls", "patterns", "kwds"),
    "MatchKeywordElement": ("key", "pattern"),
    "MatchList": ("patterns",),
    "MatchMapping": ("elements", "rest"),
    "MatchMappingElement": ("key", "pattern"),
    "MatchOr": ("patterns",),
    "MatchOrElement": ("pattern",),
    "MatchSequenceElement": ("value",),
    "MatchSingleton": ("value",),
    "MatchStar": ("name",),
    "MatchTuple": ("patterns",),
    "MatchValue": ("value",),
    "MatrixMultiply": (),
    "MatrixMultiplyAssign": (),
    "Minus": (),
    "Module": ("body",),
    "Modulo": (),
    "ModuloAssign": (),
    "Multiply": (),
    "MultiplyAssign": (),
    "Name": (),
    "NameItem": ("name",),
    "NamedExpr": ("target", "value"),
    "Newline": (),
    "Nonlocal": ("names",),
    "Not": (),
    "NotEqual": (),
    "NotIn": (),
    "Or": (),
    "Param": ("name", "annotation", "default"),
    "ParamSlash": (),
    "ParamSpec": ("name",),
    "ParamStar": (),
    "Parameters": ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "ParenthesizedWhitespace": (),
    "Pass": (),
    "Plus": (),
    "Power": (),
    "PowerAssign": (),
    "Raise": ("exc", "cause"),
    "Return": ("value",),
    "RightCurlyBrace": (),
    "RightParen": (),
    "RightShift": (),
    "RightShiftAssign": (),
    "RightSquareBracket": (),
    "Semicolon": (),
    "Set": ("elements",),
    "SetComp": ("elt", "for_in"),
    "SimpleStatementLine": ("body",),
    "SimpleStatementSuite": ("body",),
    "SimpleString": (),
    "SimpleWhitespace": (),
    "Slice": ("lower", "upper", "step"),
    "StarredDictComp": ("value", "for_in"),
    "StarredDictElement": ("value",),
    "StarredElement": ("value",),
    "Subscript": ("value", "slice"),
    "SubscriptElement": ("slice",),
    "Subtract": (),
    "SubtractAssign": (),
    "TemplatedString": ("parts",),
    "TemplatedStringExpression": ("expression", "format_spec"),
    "TemplatedStringText": (),
    "TrailingWhitespace": (),
    "Try": ("body", "handlers", "orelse", "finalbody"),
    "TryStar": ("body", "handlers", "orelse", "finalbody"),
    "Tuple": ("elements",),
    "TypeAlias": ("name", "type_parameters", "value"),
    "TypeParam": ("param", "default"),
    "TypeParameters": ("params",),
    "TypeVar": ("name", "bound"),
    "TypeVarTuple": ("name",),
    "UnaryOperation": ("expression",),
    "While": ("test", "body", "orelse"),
    "With": ("asynchronous", "items", "body"),
    "WithItem": ("item", "asname"),
    "Yield": ("value",),
}

# type -> (fields, inner fields) or None for libcst's own ``children``
_INFO: dict[type, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
_TRIVIAL: dict[type, bool] = {}


def _info(t: type) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    try:
        return _INFO[t]
    except KeyError:
        name = t.__name__
        found = _INFO[t] = (_FIELDS[name], _INNER[name]) \
            if t.__module__.startswith("libcst.") and name in _FIELDS else None
        return found


def _trivial(t: type) -> bool:
    try:
        return _TRIVIAL[t]
    except KeyError:
        found = _TRIVIAL[t] = issubclass(t, _TRIVIA)
        return found


def children(node: CSTNode) -> list[CSTNode]:
    """``node.children`` without rebuilding ``node``: the same nodes in the same order."""
    info = _info(type(node))
    if info is None:
        return list(node.children)
    out: list[CSTNode] = []
    for name in info[0]:
        value = getattr(node, name)
        t = type(value)
        if t is tuple or t is list:
            out.extend(value)
        elif value is not None and value is not _DEFAULT:  # None and MaybeSentinel: not visited
            out.append(value)
    return out


def inner_children(node: CSTNode) -> list[CSTNode]:
    """``children(node)`` without whitespace, comments and punctuation (``_TRIVIA``)."""
    info = _info(type(node))
    if info is None:
        return [c for c in node.children if not _trivial(type(c))]
    out: list[CSTNode] = []
    for name in info[1]:
        value = getattr(node, name)
        t = type(value)
        if t is tuple or t is list:
            out.extend(value)
        elif value is not None and value is not _DEFAULT and t is not _STAR:
            out.append(value)
    return out


# visitor class -> node type -> its ``visit_<Type>`` function (or None)
_DISPATCH: dict[type, dict[type, Any]] = {}


def walk(node: CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a visitor with ``visit_<Type>`` methods only (no ``leave_``,
    none for whitespace or punctuation): the same calls in the same order, depth first, children
    skipped when a ``visit_`` method returns False."""
    vt = type(visitor)
    table = _DISPATCH.get(vt)
    if table is None:
        _check_visitor(vt)
        table = _DISPATCH[vt] = {}
    stack = [node]
    pop = stack.pop
    while stack:
        current = pop()
        t = type(current)
        try:
            method = table[t]
        except KeyError:
            method = getattr(vt, f"visit_{t.__name__}", None)
            if method is getattr(cst.CSTVisitor, f"visit_{t.__name__}", None):
                method = None  # CSTVisitor's own no-op
            table[t] = method
        if method is not None and method(visitor, current) is False:
            continue
        kids = inner_children(current)
        kids.reverse()
        stack.extend(kids)


def _check_visitor(vt: type) -> None:
    """Refuse a visitor ``walk`` would not call as libcst does."""
    for klass in vt.__mro__:
        if klass is cst.CSTVisitor:
            break
        for name in vars(klass):
            if name.startswith("leave_") or (name.startswith("visit_") and name[6:] not in _FIELDS):
                raise TypeError(f"{vt.__name__}.{name}: walk() calls visit_<Type> methods only")
            if name.startswith("visit_") and issubclass(getattr(cst, name[6:], object), _TRIVIA):
                raise TypeError(f"{vt.__name__}.{name}: walk() skips whitespace and punctuation")
