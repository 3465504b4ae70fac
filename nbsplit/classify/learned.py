"""Learned re-scoring: the hand-written signals become features, their weights are fitted.

What: after the rule-based pass (signals -> evidence -> sequence decoder -> post-passes) every
unmarked code cell is described by features -- the evidence each signal gave each stage, the
stage the rules chose and how sure they were, the rule stages of its neighbours, where it sits in
the notebook, the words of the names it writes and reads and of its string literals
(``"predictions.csv"``, ``"Accuracy:"``), whether it only shows values and which stage built what
it shows, whether it changes existing columns or derives new ones (``CellFacts.column_writes``),
whether it reads a fitted model's predictions or scores (followed through the names built from
them), whether the notebook computes drift or scores a loaded model it never fits (for its
eda/evaluation/prediction/monitoring-looking cells), whether its file name says it scores or monitors
(``05_batch_inference``, ``model_monitoring``; for every cell), which main-line stages its
values reach and came from through every later or earlier cell (not only the next reader), what
it showed when its author ran it (stored outputs: a plot, a table, the words printed) -- and a
multinomial logistic model with weights fitted on the labelled corpus (``benchmarks/corpus``,
``python benchmarks/accuracy.py --write-weights``) scores the stages. A second model of the same
kind (``weights["stack"]``) then reads the same features plus the first model's probabilities for
the cell and for two code cells each side (``stack_features``) and picks the stage: a cell whose
neighbours are surely training reads differently from one among eda cells, which the rule stages
of the neighbours say only coarsely. Where that second model is unsure (its best stage below
``trees.json``'s gate), boosted trees over the same features (``boosted``) are blended in: they
read features together, which a sum of weights cannot. The probability is the confidence.
Each family of features is a small function registered with ``@feature`` (``FEATURES``, run in
registration order) that reads one cell's ``CellView``: add a feature by registering a function
over facts the analysis already has, not by re-reading the source.

Why: per-notebook hand rules did not carry over to strangers' notebooks (first looks 0.66-0.79);
fitting how much to trust each signal, by grouped cross-validation over many repositories, does.
Inference stays plain Python over two JSON files (``weights.json``, ``trees.json``): the core
imports no numpy, scikit-learn or LightGBM.

Example: a ``X.head()`` right after featurization has rule stage eda, evidence "only displays
data" and a featurization neighbour; the fitted weights keep it eda with probability ~0.8.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import repeat
from operator import add, mul
from pathlib import PurePath
from typing import Any, Callable, Mapping, Sequence

from nbsplit.classify import boosted, fitted
from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, name_tokens
from nbsplit.classify.evidence import STRONG_MONITORING, TEXT_SIGNALS, Evidence, _combine
from nbsplit.classify.registry import Registry
from nbsplit.model import _ORDER, CellFacts, Classification, Notebook, Stage

FEATURE_VERSION = 1
SIGNAL_NAMES = ("calls", "structure", "headings", "comments")
_POSITION_BUCKETS = 5
_override: dict[str, Any] | None = None
_disabled = False
# When a list, classify_notebook appends (path, index, features, rule classification) for every
# unmarked code cell: how benchmarks/fit_weights.py collects training rows.
capture: list[tuple[Any, int, dict[str, float], Classification]] | None = None


def use_weights(weights: Mapping[str, Any] | None, *, disabled: bool = False) -> None:
    """Evaluate other weights (cross-validation folds) or none (feature extraction)."""
    global _override, _disabled
    _override = dict(weights) if weights is not None else None
    if _override is not None and _override.get("trees"):
        _override["trees"] = boosted.load(_override["trees"])
    _disabled = disabled


def _shipped() -> dict[str, Any] | None:
    data = fitted.data()
    if data.get("feature_version") != FEATURE_VERSION:
        return None
    trees = fitted.trees()
    return {**data, "trees": trees} if trees.get("feature_version") == FEATURE_VERSION else data


def active_weights() -> dict[str, Any] | None:
    if _disabled:
        return None
    return _override if _override is not None else _shipped()


@dataclass(frozen=True)
class CellView:
    """What a feature function sees of one code cell: its place in the decoded sequence, the
    rules' classification and evidence, its facts, and the notebook-wide lookups."""

    pos: int
    i: int
    base: Classification
    ev: Evidence
    cf: CellFacts | None
    notebook: "_NotebookView"


