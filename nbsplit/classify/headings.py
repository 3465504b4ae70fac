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
import zlib
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


def required_literals(rx: re.Pattern[str]) -> tuple[str, ...] | None:
    """One text per top-level alternative of ``rx`` that every match of that alternative
    contains (its longest run of plain characters outside groups, classes and repeats; ``\\b``
    takes no room), or None when some alternative has none, the pattern ignores case or uses
    syntax this short scan does not know. Then ``rx.search(text)`` can only succeed when one of
    them is ``in`` the text: a C substring test per alternative instead of trying every
    alternative at every position (the heading patterns are long alternations, ~15 of them per
    heading or comment: ~3x faster). A scan of the pattern text; tests/test_headings_literals.py
    checks it against ``re._parser``'s tree for every heading pattern. Run once, into
    ``_LITERALS`` (``print_literal_table``), not in every process."""
    pattern = rx.pattern
    if not isinstance(pattern, str) or rx.flags & (re.IGNORECASE | re.VERBOSE) or pattern.startswith("(?"):
        return None
    found: list[str] = []
    best = run = ""
    i, n = 0, len(pattern)
    while i <= n:
        ch = pattern[i] if i < n else "|"
        if ch == "|":
            best = max(best, run, key=len)
            if not best:
                return None
            found.append(best)
            best = run = ""
            i += 1
            continue
        if ch == "\\":
            if i + 1 >= n:
                return None
            if pattern[i + 1] in "bB" and (i + 2 >= n or pattern[i + 2] not in "?*+{"):
                i += 2  # a word boundary takes no room: the run goes on
                continue
            end = i + 2  # ``\w``, ``\.``...: not kept
        elif ch in "([":
            end = _closing(pattern, i)
            if end < 0:
                return None
        elif ch in ".^$":
            if ch != "." and (i + 1 >= n or pattern[i + 1] not in "?*+{"):
                i += 1  # an anchor takes no room
                continue
            end = i + 1
        elif ch in ")]?*+{}":
            return None  # a quantifier with nothing before it, or unbalanced: not understood
        else:
            if i + 1 < n and pattern[i + 1] in "?*+{":
                end = i + 1  # an optional or repeated character: not kept
            else:
                run += ch
                i += 1
                continue
        # something that is not a plain character: the run ends; skip its quantifier
        best, run = max(best, run, key=len), ""
        i = end
        if i < n and pattern[i] in "?*+":
            i += 1
            if i < n and pattern[i] in "?+":
                i += 1  # lazy or possessive
        elif i < n and pattern[i] == "{":
            close = pattern.find("}", i)
            if close < 0:
                return None
            i = close + 1
    return tuple(found)


def _closing(pattern: str, start: int) -> int:
    """Index after the group or class opening at ``start``; -1 when it does not close."""
    depth, i, n = 0, start, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1  # a leading ] is a member
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            if j >= n:
                return -1
            i = j + 1
            if depth == 0:
                return i
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


