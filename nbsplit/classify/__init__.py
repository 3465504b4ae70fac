"""Classify every cell of a notebook into a pipeline stage, with a confidence and reasons.

``classify_notebook(nb, facts, config)`` runs, in this order:

1. explicit marks (``tags``: ``nbsplit:<slug>`` tags and directives) -> confidence 1.0;
2. user rules from ``[tool.nbsplit]`` (``rules``) -> 0.95;
3. empty cells -> ``skip``;
4. the evidence signals of ``SIGNALS`` (calls, structure, headings), each adding weighted hits
   to every cell's ``Evidence``;
5. the sequence decoder (``sequence``): Viterbi over the code cells with a forward-moving
   transition prior, max-marginal confidences;
6. helper-only cells take the stage of their callers (``helpers``);
7. preparing new data after training, only for prediction, is prediction (``scoring``); a value
   an "eda" cell computes only for one later stage belongs to that stage (``feeds``);
8. a cell that only shows data stays ``eda`` whatever stage built it (eda is a side branch that
   may look at any stage; the plan loads the snapshot it saw); one that only shows a model's
   results (metrics, drift) takes their stage (``shows``); markdown and raw cells take the stage
   of the section they introduce.

How signals are registered (one mechanism, ``registry.Registry``: an ordered list of named
functions, run top to bottom):

- ``SIGNALS`` below: the notebook-wide evidence signals, explicitly and in order (structure
  adjusts what calls found: metrics in a cell that also fits are training). Each takes the
  ``Context`` and every cell's ``Evidence``.
- ``structure.IDIOMS``: the per-Python-cell idioms of the structure signal, each a short
  function over one ``idioms.PyCell`` (the cell's ``CellFacts`` plus what earlier idioms
  found), grouped in ``idioms_*`` modules named after what they own (setup, predict, columns,
  monitor, sql, display, magics).
- ``learned.FEATURES``: the fitted layer's feature families (``@feature``), over one
  ``learned.CellView``.

A new signal reads ``CellFacts`` (add what it needs to the analysis, not a regular expression
over the source), adds evidence or features, and registers where its order says; every word
list it matches goes in ``lexicon``; every weight, cap or confidence that is fitted or tuned
goes in ``weights.json`` (``fitted.constant``). Producers and consumers of values are followed
through ``Context`` (``writers``, ``readers``, ``origins``, ``kind_of``) and nowhere else.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import replace
from typing import Callable, Sequence

from nbsplit.classify import calls, feeds, fitted, headings, helpers, learned, rules, scoring, sequence, shows, structure, tags
from nbsplit.classify.context import Context
from nbsplit.classify.evidence import TEXT_SIGNALS, Evidence
from nbsplit.classify.registry import Registry
from nbsplit.config import Config
from nbsplit.analyze import analyze_source
from nbsplit.model import Cell, CellFacts, Classification, Diagnostic, Notebook, Stage

__all__ = ["classify_notebook", "SIGNALS", "CLASSIFIER_VERSION"]

CLASSIFIER_VERSION = "1"
# The classifier's diagnostic codes (documented with check's rules in check_rules.py): tools act
# on the code and the cell, not on the message's words.
CODE_UNCERTAIN = "NBS104"  # below the confidence threshold: the same rule check reports
CODE_UNPARSED = "NBS116"  # a code cell that does not parse: classified from its text only
TEXT_ONLY = "; classified from text only"  # how the NBS116 message ends (check rewords it)

Signal = Callable[[Context, Sequence[Evidence]], None]
SIGNALS: Registry[Signal] = Registry("signals")
SIGNALS.register(calls.apply, "calls")
SIGNALS.register(structure.apply, "structure")
SIGNALS.register(headings.apply, "headings")
_MAX_REASONS = 3
_HEADING_CAP = fitted.constant("confidence.heading_cap")
_WEAK_CODE = fitted.constant("confidence.weak_code")
_WEAK_CAP = fitted.constant("confidence.weak_cap")
_HEADING_AGAINST_CODE_CAP = fitted.constant("confidence.heading_against_code_cap")


def classify_notebook(
    nb: Notebook, facts: Sequence[CellFacts | None], config: Config
) -> tuple[tuple[Classification, ...], tuple[Diagnostic, ...]]:
    cells = nb.cells
    if len(facts) != len(cells):
        raise ValueError(f"{len(facts)} CellFacts for {len(cells)} cells")
    diags: list[Diagnostic] = []
    result: list[Classification | None] = [None] * len(cells)
    forced: dict[int, Stage] = {}
    nb, facts = _uncomment_code(nb, facts)
    cells = nb.cells
    ctx = Context.build(nb, facts)

    for cell, f in zip(cells, facts):
        mark, problems = tags.explicit_mark(cell)
        diags.extend(problems)
        # a cell marked skip goes nowhere: what it reads or writes does not matter
        if f is not None and not f.parsed and cell.kind == "code" and not (mark is not None and mark.stage is Stage.SKIP):
            problem = f.error or "syntax error"
            if not problem.startswith("too deeply nested"):
                problem = f"could not parse: {problem}"
            diags.append(Diagnostic("warning", f"{problem}{TEXT_ONLY}",
                                    cell.index, CODE_UNPARSED, (cell.index,)))
        if mark is not None:
            result[cell.index] = Classification(cell.index, mark.stage, 1.0, mark.origin, (mark.reason,))
            forced[cell.index] = mark.stage
            continue
        if cell.kind == "code" and cell.is_empty:
            result[cell.index] = Classification(cell.index, Stage.SKIP, 1.0, "default", ("empty cell",))
            forced[cell.index] = Stage.SKIP
            continue
        rule = rules.match_rule(config.rules, cell, f, ctx)
        if rule is not None:
            result[cell.index] = Classification(cell.index, rule.stage, rules.CONFIDENCE, "rule", (rule.describe(),))
            forced[cell.index] = rule.stage

    evidence = [Evidence() for _ in cells]
    for _, signal in SIGNALS:
        signal(ctx, evidence)

    # Decode the code cells that are not skipped.
    seq = [c.index for c in cells if c.kind == "code" and forced.get(c.index) is not Stage.SKIP]
    emissions: list[list[float]] = []
    for i in seq:
        if i in forced:
            emissions.append([sequence.FORCED if s is forced[i] else 0.0 for s in sequence.LABELS])
        else:
            scores = evidence[i].scores()
            emissions.append([scores.get(s, 0.0) for s in sequence.LABELS])
    labels, margins, _ = sequence.decode(emissions)
    decoded = dict(zip(seq, labels))
    verdicts = helpers.helper_stages(ctx, {i: result[i].stage if result[i] else s for i, s in decoded.items()})

    for pos, i in enumerate(seq):
        if result[i] is not None:
            continue
        verdict = verdicts.get(i)
        if verdict is not None:
            result[i] = Classification(i, verdict.stage, verdict.confidence, "heuristic", (verdict.reason,))
            decoded[i] = verdict.stage
            continue
        result[i] = _explain(i, labels[pos], margins[pos], evidence[i], pos, seq, labels)

    placed = {i: c for i in seq if (c := result[i]) is not None}
    decoded.update(scoring.apply(ctx, facts, placed, forced, seq))
    decoded.update(feeds.apply(ctx, facts, placed, forced, seq))
    decoded.update(shows.apply(ctx, facts, placed, forced, seq))
    for i, c in placed.items():
        result[i] = c
    _rescore(nb, facts, ctx, evidence, result, seq, forced, decoded)

    _classify_text_cells(nb, result, decoded)

    out = tuple(c for c in result if c is not None)
    assert len(out) == len(cells)
    for c, cell in zip(out, cells):
        if cell.kind == "code" and c.confidence < config.threshold and c.index not in forced:
            diags.append(Diagnostic(
                "warning",
                f"uncertain stage '{c.stage.value}' (confidence {c.confidence:.2f}): "
                f"{'; '.join(c.reasons) or 'no evidence'}; tag it 'nbsplit:<stage>' to decide",
                c.index, CODE_UNCERTAIN, (c.index,),
            ))
    diags.sort(key=lambda d: (d.cell if d.cell is not None else -1, d.severity != "error"))
    return out, tuple(diags)


_COMMENT_MARK = re.compile(r"^[ \t]*#+ ?", re.M)


def _uncomment_code(nb: Notebook, facts: Sequence[CellFacts | None]
                    ) -> tuple[Notebook, Sequence[CellFacts | None]]:
    """Classify a fully commented-out code cell by the code it would run (LABELING: "labelled by
    what the code would do"): ``#data.info()`` is eda. Only when the uncommented text parses and
    calls or binds something (prose like ``# Load the data`` does not parse; ``# TODO`` binds
    nothing). The view is the classifier's alone: the plan's dataflow keeps the real facts."""
    swaps: dict[int, tuple[Cell, CellFacts]] = {}
    for cell, f in zip(nb.cells, facts):
        if cell.kind != "code" or f is None or f.calls or f.defines or cell.language != "python":
            continue
        lines = [ln for ln in cell.source.splitlines() if ln.strip()]
        if not lines or not all(ln.lstrip().startswith("#") for ln in lines):
            continue
        code = _COMMENT_MARK.sub("", cell.source)
        view = analyze_source(code, cell.index)
        if view.parsed and (view.calls or view.defines):
            swaps[cell.index] = (replace(cell, source=code), view)
    if not swaps:
        return nb, facts
    cells = tuple(swaps[c.index][0] if c.index in swaps else c for c in nb.cells)
    return replace(nb, cells=cells), [swaps[i][1] if i in swaps else f for i, f in enumerate(facts)]


def _rescore(nb: Notebook, facts: Sequence[CellFacts | None], ctx: Context, evidence: Sequence[Evidence],
             result: list[Classification | None], seq: list[int], forced: dict[int, Stage],
             decoded: dict[int, Stage]) -> None:
    """The fitted model's stage for every unmarked code cell (see ``learned``)."""
    weights = learned.active_weights()
    if weights is None and learned.capture is None:
        return
    feats = learned.cell_features(nb, facts, ctx, evidence, result, seq)  # type: ignore[arg-type]
    if learned.capture is not None:
        learned.capture.extend((nb.path, i, feats[i], result[i]) for i in seq if i not in forced)
    if weights is None:
        return
    positions = {j: pos for pos, j in enumerate(seq)}
    fixed = {positions[i]: stage.value for i, stage in forced.items() if i in positions}
    predicted = learned.predict_sequence([feats[i] for i in seq], weights, fixed)
    for i in seq:
        if i in forced:
            continue
        base = result[i]
        assert base is not None
        ranked = predicted[positions[i]]
        stage, prob = ranked[0]
        conf = round(min(prob, 0.99), 2)
        scores = tuple((s.value, round(p, 4)) for s, p in ranked)
        if stage is base.stage:
            result[i] = Classification(i, stage, conf, base.origin, base.reasons, scores)
            continue
        reasons = evidence[i].reasons(stage, _MAX_REASONS)
        code_w = evidence[i].stage_weight(stage, exclude=TEXT_SIGNALS)
        text_w = evidence[i].stage_weight(stage) - code_w
        # the origin names the kind of evidence the reasons give: weak code evidence for the
        # fitted stage ("imports numpy") is still code, not a heading
        origin = ("heuristic" if code_w >= 1.0 or (code_w > 0 and code_w >= text_w)
                  else "heading" if reasons else "neighbour")
        if not reasons:
            # only the neighbours count: a window of the labels as they are now (earlier cells
            # already rescored), not a copy of all of them per cell
            pos = positions[i]
            start = max(pos - 1, 0)
            window = [result[j].stage for j in seq[start:pos + 2]]  # type: ignore[union-attr]
            reasons = [_context_reason(pos - start, stage, window)]
        result[i] = Classification(i, stage, conf, origin,
                                   (*reasons[:_MAX_REASONS - 1], f"fitted weights prefer {stage.value} "
                                    f"over the rules' {base.stage.value}"), scores)
        decoded[i] = stage


def _explain(i: int, stage: Stage, margin: float, ev: Evidence, pos: int, seq: list[int],
             labels: list[Stage]) -> Classification:
    code_w = ev.stage_weight(stage, exclude=TEXT_SIGNALS)
    text_w = ev.stage_weight(stage) - code_w
    reasons = ev.reasons(stage, _MAX_REASONS)
    if code_w >= 1.0:
        origin = "heuristic"
    elif text_w >= 0.5:
        origin = "heading"
    else:
        origin = "neighbour"
        context = _context_reason(pos, stage, labels)
        reasons = [context, *reasons][:_MAX_REASONS]
    conf = sequence.confidence(margin, contextual=origin == "neighbour")
    if origin == "heuristic" and code_w < _WEAK_CODE:
        # One weak signal (a peek, "computes values only to show them", a bare .drop) decides the
        # stage; the decoder's margin then mostly measures the neighbours, so keep it uncertain-ish.
        conf = min(conf, _WEAK_CAP)
    if origin == "heading":
        # Headings are coarse ("Carga de Datos" over a split): a heading alone never makes a cell
        # certain, and against the cell's own code evidence it is a guess.
        rival = max((w for s, w in ev.scores(exclude=TEXT_SIGNALS).items() if s is not stage), default=0.0)
        conf = min(conf, _HEADING_CAP if rival < 1.0 else _HEADING_AGAINST_CODE_CAP)
    return Classification(i, stage, conf, origin, tuple(reasons))


def _context_reason(pos: int, stage: Stage, labels: list[Stage]) -> str:
    if pos > 0 and labels[pos - 1] is stage:
        return f"follows {stage.value} cells"
    if pos + 1 < len(labels) and labels[pos + 1] is stage:
        return f"precedes {stage.value} cells"
    if pos > 0 and pos + 1 < len(labels):
        return f"between {labels[pos - 1].value} and {labels[pos + 1].value} cells"
    return "no stage evidence; placed by its position"


def _classify_text_cells(nb: Notebook, result: list[Classification | None], decoded: dict[int, Stage]) -> None:
    """Markdown/raw cells: the stage of the section they introduce; the intro/title is setup."""
    cells = nb.cells
    code_positions = [c.index for c in cells if c.kind == "code" and c.index in decoded]
    first_code = code_positions[0] if code_positions else len(cells)
    next_code: list[int | None] = [None] * len(cells)
    upcoming: int | None = None
    for cell in reversed(cells):
        next_code[cell.index] = upcoming
        if cell.kind == "code" and cell.index in decoded:
            upcoming = cell.index
    previous: int | None = None
    sections = _Sections(cells, decoded)
    for cell in cells:
        if cell.kind == "code" and cell.index in decoded:
            previous = cell.index
            continue
        if result[cell.index] is not None:
            continue
        nxt = next_code[cell.index]
        heads = headings.headings_of(cell) if cell.kind == "markdown" else []
        named = [s for h in heads for s, w in h.stages if w >= 1.0]
        is_title = bool(heads) and heads[0].level == 1 and not named
        if cell.index < first_code:
            target = result[nxt] if nxt is not None else None
            if target is not None and named and target.stage in named and target.stage.is_pipeline:
                result[cell.index] = Classification(cell.index, target.stage, round(target.confidence * 0.9, 2),
                                                    "heading", (f"introduces {target.stage.value} cells",))
            else:
                result[cell.index] = Classification(cell.index, Stage.SETUP, 0.9, "default",
                                                    ("notebook title/introduction",))
            continue
        if is_title:
            result[cell.index] = Classification(cell.index, Stage.SETUP, 0.8, "default", ("notebook title",))
            continue
        section = _section_code(sections, cell.index)
        if not section:
            anchor = previous
            if anchor is None or result[anchor] is None:
                result[cell.index] = Classification(cell.index, Stage.SETUP, 0.5, "default", ("no code cells",))
                continue
            target = result[anchor]
            verb = "follows"
        else:
            stages = [result[i].stage for i in section if result[i] is not None]
            pick = next((s for s in stages if s in named), None) or next(
                (s for s in stages if s.is_pipeline), stages[0])
            target = result[next(i for i in section if result[i] is not None and result[i].stage is pick)]
            verb = "introduces"
        conf = round(min(target.confidence, 0.95) * 0.9, 2)
        result[cell.index] = Classification(cell.index, target.stage, conf, "neighbour",
                                            (f"{verb} {target.stage.value} cells",))


def _section_code(sections: "_Sections", start: int) -> list[int]:
    """Code cells of the section a markdown cell opens: up to the next markdown heading."""
    lo = bisect_right(sections.code, start)
    hi = bisect_left(sections.code, sections.next_heading[start])
    return sections.code[lo:hi]


class _Sections:
    def __init__(self, cells, decoded: dict[int, Stage]) -> None:
        self.code = [c.index for c in cells if c.kind == "code" and c.index in decoded]
        self.next_heading = [len(cells)] * len(cells)
        upcoming = len(cells)
        for cell in reversed(cells):
            self.next_heading[cell.index] = upcoming
            if cell.kind == "markdown" and headings.headings_of(cell):
                upcoming = cell.index