@dataclass(frozen=True)
class _NotebookView:
    nb: Notebook
    ctx: Context
    result: Sequence[Classification]
    seq: Sequence[int]
    readers_after: "_LaterReaders"
    mentioned: dict[str, int]
    model_output_reads: dict[int, frozenset[str]]
    flags: frozenset[str]
    # the first code cell whose own code gives strong monitoring evidence (None: no such cell)
    first_monitor: int | None
    # per code cell: bit sets over ``_MAIN`` of the rule stages upstream and downstream of it
    lineage: dict[int, tuple[int, int]]


FeatureFn = Callable[[CellView, dict[str, float]], None]
# The registered feature functions, in the order they add features (the order of a cell's
# feature dict, hence of the sums in ``predict``: keep it stable).
FEATURES: Registry[FeatureFn] = Registry("features")


def feature(fn: FeatureFn) -> FeatureFn:
    return FEATURES.register(fn)


def cell_features(nb: Notebook, facts: Sequence[CellFacts | None], ctx: Context,
                  evidence: Sequence[Evidence], result: Sequence[Classification],
                  seq: Sequence[int]) -> dict[int, dict[str, float]]:
    """Features of every code cell in ``seq`` (the decoded, non-skipped code cells)."""
    first_monitor = _first_monitor(evidence, seq)
    view = _NotebookView(nb, ctx, result, seq, _LaterReaders(ctx, result), _first_mentions(facts),
                         _model_output_readers(facts, ctx), _notebook_flags(ctx, result, seq, first_monitor),
                         first_monitor, _lineage(facts, result, seq))
    out: dict[int, dict[str, float]] = {}
    for pos, i in enumerate(seq):
        cell = CellView(pos, i, result[i], evidence[i], facts[i], view)
        f: dict[str, float] = {}
        for _, fn in FEATURES:
            fn(cell, f)
        out[i] = f
    return out


@feature
def bias(c: CellView, f: dict[str, float]) -> None:
    f["bias"] = 1.0


@feature
def signal_evidence(c: CellView, f: dict[str, float]) -> None:
    """The weight each evidence signal gave each stage: per signal, what
    ``Evidence.scores(exclude=<the other named signals>)`` gives (its hits and those of signals
    not named in ``SIGNAL_NAMES``), grouped in one pass per signal instead of through a dict of
    lists and a tuple test per hit."""
    hits = c.ev.hits
    if not hits:
        return
    for signal in SIGNAL_NAMES:
        by_stage: dict[Stage, list[float]] = {}
        for hit in hits:
            if hit.signal == signal or hit.signal not in _SIGNAL_SET:
                weights = by_stage.get(hit.stage)
                if weights is None:
                    by_stage[hit.stage] = [hit.weight]
                else:
                    weights.append(hit.weight)
        if by_stage:
            for stage in sorted(by_stage, key=_stage_order):
                f[f"ev:{signal}:{stage.value}"] = round(_combine(by_stage[stage]), 4)


_SIGNAL_SET = frozenset(SIGNAL_NAMES)
_stage_order = _ORDER.__getitem__


@feature
def rule_verdict(c: CellView, f: dict[str, float]) -> None:
    """The stage the rules chose, how sure they were and why (origin)."""
    f[f"rule:{c.base.stage.value}"] = 1.0
    f[f"rule_conf:{c.base.stage.value}"] = c.base.confidence
    f[f"origin:{c.base.origin}"] = 1.0


