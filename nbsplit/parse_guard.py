"""A cheap estimate of how deep libcst's parser will recurse on a cell, made before parsing.

libcst's native (Rust, recursive-descent) parser has no recursion limit of its own: about 1,270
nested brackets, or a few thousand chained ``+``/``.attr``/``()``/``[0]``/``not``/``elif``
items in one expression, overflow the C stack and kill the whole process with SIGSEGV, which no
``except`` can catch. Long chains are also super-linear there (2,000 chained subscripts take
15 s). So the cell is measured first, by a scan that is linear, iterative and never raises, and
a cell over the budget is analysed from text instead (``fallback_facts``).

The measure is an upper bound of the parser's nesting along any path: every open bracket costs
``BRACKET_COST`` plus the chain it continues, and every operator, dot, trailer, keyword operator
or adjacent string literal lengthens the chain of its bracket level until a ``,``/``;``/``=`` or a
logical line ends it (those are iterated by the parser, not recursed). Indentation needs no
count: the tokenizer refuses more than 100 levels before the parser starts.

Measured crash points (Python 3.11, libcst 1.x, 8 MB main-thread stack; bisected in child
processes): parentheses 1,262, chained attributes 5,859, chained ``+`` 6,953, unary minus 8,140,
``lambda`` 3,437, calls/subscripts/``not``/``if-else``/``**``/``elif`` between 3,000 and 10,000,
brackets inside an f-string between 1,000 and 3,000. ``BUDGET`` lets through at most 166 nested
brackets or about 500 chained items (250 conditional expressions), a 4x-7x margin to those
points that also keeps libcst's super-linear chains under half a second; real notebook cells
score under 30 (``tests/test_parse_guard.py``).
"""

from __future__ import annotations

import ast
from functools import lru_cache

import re

__all__ = ["BUDGET", "BRACKET_COST", "parse_cost", "too_deep"]

BUDGET = 500
BRACKET_COST = 2

_KEYWORD_OPS = frozenset({"not", "and", "or", "if", "else", "elif", "lambda", "in", "is", "for",
                          "await"})

# Every alternative starts with a distinct character class or literal and has no nested
# quantifier, so a search is linear in the text it skips.
_TOKEN = re.compile(
    r"""(?P<s>(?:[rRbBuUfF]{1,2})?(?:'''|\"\"\"|'|"))"""
    r"|(?P<w>[A-Za-z_]\w*)"
    r"|(?P<n>\d[\w.]*)"
    r"|(?P<c>\#[^\n]*)"
    r"|(?P<o>[(\[{])"
    r"|(?P<x>[)\]}])"
    r"|(?P<nl>\\\r?\n|\n)"
    r"|(?P<op>==|!=|<=|>=|->|:=|\*\*=?|//=?|<<=?|>>=?|[-+*/%@&|^]=)"
    r"|(?P<sep>[,;=])"
    r"|(?P<one>[-+*/%@&|^~<>.])"
)
# One-line strings end at an unescaped newline too (an unterminated literal ends the token).
_CLOSE = {
    "'''": re.compile(r"\\.|'''", re.DOTALL),
    '"""': re.compile(r'\\.|"""', re.DOTALL),
    "'": re.compile(r"\\.|'|\n", re.DOTALL),
    '"': re.compile(r'\\.|"|\n', re.DOTALL),
}
_FIELD_TOKEN = re.compile(r"[{}()\[\]]|[-+*/%@&|^~<>.]|[A-Za-z_]\w*")
# Characters that can add to the cost, or separate two keyword operators inside one
# whitespace-separated word (``(a)or(b)``): counted twice in the cheap bound, to cover both.
_COSTLY_CHARS = "([{)]}.+-*/%@&|^~<>'\":;=!,"


def _string_end(text: str, pos: int, quote: str) -> int:
    """Index just after the literal whose body starts at ``pos``; the text's end if unclosed."""
    closer = _CLOSE[quote]
    m = closer.search(text, pos)
    while m is not None:
        found = m.group()
        if found == quote:
            return m.end()
        if found == "\n":
            return m.start()
        m = closer.search(text, m.end())
    return len(text)


