"""Signal: the library APIs a cell calls, looked up in ``api_table``.

What: every call of a code cell is resolved through the notebook's imports (``pd.read_csv`` ->
``pandas.read_csv``), then matched against ``api_table.CALLS`` (module calls), ``METHODS``
(methods on local data, ``df.fillna``), feature-store client methods, and ``ATTRIBUTES``
(``best_params_``). A call to a helper defined in the notebook inherits, weakened, the evidence
of the helper's body (``plot_categories(df, ...)`` draws seaborn plots -> eda).

Why: which well-known APIs a cell uses is the single best predictor of its stage, and it works
on cells nobody has seen before.

Example: ``cm = confusion_matrix(y_test, y_pred)`` (``from sklearn.metrics import
confusion_matrix`` anywhere above) -> evaluation 3.0, "calls sklearn.metrics.confusion_matrix".
"""

from __future__ import annotations

import builtins
import re
from typing import Iterable, Sequence

from nbsplit.classify import fitted
from nbsplit.classify import api_table as api
from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, lookup_call, name_tokens
from nbsplit.classify.evidence import Evidence, Hit
from nbsplit.model import Call, CellFacts, Stage

SIGNAL = "calls"
_HELPER_FACTOR = fitted.constant("calls.helper_factor")


def apply(ctx: Context, evidence: Sequence[Evidence]) -> None:
    for cell, facts, ev in zip(ctx.nb.cells, ctx.facts, evidence):
        if facts is None or cell.kind != "code":
            continue
        for fn in facts.functions:
            # Evidence of a helper's body, handed to the cells that call it.
            body = call_hits(ctx, fn.calls, cell.index, in_function=True)
            if len(facts.functions) == 1:
                # def plot_importances(m): plt.barh(..., m.feature_importances_): the attribute says
                # what the helper looks at (only attributable when the cell holds one function)
                for attr in sorted(facts.attributes):  # hits keep their order: reasons tie-break by it
                    hint = api.ATTRIBUTES.get(attr)
                    if hint is not None:
                        body.append(Hit(hint[0], hint[1], f"uses .{attr}", SIGNAL))
            if any(h.stage is Stage.TRAINING and h.reason.startswith("fits") for h in body):
                # a helper that fits models and scores them picks a model: training, like a cell would
                for h in body:
                    if h.stage is Stage.EVALUATION:
                        h.weight *= 0.3
            if _controls_streams(facts) and ctx.scores_with_loaded_model:
                # until_stream_is_ready(name): waits on the scoring stream of a loaded model
                body.append(Hit(Stage.PREDICTION, 2.2, "controls the scoring stream", SIGNAL))
            ctx.function_hits[fn.name] = _strongest(body)
        for hit in call_hits(ctx, facts.calls, cell.index, reads=facts.reads):
            ev.hits.append(hit)
        if not facts.functions and _controls_streams(facts) and ctx.scores_with_loaded_model:
            # for q in spark.streams.active: q.stop(): stopping the stream that scores new data
            ev.add(Stage.PREDICTION, 2.2, "controls the scoring stream", SIGNAL)
        called = {c.name.split(".", 1)[0] for c in facts.calls}
        scored = any(h.stage is Stage.EVALUATION and h.signal == SIGNAL for h in ev.hits)
        # Metric functions handed over as values: read from earlier imports, or imported here and used.
        values = set(facts.reads) | {alias for alias, _ in facts.imports
                                     if len(re.findall(rf"\b{re.escape(alias)}\b", cell.source)) > 1}
        for name in sorted(values - called) if not scored and not facts.import_only else ():
            # scores = [roc_auc_score, recall_score]; make_scorer(f1_score): metrics passed as values
            resolved, is_module = ctx.resolve(name)
            hint = lookup_call(resolved) if is_module and "." in resolved else None
            if hint is not None and hint[0] is Stage.EVALUATION:
                ev.add(hint[0], hint[1] * 0.8, f"uses {resolved}", SIGNAL)
                break
        for attr in sorted(facts.attributes):  # hits keep their order: reasons tie-break by it
            hint = api.ATTRIBUTES.get(attr)
            if hint is not None:
                ev.add(hint[0], hint[1], f"uses .{attr}", SIGNAL)


def _controls_streams(facts: CellFacts) -> bool:
    """``q.awaitTermination()`` or ``spark.streams`` (``for q in spark.streams.active``), in the
    cell or a helper it defines."""
    attrs = facts.attributes
    if "awaitTermination" in attrs:
        return True
    return "streams" in attrs and ("spark" in facts.reads or any("spark" in fn.free_names for fn in facts.functions))