@feature
def neighbours(c: CellView, f: dict[str, float]) -> None:
    """The rule stages of two code cells each side."""
    seq, result = c.notebook.seq, c.notebook.result
    for off, tag in ((-2, "prev2"), (-1, "prev"), (1, "next"), (2, "next2")):
        j = c.pos + off
        f[f"{tag}:{result[seq[j]].stage.value if 0 <= j < len(seq) else 'none'}"] = 1.0


@feature
def position(c: CellView, f: dict[str, float]) -> None:
    n = len(c.notebook.seq)
    f[f"pos:{min(int(c.pos / max(n, 1) * _POSITION_BUCKETS), _POSITION_BUCKETS - 1)}"] = 1.0


@feature
def cell_kind(c: CellView, f: dict[str, float]) -> None:
    """Only displays, defines functions, imports."""
    cf = c.cf
    if cf is None:
        return
    if cf.display_only:
        f["display_only"] = 1.0
    if cf.functions:
        f["defines_function"] = 1.0
    if cf.imports:
        f["imports"] = 1.0


@feature
def dataflow(c: CellView, f: dict[str, float]) -> None:
    """The rule stages of the cells that wrote what it reads and of the later cells that read
    what it writes: one mechanism (``Context.writers``/``readers``) for producers and consumers."""
    cf = c.cf
    if cf is None:
        return
    nbv = c.notebook
    produced = _producer_stages(c.i, cf, nbv.ctx, nbv.result)
    for stage in produced:
        f[f"reads_from:{stage.value}"] = 1.0
    if cf.display_only and produced:
        f[f"shows_from:{max(produced, key=lambda s: s.order).value}"] = 1.0
    later = _later_reader_stages(c.i, cf, nbv.readers_after)
    for stage in later:
        f[f"read_by:{stage.value}"] = 1.0
    if not later and cf.defines:
        f["nothing_read_later"] = 1.0


@feature
def identifier_words(c: CellView, f: dict[str, float]) -> None:
    """Words of the names it writes and reads (``X_train`` -> x, train)."""
    cf = c.cf
    if cf is None:
        return
    # sorted: a set's order follows PYTHONHASHSEED, and the order of the features is the order
    # of predict's float sums, so the last bit of a probability would too
    for name in sorted(cf.defines | cf.mutates):
        for tok in sorted(_tokens(name)):
            f[f"writes_tok:{tok}"] = 1.0
    for name in sorted(cf.reads):
        for tok in sorted(_tokens(name)):
            f[f"reads_tok:{tok}"] = 1.0


_STRING_WORD = re.compile(r"[^\W\d_]{3,12}")
_STRING_WORDS_PER_CELL = 40  # a cell that lists a hundred column names says no more with all of them


@feature
def string_words(c: CellView, f: dict[str, float]) -> None:
    """Words of its string literals: file and table names (``"predictions.csv"``,
    ``"drift_report"``), printed labels (``"Accuracy:"``), column names; the first 40, in order."""
    cf = c.cf
    if cf is None:
        return
    seen: dict[str, None] = {}  # a dict keeps the order seen: the order of predict's float sums
    for text in cf.strings:
        if len(seen) == _STRING_WORDS_PER_CELL:
            break  # the later literals need not be scanned at all
        for w in _STRING_WORD.findall(text.lower()):
            if len(seen) == _STRING_WORDS_PER_CELL:
                break
            seen.setdefault(w, None)
    for w in seen:
        f[f"str:{w}"] = 1.0


_ATTRS_PER_CELL = 40  # the first 40 in alphabetical order: a cell is rarely longer than that