def _fstring_cost(body: str) -> int:
    """Nesting inside an f-string's replacement fields: brackets at their depth plus operators.

    Literal text outside ``{...}`` costs nothing; inner quotes are not tracked, which can only
    over-count (a ``}`` inside a nested literal closes nothing here).
    """
    body = body.replace("{{", "").replace("}}", "")
    fields = depth = worst = ops = 0
    for m in _FIELD_TOKEN.finditer(body):
        tok = m.group()
        if tok in "{([":
            if tok == "{":
                fields += 1
            if fields:
                depth += 1
                worst = max(worst, depth)
        elif tok in "})]":
            if fields:
                depth = max(0, depth - 1)
            if tok == "}":
                fields = max(0, fields - 1)
        elif fields and (not tok[0].isalpha() and tok[0] != "_" or tok in _KEYWORD_OPS):
            ops += 1
    return BRACKET_COST * worst + ops


def parse_cost(source: str, stop_at: int | None = None) -> int:
    """An upper bound of libcst's recursion depth on ``source`` (in chained-item units).

    Stops early once the cost exceeds ``stop_at``: the caller only needs to know it is over.
    """
    limit = stop_at if stop_at is not None else -1
    saved: list[int] = []  # chain length of each enclosing bracket level when it opened
    acc = 0  # sum over enclosing levels of BRACKET_COST + their chain at the opening
    chain = 0  # chained items at the current level since the last separator
    elifs = 0  # ``if/elif/elif`` nests each branch in the previous one, across lines
    worst = 0
    pos = 0
    n = len(source)
    search = _TOKEN.search
    while pos < n:
        m = search(source, pos)
        if m is None:
            break
        pos = m.end()
        kind = m.lastgroup
        if kind == "w":
            word = m.group()
            if word == "elif":
                elifs += 1
            elif word in _KEYWORD_OPS:
                chain += 1
            else:
                continue
        elif kind == "one" or kind == "op":
            chain += 1
        elif kind == "o":
            chain += 1  # ``f()()`` and ``a[0][0]`` chain their trailers
            saved.append(chain)
            acc += BRACKET_COST + chain
            chain = 0
        elif kind == "x":
            if saved:
                chain = saved.pop()
                acc -= BRACKET_COST + chain
            continue
        elif kind == "sep":
            chain = 0
            continue
        elif kind == "nl":
            if not saved and m.group() == "\n":
                chain = 0
            continue
        elif kind == "s":
            token = m.group()
            quote = token.lstrip("rRbBuUfF")
            end = _string_end(source, pos, quote)
            chain += 1  # adjacent literals concatenate into a nested node
            if "f" in token.lower()[: len(token) - len(quote)]:
                body_end = end - len(quote) if source.endswith(quote, 0, end) else end
                chain += _fstring_cost(source[pos:body_end])
            pos = end
        else:
            continue
        cost = acc + chain + elifs
        if cost > worst:
            worst = cost
            if 0 <= limit < worst:
                return worst
    return worst


def _upper_bound(source: str) -> int:
    """A bound on ``parse_cost`` from C-speed counts, to skip the scan for ordinary cells."""
    total = len(source.split())  # a word's first keyword operator; later ones follow a char below
    for ch in _COSTLY_CHARS:
        total += 2 * source.count(ch)
    for ch in "([{":
        total += BRACKET_COST * source.count(ch)
    return total


def too_deep(source: str, budget: int = BUDGET) -> str | None:
    """Why ``source`` must not reach libcst (a short phrase), or None when it is safe to parse."""
    if _upper_bound(source) <= budget:
        return None
    cost = parse_cost(source, stop_at=budget)
    if cost <= budget:
        return None
    return f"too deeply nested for analysis (nesting score over {budget})"


@lru_cache(maxsize=4096)
def safe_ast(source: str) -> ast.Module | None:
    """``ast.parse(source)``, or None when the cell is not plain Python or too deep to parse
    safely (CPython's own parser raises RecursionError, or worse, on what libcst crashes on).

    Cached by source: the random-state pass (once per dataflow run, twice in ``convert``), the
    widget and the path scans parse the same cells, and recurring cells (``df.head()``) are parsed
    once. The tree is shared, so callers only read it (all do: they walk it)."""
    if too_deep(source) is not None:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