def call_hits(ctx: Context, calls: Iterable[Call], cell: int, *, in_function: bool = False,
              reads: frozenset[str] | None = None) -> list[Hit]:
    hits: list[Hit] = []
    seen: set[str] = set()
    chains: set[str] = set()
    for call in calls:
        if call.name in seen:
            continue
        seen.add(call.name)
        resolved, is_module = ctx.resolve(call.name)
        if is_module:
            # One chain, one hit: spark.table(...).toPandas().drop(...) is one read, not three.
            if any(resolved.startswith(prefix + ".") for prefix in chains):
                continue
            hint = lookup_call(resolved)
            if hint is not None:
                hits.append(Hit(hint[0], hint[1], f"calls {resolved}", SIGNAL))
                chains.add(resolved)
            continue
        parts = resolved.split(".")
        if len(parts) == 1:
            helper = ctx.function_hits.get(resolved)
            if helper is not None and not in_function:
                for h in helper:
                    hits.append(Hit(h.stage, h.weight * _HELPER_FACTOR, f"calls {resolved}() ({h.reason})", SIGNAL))
            if resolved in ctx.functions or resolved not in _BUILTINS:
                word = _function_word(resolved)
                if word is not None:
                    hits.append(Hit(word[0], word[1], f"calls {resolved}()", SIGNAL))
            continue
        receiver = parts[0]
        best: Hit | None = None
        kind = ctx.receiver_kind(receiver, cell)
        for method in parts[1:]:
            if kind == "feature_store" or method in ("create_training_set", "score_batch"):
                hint = api.FEATURE_STORE_METHODS.get(method)
                if hint is not None and (best is None or hint[1] > best.weight):
                    best = Hit(hint[0], hint[1], f"calls {receiver}.{method}", SIGNAL)
                    continue
            if kind == "monitor":
                # estimator.estimate(analysis), calc.calculate(analysis), report.run(...)
                best = Hit(Stage.MONITORING, 3.0, f"runs the monitor {receiver}.{method}", SIGNAL)
                break
            if kind in ("model", "loaded"):
                hint = lex.MODEL_METHOD_STAGES.get(method)
                if hint is not None and (best is None or hint[1] > best.weight):
                    best = Hit(hint[0], hint[1], f"calls {receiver}.{method}", SIGNAL)
                    continue
                data_hint = api.METHODS.get(method)
                if data_hint is not None and data_hint[0] in (Stage.EDA, Stage.DATA_PREP):
                    continue  # model.summary() is not df.summary()
            if method in lex.STRUCTURAL_METHODS:
                if in_function and method in ("fit", "train") and kind in ("model", None):
                    best = Hit(Stage.TRAINING, 2.5, f"fits {receiver}", SIGNAL)
                continue
            hint = api.METHODS.get(method)
            if hint is None and method.startswith("plot") and kind is None:
                hint = (Stage.EDA, 1.5)
            if hint is not None and hint[0] is Stage.DATA_PREP and reads is not None and receiver not in reads \
                    and not ctx.readers.get(receiver, [cell])[-1] > cell:
                # cleaning an intermediate built in this cell does not change the data others use
                # (``readers`` is in source order: its last cell is the only one to compare)
                hint = (hint[0], hint[1] * 0.5)
            if hint is not None and (best is None or hint[1] > best.weight):
                best = Hit(hint[0], hint[1], f"calls {_shown(call.name)}", SIGNAL)
        if best is not None:
            hits.append(best)
    return hits


_BUILTINS = frozenset(dir(builtins))


def _function_word(name: str) -> tuple[Stage, float] | None:
    best: tuple[Stage, float] | None = None
    for token in sorted(name_tokens(name)):  # a tie goes to the same word in every process
        hint = lex.FUNCTION_NAME_WORDS.get(token)
        if hint is not None and (best is None or hint[1] > best[1]):
            best = hint
    return best


def _shown(name: str) -> str:
    """``df[].str.lower`` -> ``df[...].str.lower`` for reasons people read."""
    return name.replace("[]", "[...]").replace("<expr>", "(...)")


def _strongest(hits: list[Hit], limit: int = 3) -> list[Hit]:
    hits.sort(key=lambda h: -h.weight)
    return hits[:limit]