@feature
def attribute_names(c: CellView, f: dict[str, float]) -> None:
    """The attribute names it touches, methods and module functions included: ``.shape`` and
    ``.dtypes`` look, ``.str`` and ``.dt`` clean, ``.coef_`` reads a fitted model. The call
    features see only what is called; these see the attributes that are never called too
    (corpus README, "Attribute names")."""
    cf = c.cf
    if cf is None:
        return
    for a in sorted(cf.attributes)[:_ATTRS_PER_CELL]:
        if len(a) <= 30:
            f[f"attr:{a}"] = 1.0


@feature
def column_writes(c: CellView, f: dict[str, float]) -> None:
    """An existing column changed (cleaning: data-prep) or a new one derived (featurization),
    and how the value is made; row and column subsets."""
    cf = c.cf
    if cf is None:
        return
    mentioned = c.notebook.mentioned
    for cw in cf.column_writes:
        kind = "over" if cw.reads_itself or cw.column and mentioned.get(cw.column, c.i) < c.i else "new"
        f[f"colw:{kind}"] = 1.0
        if cw.rows:
            f[f"colw:{kind}:rows"] = 1.0
        via = _via_kind(cw.via)
        if via:
            f[f"colw:{kind}:{via}"] = 1.0
    for _, what in cf.subsets:
        f[f"subset:{what}"] = 1.0


@feature
def model_outputs(c: CellView, f: dict[str, float]) -> None:
    """It reads a value made from a fitted model's predictions or scores (metrics,
    importances): showing a score is evaluation, showing data is eda."""
    for kind in sorted(c.notebook.model_output_reads.get(c.i, ())):
        f[f"reads_model:{kind}"] = 1.0
        if c.cf is not None and c.cf.display_only:
            f[f"shows_model:{kind}"] = 1.0


@feature
def call_names(c: CellView, f: dict[str, float]) -> None:
    """Its calls (APIs whole, methods by name), module roots and telling keyword arguments."""
    cf = c.cf
    if cf is None:
        return
    for call in cf.calls:
        f[f"call:{_call_key(call.name)}"] = 1.0
        if "." in call.name and call.receiver is None:
            f[f"module:{call.name.split('.', 1)[0]}"] = 1.0
        for kw in call.keywords:
            if kw in lex.FEATURE_KEYWORDS:
                f[f"kw:{kw}"] = 1.0


@feature
def signal_hits(c: CellView, f: dict[str, float]) -> None:
    """Every evidence hit by signal, stage and reason (without the notebook's own names)."""
    for hit in c.ev.hits:
        f[f"hit:{hit.signal}:{hit.stage.value}:{_template(hit.reason)}"] = 1.0


@feature
def notebook_context(c: CellView, f: dict[str, float]) -> None:
    """What the whole notebook is, crossed with the rule stage: its file name for every cell;
    where a monitoring notebook's cells are misread (its plots, queries and scores look like
    eda/evaluation/prediction), whether it loads a saved model and fits none, or computes drift.
    The monitoring flags also say whether the cell comes before the first cell whose own code
    monitors: a monitoring notebook often rebuilds its data first, and those cells are 28 %
    monitoring in the corpus against 87 % from that cell on (corpus README, round 49)."""
    stage = c.base.stage
    first = c.notebook.first_monitor
    side = "" if first is None else ":before" if c.i < first else ":from"
    flags = sorted(c.notebook.flags & _FILE_FLAGS)
    if stage in _MONITOR_LOOKALIKES:
        flags += sorted(c.notebook.flags - _FILE_FLAGS)
    for flag in flags:
        f[f"nb:{flag}:{stage.value}"] = 1.0
        if side and flag in _MONITOR_FLAGS:
            f[f"nb:{flag}{side}:{stage.value}"] = 1.0


_MONITOR_LOOKALIKES = frozenset({Stage.EDA, Stage.EVALUATION, Stage.PREDICTION, Stage.MONITORING})
_FILE_FLAGS = frozenset({"file_scoring", "file_monitoring"})
_MONITOR_FLAGS = frozenset({"file_monitoring", "drift"})


