"""Signal: section headings (markdown, Databricks cell titles) and leading code comments.

What: a markdown heading's words ("## Avaliação do modelo", "### Feature engineering",
"Análisis exploratorio", "Load data") are evidence for the code cells of its section: from the
heading to the next heading of the same or a higher level, decaying with distance. A heading
without stage words (``### Age``) leaves its parent section's evidence in force. Databricks
``# DBTITLE`` titles and a code cell's first comment line are weaker, single-cell hints.
English, Portuguese and Spanish, with or without accents (text is accent-folded first).

Why: people structure notebooks by stage, in their own language; but headings are coarse
("Modelagem" covers split, fit and metrics), so heading evidence stays weaker than clear code
evidence: when the words and the code disagree, the code wins.

Example: "## Preparação dos dados" then ``df = df[df.idade > 0]`` -> data-prep evidence
1.6 "under heading 'Preparação dos dados'"; three code cells later, ~1.1.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from nbsplit.classify import fitted
from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context
from nbsplit.classify.evidence import Evidence
from nbsplit.model import Cell, Stage

SIGNAL = "headings"
COMMENT_SIGNAL = "comments"
STRONG, WEAK = fitted.constant("headings.strong"), fitted.constant("headings.weak")
_DECAY, _FLOOR = fitted.constant("headings.decay"), fitted.constant("headings.floor")
_TITLE_FACTOR = fitted.constant("headings.title_factor")
_COMMENT_FACTOR = fitted.constant("headings.comment_factor")

P, M = Stage.PREDICTION, Stage.MONITORING

_STRONG = {stage: re.compile(p) for stage, p in lex.HEADING_STRONG_PATTERNS.items()}
_WEAK = {stage: re.compile(p) for stage, p in lex.HEADING_WEAK_PATTERNS.items()}
# "previsão" often names the model's forecasting itself, not scoring new data: weaker.
_SOFT_STAGE_FACTOR = {P: 1.0}

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_HTML_H = re.compile(r"<h([1-6])[^>]*>(.*?)</h\1>", re.I | re.S)
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(.+?)(?:\*\*|__)\s*:?\s*$")
_SETEXT = re.compile(r"^(.+)\n(=+|-+)\s*$", re.M)
_MARKUP = re.compile(r"<[^>]+>|[*_`#\[\]()]|\{[^}]*\}")
_COMMENT = re.compile(r"^\s*#\s*(.+)$")
_NOT_COMMENT = re.compile(r"^(nbsplit\s*:|!|%|-\*-|coding[:=]|type:|noqa|pylint|fmt:|COMMAND|MAGIC|DBTITLE|Databricks notebook)", re.I)


def fold(text: str) -> str:
    """Lower-case, accents removed: 'Preparação' -> 'preparacao'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def stage_words(text: str) -> tuple[tuple[Stage, float], ...]:
    """Stages named by a heading/comment text, with strong (1.0) or weak (~0.45) strength."""
    folded = fold(_MARKUP.sub(" ", text))
    found: list[tuple[Stage, float]] = []
    for stage, rx in _STRONG.items():
        if rx.search(folded):
            found.append((stage, 1.0))
    strong = {s for s, _ in found}
    for stage, rx in _WEAK.items():
        if stage not in strong and rx.search(folded):
            found.append((stage, WEAK / STRONG))
    if M in strong and len(strong) > 1:
        # "monitor the model we registered", "drift of the training data": the section is about
        # monitoring; the model/data words only say what is monitored.
        found = [(s, w if s is M else w * 0.5) for s, w in found]
    if P in strong and "previs" in folded and "predi" not in folded:
        found = [(s, w * 0.5 if s is P else w) for s, w in found]
    return tuple(found)


@dataclass
class Heading:
    level: int
    text: str
    stages: list[tuple[Stage, float]]
    cell: int


