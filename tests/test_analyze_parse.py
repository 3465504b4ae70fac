"""``nbsplit.analyze._parse_module`` (libcst's parse without re-validating what the grammar
guarantees) gives exactly what ``libcst.parse_module`` gives: the same code back, the same
exception type and message, for odd but real syntax and for the cases libcst's validation refuses
after parsing (a bare ``except:`` before another handler, str concatenated with bytes)."""

from __future__ import annotations

import libcst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.analyze import _parse_module

SNIPPETS = [
    # a keyword without the space libcst wants before some tokens: the grammar takes them, the
    # validation refuses them (found by test_random_token_soup: 'return*x')
    'return*x', 'def f():\n    return.5', 'yield*x', 'x = yield.5', 'assert.5', 'raise.5', 'x = await.5',
    'x = not.5', 'y = a in.5', 'y = a is.5', 'y = a and.5', 'y = a or.5',
    # validation refuses what the grammar accepted: must still be refused
    'try:\n pass\nexcept:\n pass\nexcept E:\n pass\n', 'try:\n pass\nexcept:\n pass\nexcept:\n pass',
    'x = b"a" "b"', 'x = "a" b"b"', 'x = f"a" b"b"', 'print(u"x" b"y")', 'x = rb"a" "b"', 'x = "a" "b" b"c"',
    'x = R"a" Rb"b"', 'def f():\n    try:\n        pass\n    except:\n        pass\n    except E:\n        pass\n',
    # odd spacing, literals, names, strings
    'x = 1if y else 2', 'print(1or 2)', 'f"{x!r:>{w}}"', 'lambda:0', '[x for x in(y)]', 'not(x)', 'a=b if(c)else d',
    'x[1:2,::3]', 'del(x)', 'assert(x)', 'print(*a,**k)', 'from.a import b', '@d\ndef f():pass', 'x = (yield)',
    'x=1;y=2;', 'if(x):pass', 'while(x):pass', 'for(x)in(y):pass', 'x=[*a,*b]', 'print(f"{x=}")', 'a<b>c',
    'x = 0x1if 1 else 2', 'async def f():\n    await(x)', 'with(a)as b:pass', 'raise(x)from(y)', 'x = 1 if 2else 3',
    'print("a""b")', 'match x:\n case [1,2]:pass', 'x = "a" if y else"b"', 'x=1 in[2]', 'x = -1if y else 2',
    'x = lambda*a:0', 'x = lambda**k:0', 'import a.b as c', 'return[x]', 'def f():\n return[x]', 'del[a]',
    'from.a import(b)', 'x = [a for a in(b)if(c)]', 'with(a)as(b):pass', 'x = a not in(b)', 'x = (a)is not(b)',
    'x=not[a]', 'assert(x),(y)', 'x = [a async for a in b]', 'class A(B, metaclass=M, **k): pass',
    'try:\n pass\nexcept(E):\n pass\nexcept:\n pass', 'try:\n pass\nexcept* E:\n pass\n', 'x = ("a") "b"',
    'x = f"{a}" f"{b}" "c"', 'x = u"a" "b"', 'x = b"a" rb"b" Br"c"', 'case = 1\nmatch = 2', 'x = 1_0.0_1e1_0j',
    'x = 0o17', 'x = .5', 'x = 5.', 'x = 00', 'ñ = 1', 'ℌ = 1', 'a·b = 1', 'def f(a, /, b, *, c=1, **d): pass',
    'def f(*a=1): pass', 'lambda *, a: 0', '@(yield)\ndef f(): pass', 'x = {**a, "b": 1}', 'a[1, *b]',
    'from ... import a', 'for a, in b: pass', 'with (a as b, c as d): pass', 'x = (a := 1)', 'f(a := 1)',
    'print(f"{a!r:{b}.{c}}")', 'print(f"{{a}}")', "f'{a[\"b\"]}'", 'x = \\\n 1', '\n\n', '#', '', 'x = 1\x0c\ny = 2',
    'if x:\n\tpass\n        pass', 'x = a @ b', 'x @= b', 'x = (a, b) = c', 'a: "int" = 1', 'x: int = 1, 2',
    'match a:\n case {**rest}: pass', 'match a:\n case A(b=1, c): pass', 'x = 1 <> 2', 'print "a"', 'x = `a`',
    'f(**a, *b)', 'def f(a=1, b): pass', 'class A(*b): pass', 'class A(x=1): pass', 'x = 08', 'x = 0b12',
    'f"{x!z}"', 'x = yield from', 'import a as b.c', '1 = x',
]


def _outcome(parse, source: str) -> tuple[str, str]:
    try:
        return "tree", parse(source).code
    except Exception as exc:  # noqa: BLE001  (compared by type and message)
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("source", SNIPPETS)
def test_same_as_libcst(source: str) -> None:
    assert _outcome(_parse_module, source) == _outcome(libcst.parse_module, source)


def test_validation_is_restored() -> None:
    with pytest.raises(libcst.CSTValidationError):
        _parse_module('x = "a" b"b"')
    # building a node by hand validates as before
    with pytest.raises(libcst.CSTValidationError):
        libcst.Name("not an identifier")
    _parse_module("x = 1")
    with pytest.raises(libcst.CSTValidationError):
        libcst.Name("not an identifier")
    assert "__post_init__" not in libcst.Try.__dict__
    assert "__post_init__" not in libcst.ConcatenatedString.__dict__
    assert "__post_init__" not in libcst.Return.__dict__


_PIECES = st.sampled_from(["x", "1", '"a"', 'b"a"', 'f"{x}"', "(", ")", "[", "]", " ", "\n", "if", "else", "not",
                           "in", "is", "lambda", ":", ",", "=", "+", "*", "**", "try", "except", "pass", "\n ",
                           "def", "f", "yield", "await", "import", "from", ".", "as", "del", "assert", "return"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_random_token_soup(source: str) -> None:
    assert _outcome(_parse_module, source) == _outcome(libcst.parse_module, source)