# ``required_literals`` of each heading pattern, computed once here (scanning the ~6,000
# characters of pattern in Python took ~1.5 ms of every process, more than the searches saved on
# a notebook with few headings), with the pattern's crc32: an edited pattern misses its entry and
# is searched without the pre-check until the table is regenerated
# (``python -c "import nbsplit.classify.headings as h; h.print_literal_table()"``);
# tests/test_headings_literals.py checks every entry against ``required_literals``.
_LITERALS: dict[tuple[str, str], tuple[int, tuple[str, ...]]] = {
    ('strong', 'MONITORING'): (3368196223, ('monitor', 'drift', 'deriva', 'estabilidade', 'stability', 'psi', 'population stability', 'observab', 'alert', 'decay', 'degrada', 'over time', 'ao longo do tempo', 'a lo largo del tiempo', 'em producao', 'en produccion', 'in production', 'incoming', 'fresh labels', 'new labels', 'novos rotulos', 'data quality', 'qualidade ', 'calidad de ', 'over the weeks', 'por semana',)),
    ('strong', 'PREDICTION'): (3218652078, ('predi', 'predicao', 'predicoes', 'prediccion', 'predecir', 'predizer', 'infer', 'scoring', 'scor', 'batch ', 'score new', 'new data', 'novos dados', 'nuevos datos', 'dados novos', 'submission', 'submiss', 'submit', 'deploy', 'implanta', 'despliegue', 'serving', 'apply', 'aplica', 'unseen data',)),
    ('strong', 'EVALUATION'): (649933884, ('evaluat', 'avalia', 'evalua', 'metric', 'metrica', 'accuracy', 'acuracia', 'precision', 'recall', 'roc', 'auc', 'confusion', 'matriz de confus', 'classification report', 'compar', 'model comparison', 'feature importance', 'importancia ', 'interpretab', 'interpreta', 'explainab', 'shap', 'model validation', 'validation of the model', ' modelo', 'model', 'teste d', 'error analysis', 'analise de erros', 'residua', 'residuos',)),
    ('strong', 'DATA_PREP'): (2560996974, ('load', 'data', 'read', 'import', 'carrega', 'leitura', 'lectura', 'carga', 'cargando', 'importa', 'data', 'data ', 'clean', 'limpeza', 'limpieza', 'limpando', 'tratamento', 'tratamiento', 'tratando', 'preparacao', 'preparacion', 'preparo', 'prepara', 'missing ', 'valores ', 'dados ', 'null values', 'nan', 'duplicat', 'duplicad', 'outlier', 'merg', 'join', 'juncao', 'tipos de dados', 'data types', 'wrangl', 'ingest', 'aquisicao', 'obtencao dos dados', 'coleta', 'extracao', 'extraccion', 'etl', 'data prep',)),
    ('strong', 'FEATURIZATION'): (3499336440, ('feature ', 'feature', 'engenharia ', 'ingenieria ', 'criacao de ', 'creacion de ', 'selecao de ', 'seleccion de ', 'encod', 'codifica', 'one', 'dummies', 'dummy', 'scal', 'normaliza', 'padroniza', 'estandariza', 'escalonamento', 'escalado', 'vetoriza', 'vectoriz', 'idf', 'embedding', 'preprocessing pipeline', 'transformacao ', 'transformacion de ', 'binning', 'discretiza', 'dimensionality reduction', 'pca', 'reducao de dimensionalidade', 'x and y', 'x e y', 'variavel ', 'target variable', 'new features', 'novas ', 'nuevas variables', 'derived ', 'featuriz',)),
    ('strong', 'EDA'): (3846211957, ('eda', 'explorat', 'exploration', 'explorando', 'explorar', 'exploracao', 'exploracion', 'explore', 'analise ', 'analisis ', 'data analysis', 'visuali', 'grafico', 'plot', 'plotting', 'distribu', 'correla', 'estatistica', ' descriptiva', 'descriptive', 'summary stat', 'understand', 'entend', 'conhecendo', 'conociendo', 'insight', 'univariate', 'bivariate', 'multivariate', 'overview', 'visao geral', 'perfil', 'profil', 'look at the data', 'first look', 'primeiro contato', 'conhecer os dados', 'relationship', 'relacao', 'relacion', 'pattern', 'padroes', 'tendencias', 'trend',)),
    ('strong', 'TRAINING'): (1996235582, ('train', 'treina', 'entrena', 'model', 'modelagem', 'modelado', 'modelizac', 'model', 'ajuste d', 'tuning', 'hyper', 'hiper', 'search', ' search', 'cross', 'validacao cruzada', 'validacion cruzada', 'fold', 'split', 'divisao', 'division', 'separa', 'particion', 'baseline', 'build', 'constru', 'criacao d', 'experiment', 'mlflow', 'model', 'regist', 'save ', 'modelo', 'guardar ', 'automl', 'optuna', 'hyperopt',)),
    ('strong', 'SETUP'): (1657519674, ('import', 'importing ', 'importa', 'bibliotecas', 'librerias', 'librar', 'pacotes', 'packages', 'setup', 'set', 'configura', 'config', 'settings', 'ambiente', 'environment', 'instala', 'install', 'dependenc', 'parametros', 'parameters', 'widget', 'constante', 'constants', 'helper', 'utilit', 'utils', 'funcoes auxiliares', 'funciones auxiliares', 'helper functions', 'requirements', 'spark session',)),
    ('weak', 'DATA_PREP'): (226052851, ('dados', 'datos', 'data', 'dataset', 'base de dados', 'conjunto de dados', 'source', 'fonte',)),
    ('weak', 'EDA'): (3976753551, ('analise', 'analisis', 'analysis', 'estatistica', 'statistics', 'graph', 'chart',)),
    ('weak', 'FEATURIZATION'): (3817066518, ('feature', 'atributos', 'variaveis', 'variables', 'caracteristicas', 'process', 'preprocesamiento', 'transforma',)),
    ('weak', 'TRAINING'): (13293549, ('model', 'modelo', 'algorit', 'classifier', 'classificador', 'clasificador', 'regress', 'xgboost', 'lightgbm', 'catboost', 'random forest', 'logistic', 'arvore', 'decision tree', 'neural', 'rede neural', 'red neuronal', 'keras', 'pipeline',)),
    ('weak', 'EVALUATION'): (3110392346, ('result', 'resultado', 'score', 'performance', 'desempenho', 'validation', 'validacao', 'validacion', 'teste', 'test', 'testing', 'testando',)),
    ('weak', 'PREDICTION'): (3531129703, ('previs', 'forecast', 'prevision',)),
    ('weak', 'SETUP'): (2747890919, ('introdu', 'objetivo', 'objective', 'goal', 'contexto', 'context', 'descricao', 'sobre', 'about', 'table of contents', 'sumario', 'indice', 'agenda',)),
}


def _literals(kind: str, stage: Stage, rx: re.Pattern[str]) -> tuple[str, ...] | None:
    entry = _LITERALS.get((kind, stage.name))
    if entry is None or entry[0] != zlib.crc32(rx.pattern.encode()):
        return None
    return entry[1]


def print_literal_table() -> None:
    """Print ``_LITERALS`` as it should read for today's patterns."""
    for kind, patterns in (("strong", _STRONG), ("weak", _WEAK)):
        for stage, rx in patterns.items():
            literals = required_literals(rx)
            if literals is not None:
                body = ", ".join(repr(lit) for lit in literals)
                print(f"    ({kind!r}, {stage.name!r}): ({zlib.crc32(rx.pattern.encode())}, ({body},)),")


# (stage, pattern, literals one of which a match contains) in the dicts' order
_STRONG_CHECKS = [(stage, rx, _literals("strong", stage, rx)) for stage, rx in _STRONG.items()]
_WEAK_CHECKS = [(stage, rx, _literals("weak", stage, rx)) for stage, rx in _WEAK.items()]


def _found(rx: re.Pattern[str], literals: tuple[str, ...] | None, text: str) -> bool:
    """``bool(rx.search(text))``."""
    if literals is not None:
        for literal in literals:
            if literal in text:
                break
        else:
            return False
    return rx.search(text) is not None
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
    for stage, rx, literals in _STRONG_CHECKS:
        if _found(rx, literals, folded):
            found.append((stage, 1.0))
    strong = {s for s, _ in found}
    for stage, rx, literals in _WEAK_CHECKS:
        if stage not in strong and _found(rx, literals, folded):
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