def headings_of(cell: Cell) -> list[Heading]:
    """Headings of a markdown cell, in order (ATX, setext, <hN>, a bold line on its own)."""
    return [Heading(level, text, list(stages), cell.index) for level, text, stages in _parse_headings(cell.source)]


@lru_cache(maxsize=8192)
def _parse_headings(source: str) -> tuple[tuple[int, str, tuple[tuple[Stage, float], ...]], ...]:
    return tuple((h.level, h.text, tuple(h.stages)) for h in _headings_uncached(source))


def _headings_uncached(source: str) -> list[Heading]:
    out: list[Heading] = []
    for line in source.split("\n"):
        m = _ATX.match(line)
        if m:
            text = m.group(2)
            out.append(Heading(len(m.group(1)), _clean(text), stage_words(text), -1))
            continue
        b = _BOLD_LINE.match(line)
        if b and len(b.group(1)) < 80:
            out.append(Heading(7, _clean(b.group(1)), stage_words(b.group(1)), -1))
    if not out:
        for m in _HTML_H.finditer(source):
            out.append(Heading(int(m.group(1)), _clean(m.group(2)), stage_words(m.group(2)), -1))
        for m in _SETEXT.finditer(source):
            level = 1 if m.group(2).startswith("=") else 2
            out.append(Heading(level, _clean(m.group(1)), stage_words(m.group(1)), -1))
    return out


def _clean(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).split())[:60]


_TASK_WORD = re.compile(r"\b(predi\w*|previs\w*|forecast\w*)", re.I)


def _as_title(h: Heading) -> Heading:
    """"Churn Prediction", "Titanic Survival Prediction": the title above all code names the task
    the notebook is about, not a prediction section; its other stage words still count."""
    return Heading(h.level, h.text, stage_words(_TASK_WORD.sub(" ", h.text)), h.cell)


def apply(ctx: Context, evidence: Sequence[Evidence]) -> None:
    stack: list[Heading] = []
    since: dict[int, int] = {}  # heading cell -> code cells seen since
    seen_code = False
    for cell, ev in zip(ctx.nb.cells, evidence):
        if cell.kind == "markdown":
            for h in headings_of(cell):
                if h.level == 1 and not seen_code and not stack:
                    h = _as_title(h)
                while stack and stack[-1].level >= h.level:
                    stack.pop()
                stack.append(h)
                since[id(h)] = 0
            continue
        if cell.kind != "code" or cell.is_empty:
            continue
        seen_code = True
        # The innermost heading with stage words speaks; if its words are only weak ones
        # ("### Data quality of the incoming batches"), the enclosing sections still count.
        parent_factor = 1.0
        for section in reversed(stack):
            if not section.stages:
                continue
            distance = since[id(section)]
            factor = max(_FLOOR, _DECAY ** distance) * parent_factor
            for stage, strength in section.stages:
                ev.add(stage, STRONG * strength * factor, f"under heading '{section.text}'", SIGNAL)
            if any(strength >= 1.0 for _, strength in section.stages):
                break
            parent_factor *= 0.8
        for h in stack:
            since[id(h)] += 1
        if cell.title:
            for stage, strength in stage_words(cell.title):
                ev.add(stage, STRONG * strength * _TITLE_FACTOR, f"titled '{_clean(cell.title)}'", SIGNAL)
        comment = _first_comment(cell.source)
        if comment:
            for stage, strength in stage_words(comment):
                ev.add(stage, STRONG * strength * _COMMENT_FACTOR, f"comment '{_clean(comment)[:40]}'", COMMENT_SIGNAL)


def _first_comment(source: str) -> str | None:
    for line in source.split("\n", 6)[:6]:
        if not line.strip():
            continue
        m = _COMMENT.match(line)
        if m is None:
            if line.lstrip().startswith("%"):
                continue  # a magic line; the comment may follow it
            return None
        text = m.group(1).strip()
        if _NOT_COMMENT.match(text) or len(text) > 120:
            continue
        return text
    return None
