"""The heading patterns' literal pre-check (``headings.required_literals``): a text none of
whose required literals occurs cannot match, so ``_found`` gives exactly ``bool(rx.search)``."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.classify import headings
from nbsplit.classify import lexicon as lex
from nbsplit.classify.headings import _found, required_literals

CHECKS = headings._STRONG_CHECKS + headings._WEAK_CHECKS


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\bpsi\b|over time", ("psi", "over time")),
    (r"ab?cd", ("cd",)),
    (r"monitor\w*|\bderiva\w*", ("monitor", "deriva")),
    (r"a|[bc]", None),               # an alternative with no plain character
    (r"(?i)abc", None),              # case-insensitive: ``in`` would not do
    (r"(?:a|b)c", None),             # a pattern opening with (? is left alone
    (r"x(?:a|b)cd", ("cd",)),
    (r"(x)", None),
    (r"", None),
    (r"ab{2}c|d[^]x]e", ("a", "d")),  # b{2} and the class are dropped; the first longest run
    (r"\bcarga\b|\bx\B", ("carga", "x")),
    (r"a\\", ("a",)),               # an escape is never kept
    (r"ab+c|xy?", ("a", "x")),
])
def test_required_literals(pattern: str, expected: tuple[str, ...] | None) -> None:
    assert required_literals(re.compile(pattern)) == expected


def _top_level_alternatives(pattern: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def _sre_literal(alternative: str) -> str:
    """The longest run of LITERAL items in ``re._parser``'s tree of one alternative (items in a
    sequence are all required; AT items take no room)."""
    from re import _constants as sre
    from re import _parser as sre_parse

    best = run = ""
    for op, arg in sre_parse.parse(alternative):
        if op is sre.LITERAL:
            run += chr(arg)
        elif op is not sre.AT:
            best, run = max(best, run, key=len), ""
    return max(best, run, key=len)


@pytest.mark.parametrize("stage_rx", CHECKS, ids=lambda c: f"{c[0].value}-{c[1].pattern[:12]}")
def test_the_scan_finds_what_re_parser_finds(stage_rx) -> None:
    _, rx, literals = stage_rx
    assert literals is not None
    assert literals == tuple(_sre_literal(a) for a in _top_level_alternatives(rx.pattern))


def _texts() -> list[str]:
    """Heading-like texts: the patterns' own words, pieces of them, and noise around them."""
    words = set()
    for source in (*lex.HEADING_STRONG_PATTERNS.values(), *lex.HEADING_WEAK_PATTERNS.values()):
        words |= set(re.findall(r"[a-z][a-z .]{1,25}", source))
    words = sorted(words)
    rng = random.Random(3)
    texts = ["", " ", "load the data", "feature engineering", "model evaluation", "monitoring drift",
             "previsao de vendas", "eda", "x and y", "data", "over  time", "the psi value"]
    for _ in range(3000):
        pieces = rng.sample(words, rng.randint(1, 3))
        if rng.random() < 0.3:
            pieces = [p[: rng.randint(0, len(p))] for p in pieces]
        texts.append(rng.choice(["", "## ", "1. "]) + " ".join(pieces) + rng.choice(["", ":", " dos dados", "s"]))
    return texts


def test_prefilter_agrees_with_the_search_on_heading_texts() -> None:
    for text in _texts():
        for _, rx, literals in CHECKS:
            assert _found(rx, literals, text) == (rx.search(text) is not None), (rx.pattern[:40], text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz _.-", max_size=60))
def test_prefilter_agrees_with_the_search_on_any_text(text: str) -> None:
    for _, rx, literals in CHECKS:
        assert _found(rx, literals, text) == (rx.search(text) is not None)


def test_the_literal_table_is_todays() -> None:
    """Every heading pattern has its pre-check, and each entry is what the scan gives now
    (regenerate: ``python -c "import nbsplit.classify.headings as h; h.print_literal_table()"``)."""
    for kind, patterns in (("strong", headings._STRONG), ("weak", headings._WEAK)):
        for stage, rx in patterns.items():
            assert headings._literals(kind, stage, rx) == required_literals(rx), (kind, stage)
            assert headings._literals(kind, stage, rx) is not None
