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

from nbsplit.classify.context import Context
from nbsplit.classify.evidence import Evidence
from nbsplit.model import Cell, Stage

SIGNAL = "headings"
COMMENT_SIGNAL = "comments"
STRONG, WEAK = 1.6, 0.7
_DECAY, _FLOOR = 0.88, 0.4
_TITLE_FACTOR = 0.9
_COMMENT_FACTOR = 0.55

D, E, F, T, V, P, M, S = (
    Stage.DATA_PREP, Stage.EDA, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION,
    Stage.PREDICTION, Stage.MONITORING, Stage.SETUP,
)

_STRONG_PATTERNS: dict[Stage, str] = {
    M: r"monitor\w*|drift\w*|\bderiva\w*|estabilidade|\bstability|\bpsi\b|population stability"
       r"|observab\w*|\balert\w*|\bdecay\b|degrada\w*|over time|ao longo do tempo|a lo largo del tiempo"
       r"|em producao|en produccion|in production|\bincoming\b|fresh labels|new labels|novos rotulos"
       r"|data quality|qualidade (dos|de) dados|calidad de (los )?datos|over the weeks|por semana",
    P: r"\bpredi(ction|ctions|cting|ct)\b|\bpredicao|\bpredicoes|\bprediccion\w*|\bpredecir|\bpredizer"
       r"|\binfer(ence|encia|ir|ring)\b|\bscoring\b|\bscor(e|ing) (the|new|all|future)\b|batch (scoring|inference|prediction)|\bscore new"
       r"|new data|novos dados|nuevos datos|dados novos|submission|\bsubmiss\w*|\bsubmit\w*"
       r"|\bdeploy\w*|\bimplanta\w*|\bdespliegue|\bserving\b|apply(ing)? (the )?model"
       r"|aplica\w* (o |el |do )?modelo|unseen data",
    V: r"evaluat\w*|\bavalia\w*|\bevalua\w*|\bmetric\w*|\bmetrica\w*|\baccuracy|\bacuracia"
       r"|\bprecision\b|\brecall\b|\broc\b|\bauc\b|\bconfusion|matriz de confus\w*|classification report"
       r"|compar\w* (d?[aeo]s? |of |the |between )?(models?|modelos|algoritmos|algorithms|classifiers)"
       r"|model comparison|feature importances?|importancia (d[ae]s? |de las )?(variaveis|features|atributos|caracteristicas|variables)"
       r"|interpretab\w*|\binterpreta\w*|explainab\w*|\bshap\b|model validation|validation of the model"
       r"|valida\w* d[oe]l? modelo|test(ing)? (the )?model|teste d[oa] modelo|error analysis|analise de erros"
       r"|\bresidua\w*|\bresiduos",
    D: r"load(ing)? (the )?(data|dataset|files?|tables?)|data ?load|read(ing)? (the )?(data|dataset|files?|csv)"
       r"|import(ing)? (the )?(data|dataset)|\bcarrega\w*|\bleitura|\blectura|\bcargar?\b|\bcargando"
       r"|importa\w* (d[oa]s? |de )?(dados|datos|base|dataset)|get(ting)? (the )?data"
       r"|data (cleaning|cleansing|preparation|prep|wrangling|ingestion|acquisition|collection|loading)"
       r"|\bclean(ing|se|up)?\b|\blimpeza|\blimpieza|\blimpando|\btratamento|\btratamiento|\btratando"
       r"|\bpreparacao|\bpreparacion|\bpreparo\b|prepara\w* (d[oa]s? |los )?(dados|datos|base)"
       r"|missing (values|data)|valores (ausentes|faltantes|nulos|missing)|dados (faltantes|ausentes|nulos)"
       r"|null values|\bnan\b|\bduplicat\w*|\bduplicad\w*|\boutliers?\b|\bmerg(e|ing)\b|\bjoin(s|ing)?\b"
       r"|\bjuncao|tipos de dados|data types|\bwrangl\w*|\bingest\w*|\baquisicao|obtencao dos dados"
       r"|\bcoleta|\bextracao|\bextraccion|\betl\b|data prep",
    F: r"feature (engineering|selection|extraction|creation|construction|transformation|scaling|encoding|store|tables?)"
       r"|features? eng\w*|engenharia (de )?(features?|atributos|variaveis|caracteristicas)"
       r"|ingenieria (de )?(caracteristicas|variables|atributos|features)"
       r"|criacao de (features|variaveis|atributos)|creacion de (variables|caracteristicas)"
       r"|selecao de (features|variaveis|atributos)|seleccion de (variables|caracteristicas)"
       r"|\bencod\w*|\bcodifica\w*|one.?hot|\bdummies|\bdummy|\bscal(ing|er)\b|\bnormaliza\w*"
       r"|\bpadroniza\w*|\bestandariza\w*|\bescalonamento|\bescalado|\bvetoriza\w*|\bvectoriz\w*|tf.?idf"
       r"|\bembedding|preprocessing pipeline|transformacao (de |das )?(variaveis|dados|features)"
       r"|transformacion de (variables|datos)|\bbinning|\bdiscretiza\w*|dimensionality reduction|\bpca\b"
       r"|reducao de dimensionalidade|\bx and y\b|\bx e y\b|variavel (alvo|target)|target variable"
       r"|new features|novas (features|variaveis)|nuevas variables|derived (features|variables|columns)"
       r"|featuriz\w*",
    E: r"\beda\b|explorat\w*|\bexploration|\bexplorando|\bexplorar|\bexploracao|\bexploracion|\bexplore"
       r"|analise (exploratoria|descritiva|univariada|bivariada|multivariada|dos dados|de dados|inicial|grafica)"
       r"|analisis (exploratorio|descriptivo|de (los )?datos)|data analysis|visuali[sz]\w*|\bgraficos?\b"
       r"|\bplots?\b|\bplotting|\bdistribu\w*|\bcorrela\w*|estatisticas? descritivas?|estadisticas? descriptivas?"
       r"|\bdescriptive|summary stat\w*|\bunderstand\w*|\bentend\w*|\bconhecendo|\bconociendo|\binsights?\b"
       r"|\bunivariate|\bbivariate|\bmultivariate|\boverview|visao geral|\bperfil|\bprofil\w*"
       r"|look at the data|first look|primeiro contato|conhecer os dados|\brelationships?\b|\brelacao"
       r"|\brelacion\w*|\bpatterns?\b|\bpadroes|\btendencias|\btrends?\b",
    T: r"\btrain(?!(?:ing)?[ _-]?(?:data|set|dataset|df|csv|file|frame)\b)\w*|\btreina\w*|\bentrena\w*|\bmodel(l)?ing\b|\bmodelagem|\bmodelado\b|\bmodelizac\w*"
       r"|fit(ting)? (the |a )?models?|ajuste d[oa] modelo|\btuning|hyper.?param\w*|hiper.?param\w*"
       r"|grid ?search|random(ized)? search|cross.?valid\w*|validacao cruzada|validacion cruzada|k.?fold"
       r"|\bsplit\w*|\bdivisao|\bdivision\b|separa\w* (d[oa]s? |los )?(dados|datos|treino|teste)"
       r"|\bparticion\w*|\bbaseline|build(ing)? (the |a )?models?|constru\w* d[oe]l? modelos?|criacao d[oa]s? modelos?"
       r"|\bexperiment\w*|\bmlflow|log(ging)? (the )?model|regist(er|ro|rar|ering)\w*"
       r"|save (the )?model|salva\w* (o )?modelo|guardar (el )?modelo|\bautoml\b|\boptuna|\bhyperopt",
    S: r"\bimports?\b(?! (the |of )?(data|dataset|dados|datos))|importing (the )?(libraries|packages|modules)"
       r"|importa\w* (d[ae]s? )?(bibliotecas|librerias|pacotes|modulos|libs)|\bbibliotecas|\blibrerias"
       r"|\blibrar(y|ies)\b|\bpacotes\b|\bpackages\b|\bsetup\b|set ?up\b|\bconfigura\w*|\bconfig\b"
       r"|\bsettings\b|\bambiente\b|\benvironment\b|\binstala\w*|\binstall\w*|\bdependenc\w*"
       r"|\bparametros\b|\bparameters\b|\bwidgets?\b|\bconstantes?\b|\bconstants\b|\bhelpers?\b"
       r"|\butilit\w*|\butils\b|funcoes auxiliares|funciones auxiliares|helper functions|\brequirements\b"
       r"|spark session",
}
_WEAK_PATTERNS: dict[Stage, str] = {
    D: r"\bdados\b|\bdatos\b|\bdata\b|\bdataset\b|base de dados|conjunto de dados|\bsources?\b|\bfontes?\b",
    E: r"\banalise\b|\banalisis\b|\banalysis\b|\bestatistica|\bstatistics|\bgraph|\bcharts?\b",
    F: r"\bfeatures?\b|\batributos\b|\bvariaveis\b|\bvariables\b|\bcaracteristicas\b|pre.?process\w*"
       r"|\bpreprocesamiento|\btransforma\w*",
    T: r"\bmodels?\b|\bmodelos?\b|\balgorit\w*|\bclassifier|\bclassificador|\bclasificador|\bregress\w*"
       r"|\bxgboost|\blightgbm|\bcatboost|random forest|\blogistic|\barvore|decision tree|\bneural"
       r"|rede neural|red neuronal|\bkeras|\bpipeline",
    V: r"\bresults?\b|\bresultados?\b|\bscores?\b|\bperformance\b|\bdesempenho\b|\bvalidation\b"
       r"|\bvalidacao\b|\bvalidacion\b|\bteste\b|\btest\b|\btesting\b|\btestando\b",
    P: r"\bprevis\w*|\bforecast\w*|\bprevision\w*",
    S: r"\bintrodu\w*|\bobjetivo\b|\bobjective\b|\bgoals?\b|\bcontexto\b|\bcontext\b|\bdescricao\b"
       r"|\bsobre\b|\babout\b|table of contents|\bsumario\b|\bindice\b|\bagenda\b",
}
_STRONG = {stage: re.compile(p) for stage, p in _STRONG_PATTERNS.items()}
_WEAK = {stage: re.compile(p) for stage, p in _WEAK_PATTERNS.items()}
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