def _first_monitor(evidence: Sequence[Evidence], seq: Sequence[int]) -> int | None:
    return next((i for i in seq
                 if evidence[i].stage_weight(Stage.MONITORING, exclude=TEXT_SIGNALS) >= STRONG_MONITORING),
                None)


def _notebook_flags(ctx: Context, result: Sequence[Classification], seq: Sequence[int],
                    first_monitor: int | None) -> frozenset[str]:
    """Notebook-level facts: "loads_no_fit" (it loads a saved or registered model and no cell's
    rule stage is training), "drift" (some cell's code gave strong monitoring evidence: a
    drift helper or monitor, metrics of fresh labels or over time), and "file_scoring" /
    "file_monitoring" (the notebook's file name says it scores new data or monitors a model:
    whole scoring notebooks prepare their data in cells whose code reads as data-prep)."""
    flags: set[str] = set()
    if ctx.scores_with_loaded_model and not any(result[i].stage is Stage.TRAINING for i in seq):
        flags.add("loads_no_fit")
    if first_monitor is not None:
        flags.add("drift")
    # The notebook's own file name: "05_inference", "batch_scoring", "model_monitoring".
    words = name_tokens(PurePath(str(ctx.nb.path)).stem)
    if words & lex.SCORING_FILE_WORDS:
        flags.add("file_scoring")
    if words & lex.MONITORING_FILE_WORDS:
        flags.add("file_monitoring")
    return frozenset(flags)


@feature
def lineage(c: CellView, f: dict[str, float]) -> None:
    """The main-line stages its values reach through every later cell that reads them (not
    only the next reader), and the stages its inputs came from: prep of a file scored after
    training feeds prediction only; a cleaning step feeds training."""
    up, down = c.notebook.lineage.get(c.i, (0, 0))
    f[f"feeds_first:{_first_bit(down)}"] = 1.0
    f[f"fed_last:{_last_bit(up)}"] = 1.0
    for k, st in enumerate(_MAIN):
        if down >> k & 1:
            f[f"feeds:{st.value}"] = 1.0
        if up >> k & 1:
            f[f"fed_by:{st.value}"] = 1.0


# the main line: eda is a side branch and feeds nothing; setup feeds everything
_MAIN = tuple(sorted((s for s in _ORDER if s.is_pipeline and s is not Stage.EDA), key=lambda s: s.order))


def _first_bit(bits: int) -> str:
    for k, s in enumerate(_MAIN):
        if bits >> k & 1:
            return s.value
    return "none"


def _last_bit(bits: int) -> str:
    for k in range(len(_MAIN) - 1, -1, -1):
        if bits >> k & 1:
            return _MAIN[k].value
    return "none"


def _lineage(facts: Sequence[CellFacts | None], result: Sequence[Classification],
             seq: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per code cell, bit sets over ``_MAIN`` of the rule stages upstream and downstream of it
    through names (last writer before a read), in one pass each way."""
    bit = {s: 1 << k for k, s in enumerate(_MAIN)}
    order = sorted(seq)
    up: dict[int, int] = {}
    last: dict[str, int] = {}
    for i in order:
        cf = facts[i]
        if cf is None:
            continue
        acc = 0
        for name in cf.reads:
            j = last.get(name)
            if j is not None:
                acc |= up[j] | bit.get(result[j].stage, 0)
        up[i] = acc
        for name in cf.writes:
            last[name] = i
    down: dict[int, int] = {}
    flow: dict[str, int] = {}
    for i in reversed(order):
        cf = facts[i]
        if cf is None:
            continue
        acc = 0
        for name in cf.writes:
            acc |= flow.get(name, 0)
        down[i] = acc
        for name in cf.writes:
            flow[name] = 0
        mine = acc | bit.get(result[i].stage, 0)
        for name in cf.reads:
            flow[name] = flow.get(name, 0) | mine
    return {i: (up.get(i, 0), down.get(i, 0)) for i in order}


@feature
def stored_outputs(c: CellView, f: dict[str, float]) -> None:
    """What the cell showed when its author ran it, when the notebook keeps its outputs: a plot,
    a table, printed text, an error, and the words printed ("accuracy", "epoch", "non-null",
    "drift"). Public notebooks mostly keep them; without them the other features decide (the
    fit sees both kinds of notebook)."""
    outs = c.notebook.nb.cells[c.i].outputs
    if not outs:
        return
    words: dict[str, None] = {}
    for o in outs:
        kind = o.get("output_type")
        if kind == "stream":
            f["out:stream"] = 1.0
            text = o.get("text", "")
        elif kind == "error":
            f["out:error"] = 1.0
            continue
        else:
            data = o.get("data")
            if not isinstance(data, Mapping):
                continue
            if any(k.startswith("image/") for k in data):
                f["out:image"] = 1.0
            if "text/html" in data:
                f["out:html"] = 1.0
            text = data.get("text/plain", "")
        if isinstance(text, list):
            text = "".join(t for t in text if isinstance(t, str))
        if isinstance(text, str):
            for w in _OUT_WORD.findall(text[:_OUT_CHARS].lower()):
                words.setdefault(w[:_OUT_STEM], None)
    # the first words printed, in a fixed order (the order of the features is the order of
    # predict's float sums)
    for w in sorted(list(words)[:_OUT_WORDS]):
        f[f"out_tok:{w}"] = 1.0


_OUT_WORD = re.compile(r"[a-z]{4,}")
_OUT_CHARS, _OUT_STEM, _OUT_WORDS = 600, 6, 40


@feature
def length(c: CellView, f: dict[str, float]) -> None:
    lines = len([ln for ln in c.notebook.nb.cells[c.i].source.splitlines() if ln.strip()])
    f["log_lines"] = round(math.log1p(lines), 4)


def _via_kind(via: str) -> str:
    """A column write's ``via`` as a word the corpus has many of: a method that fixes values,
    one that encodes/transforms them, arithmetic, a constant, or some other call."""
    if via in ("op", "const"):
        return via
    if via in lex.COLUMN_FIX_METHODS:
        return "fix"
    if via in lex.COLUMN_ENCODE_METHODS:
        return "encode"
    return "call" if via else ""


def _model_outputs_made(cf: CellFacts, ctx: Context) -> set[str]:
    """What model output the cell makes: "pred" (a model's predict, Spark ML's model.transform)
    and/or "score" (a metric, a model's score/evaluate, an explainer, importances or CV results)."""
    made: set[str] = set()
    if cf.attributes & lex.MODEL_OUTPUT_ATTRS:
        made.add("score")
    for call in cf.calls:
        method = call.method
        if "." not in call.name:
            continue
        if method in lex.PREDICT_METHODS:
            made.add("pred")
        elif method in lex.MODEL_OUTPUT_METHODS:
            made.add("score")
        elif method == "transform" and call.receiver and ctx.receiver_kind(call.receiver, cf.index) in ("model", "loaded"):
            made.add("pred")  # Spark ML: model.transform(test) adds the predictions
        elif ctx.resolve(call.name)[0].startswith(lex.MODEL_OUTPUT_MODULES):
            made.add("score")
    return made


_MODEL_KINDS = ("model", "loaded", "transformer", "evaluator", "pipeline", "feature_store")


def _model_output_readers(facts: Sequence[CellFacts | None], ctx: Context) -> dict[int, frozenset[str]]:
    """Per cell, the kinds of model output ("pred", "score") among the names it reads, followed
    through the cells that bind new names from them (``preds`` -> ``results_df`` ->
    ``results_df.head()``). A frame changed in place by a cell that makes output
    (``df["pred"] = model.predict(X)``) holds it too; the model itself does not."""
    holds: dict[str, set[str]] = {"pred": set(), "score": set()}
    out: dict[int, frozenset[str]] = {}
    for cf in facts:
        if cf is None:
            continue
        made = _model_outputs_made(cf, ctx)
        read = frozenset(k for k, names in holds.items() if names and not names.isdisjoint(cf.reads))
        if read:
            out[cf.index] = read
        for kind, names in holds.items():
            if kind in made or kind in read:
                names |= {n for n in cf.defines if ctx.kind_of(n, cf.index) not in _MODEL_KINDS}
                if kind in made:
                    names |= {cw.frame for cw in cf.column_writes if cw.frame}
            else:
                names -= cf.defines
    return out


def _first_mentions(facts: Sequence[CellFacts | None]) -> dict[str, int]:
    """The first cell whose string literals (column names among them) hold each text: a column
    an earlier cell named exists when a later cell sets it."""
    first: dict[str, int] = {}
    for cf in facts:
        if cf is not None:
            for text in cf.strings:
                first.setdefault(text, cf.index)
    return first


def _call_key(name: str) -> str:
    """``pandas.read_csv`` stays whole (an API); ``df.groupby().mean`` becomes ``.mean``
    (a method: the local name means nothing across notebooks)."""
    head, _, last = name.rpartition(".")
    if not head:
        return name if name.isidentifier() and len(name) < 40 else "?"
    root = head.split(".", 1)[0].split("(", 1)[0].split("[", 1)[0]
    return name if root in lex.MODULE_ROOTS else f".{last}"


@lru_cache(maxsize=8192)  # pure; the callers only iterate the set (names recur in every cell)
def _tokens(name: str) -> set[str]:
    """Lower-case words of an identifier (``X_train`` -> x, train; ``dfClean`` -> df, clean)."""
    out: set[str] = set()
    word = ""
    for ch in name:
        if ch == "_" or ch.isdigit():
            if word:
                out.add(word.lower())
            word = ""
        elif ch.isupper() and word and not word[-1].isupper():
            out.add(word.lower())
            word = ch
        else:
            word += ch
    if word:
        out.add(word.lower())
    return {w for w in out if len(w) <= 12}


@lru_cache(maxsize=8192)  # pure (hit reasons recur across cells)
def _template(reason: str) -> str:
    """A hit's reason without the notebook's own names: ``predicts on new data test_df`` ->
    ``predicts on new data``; names in backticks and quotes are dropped, calls keep their API."""
    if reason.startswith("calls "):
        return "calls " + _call_key(reason[6:])
    words = []
    for word in reason.split():
        if word[:1] in "`'\"(" or any(ch.isdigit() for ch in word) or "_" in word or "." in word:
            continue
        words.append(word)
    return " ".join(words[:6])


def _producer_stages(i: int, cf: CellFacts, ctx: Context, result: Sequence[Classification]) -> list[Stage]:
    stages: set[Stage] = set()
    for name in sorted(cf.reads):
        writers = ctx.writers.get(name, ())
        before = bisect_left(writers, i)  # writers are in cell order: the last one before i
        if before and result[writers[before - 1]].stage.is_pipeline:
            stages.add(result[writers[before - 1]].stage)
    return sorted(stages, key=lambda s: s.order)


class _LaterReaders:
    """The pipeline stages among a name's readers after a cell, as suffix unions over its
    readers (in cell order) computed once per name: a name read all over a long notebook
    (``df``) would otherwise be rescanned for every cell that writes it."""

    def __init__(self, ctx: Context, result: Sequence[Classification]) -> None:
        self.ctx, self.result = ctx, result
        self.suffix: dict[str, list[frozenset[Stage]]] = {}

    def after(self, name: str, i: int) -> frozenset[Stage]:
        readers = self.ctx.readers.get(name, ())
        suffix = self.suffix.get(name)
        if suffix is None:
            acc: frozenset[Stage] = frozenset()
            suffix = [acc] * (len(readers) + 1)
            for j in range(len(readers) - 1, -1, -1):
                stage = self.result[readers[j]].stage
                if stage.is_pipeline and stage not in acc:
                    acc = acc | {stage}
                suffix[j] = acc
            self.suffix[name] = suffix
        return suffix[bisect_right(readers, i)]


def _later_reader_stages(i: int, cf: CellFacts, later: _LaterReaders) -> list[Stage]:
    stages: set[Stage] = set()
    for name in cf.writes:
        stages |= later.after(name, i)
    return sorted(stages, key=lambda s: s.order)


STACK_OFFSETS = (-2, -1, 1, 2)


def stack_features(probs: Sequence[Mapping[str, float]], pos: int) -> dict[str, float]:
    """The second pass's extra features for the cell at ``pos`` of the decoded sequence: the first
    pass's probability of every stage for it (``s_own``) and for two code cells each side."""
    f = {f"s_own:{stage}": p for stage, p in sorted(probs[pos].items())}
    for off in STACK_OFFSETS:
        j = pos + off
        if 0 <= j < len(probs):
            for stage, p in sorted(probs[j].items()):
                f[f"s_n{off}:{stage}"] = p
    return f


def predict_sequence(features: Sequence[Mapping[str, float]], weights: Mapping[str, Any],
                     fixed: Mapping[int, str] | None = None) -> list[list[tuple[Stage, float]]]:
    """(stage, probability) per cell of a decoded sequence, best first: the first model, then the
    second (``weights["stack"]``, when the file has one) over its features and the first model's
    probabilities around each cell. ``fixed``: positions whose stage a tag decided (certain)."""
    first = [predict(f, weights) for f in features]
    stack = weights.get("stack")
    if not stack:
        return first
    probs = [{s.value: p for s, p in ranked} for ranked in first]
    for pos, stage in (fixed or {}).items():
        probs[pos] = {c: float(c == stage) for c in weights["classes"]}
    trees = weights.get("trees")
    out = []
    for pos, f in enumerate(features):
        both = {**f, **stack_features(probs, pos)}
        ranked = predict(both, stack)
        if trees and ranked[0][1] < trees["gate"]:
            mixed = boosted.blend({s.value: p for s, p in ranked}, both, trees)
            ranked = _ranked(mixed)
        out.append(ranked)
    return out


def predict(features: Mapping[str, float], weights: Mapping[str, Any]) -> list[tuple[Stage, float]]:
    """(stage, probability) for every class, best first."""
    classes = weights["classes"]
    table: Mapping[str, Sequence[float]] = weights["weights"]
    intercept = weights["intercept"]
    get = table.get
    width = len(intercept)
    # Each class's score is the intercept plus every known feature's ``w * value`` added in
    # feature order (``scores[k] += w * value`` feature by feature): the same left folds, run by
    # ``functools.reduce`` over the columns in C (``w * 1.0`` is exactly ``w``: most features).
    terms: list[Sequence[float]] = []
    for name, value in features.items():
        row = get(name)
        if row is not None:
            terms.append(row if value == 1.0 else list(map(mul, row, repeat(value))))
    if not all(map(width.__eq__, map(len, terms))):  # (never with fitted weights) the plain loop
        scores = list(intercept)
        for row in terms:
            for k, w in enumerate(row):
                scores[k] += w
    elif terms:
        scores = list(map(reduce, repeat(add), zip(*terms), intercept))
    else:
        scores = list(intercept)
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return _ranked({c: e / total for c, e in zip(classes, exps)})


def _ranked(probs: Mapping[str, float]) -> list[tuple[Stage, float]]:
    """(stage, probability) best first; a tie goes to the earlier pipeline stage."""
    pairs = [(_STAGE_OF.get(c) or Stage(c), p) for c, p in probs.items()]
    return sorted(pairs, key=lambda p: (-p[1], p[0].order if p[0].is_pipeline else 99))


_STAGE_OF = {stage.value: stage for stage in Stage}
