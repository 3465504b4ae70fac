"""Which stages need a Spark session, decided by the analysis rather than by the name ``spark``.

A stage that only calls ``StringIndexer(...)`` or ``F.col`` on a handed-off frame never names
``spark``, yet pyspark asserts an active SparkContext as soon as such an object is built; on
Databricks the session always exists, so a local run must start one for every stage that needs
it. A cell needs Spark when it uses any pyspark API (an import from ``pyspark``, a call or a name
resolving to one, a notebook function that does), the runtime's ``spark``/``sc``/``sqlContext``,
SQL (``%sql``, temp views), or any value computed from something that did: a frame made by
``randomSplit`` in one stage and grouped in the next is a Spark frame in both. This over-approximates
(``n = sdf.count()`` marks ``n``); the price of a wrong yes is a JVM start, of a wrong no a crash.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nbsplit.dataflow import VIEW_PREFIX
from nbsplit.model import Cell, CellFacts, Diagnostic, SplitPlan, Stage, StagePlan

__all__ = ["spark_cells", "spark_stages", "builds_session", "handed_off_draw_warnings", "binned_metric_cells"]

_DRAWS = frozenset({"randomSplit", "sample", "sampleBy"})

_RUNTIME_SPARK = frozenset({"spark", "sc", "sqlContext"})


def _is_pyspark(qualified: str) -> bool:
    return qualified == "pyspark" or qualified.startswith(("pyspark.", "databricks.feature"))


def spark_cells(cells: Sequence[Cell], facts: Sequence[CellFacts | None]) -> set[int]:
    """Indices of the code cells that need a Spark session, walking the notebook in source order."""
    if not any(c.kind == "code" and ("spark" in c.source or "sql" in c.source.lower()
                                     or "sc." in c.source or "sqlContext" in c.source) for c in cells):
        return set()  # nothing can reach Spark (plans of 1,000-cell notebooks stay fast)
    imported: dict[str, str] = {}  # name -> qualified name, as the last import bound it
    spark_values: set[str] = set()  # names last written by a cell that needed Spark
    spark_functions: set[str] = set()
    # ``sc = StandardScaler()`` is the most common scaler name in notebooks: a runtime name the
    # notebook bound to a value of its own is that value, not Databricks' SparkContext.
    rebound: set[str] = set()
    out: set[int] = set()
    for cell, f in zip(cells, facts):
        if f is None or cell.kind != "code":
            continue
        own = dict(f.imports)
        resolved = {n: own.get(n) or imported.get(n, "") for n in f.reads}
        runtime = _RUNTIME_SPARK - rebound - f.defines
        needs = (
            cell.language == "sql"
            or any(m.lstrip().startswith(("%sql", "%%sql")) for m in f.magics)
            or any(_is_pyspark(q) for q in own.values())
            or any(_is_pyspark(q) for q in resolved.values())
            or bool(f.reads & (runtime | spark_values | spark_functions))
            or any(n.startswith(VIEW_PREFIX) for n in f.reads | f.defines)
            or any(_is_pyspark(c.name) or c.name.split(".", 1)[0] in runtime for c in f.calls)
        )
        for fi in f.functions:
            names = fi.free_names
            if (any(_is_pyspark(own.get(n) or imported.get(n, "")) for n in names)
                    or names & (_RUNTIME_SPARK | spark_functions)
                    or any(_is_pyspark(c.name) for c in fi.calls)):
                spark_functions.add(fi.name)
            else:
                spark_functions.discard(fi.name)
        imported.update(own)
        written = (f.defines | f.mutates) - set(own) - {fi.name for fi in f.functions}
        if needs:
            out.add(cell.index)
            spark_values |= written
            rebound -= written  # ``sc = spark.sparkContext``: Spark's again (and a Spark value)
        else:
            spark_values -= written
            rebound |= written & _RUNTIME_SPARK
    return out


def builds_session(cells: Sequence[Cell]) -> bool:
    """The notebook makes its own session (``SparkSession.builder...getOrCreate()``): then its
    builder, with its settings, runs in the monolith and (carried like setup) in every stage, and
    the local run must not start one first."""
    return any(c.kind == "code" and ("getOrCreate(" in c.source or "SparkContext(" in c.source)
               for c in cells)


def spark_stages(plan: SplitPlan) -> tuple[Stage, ...]:
    """The plan's stages (in order) that run a cell needing Spark, copied setup cells included."""
    needing = spark_cells(plan.notebook.cells, plan.facts)
    return tuple(sp.stage for sp in sorted(plan.stages, key=lambda s: s.stage.order)
                 if needing.intersection(sp.cells))


def handed_off_draw_warnings(cells: Sequence[Cell], facts: Sequence[CellFacts | None],
                             stages: Sequence[StagePlan]) -> list[Diagnostic]:
    """Where a stage samples or splits a Spark frame it loaded (or built from one), which rows
    are drawn depends on the frame's partitions and row order. A local run restores both (see
    the runtime's spark-parquet handoff); a Delta table on Databricks keeps neither, so there the
    split may draw other rows than the monolith: say so, naming the cell."""
    if not any(f is not None and any(call.method in _DRAWS for call in f.calls) for f in facts):
        return []
    needing = spark_cells(cells, facts)
    out: list[Diagnostic] = []
    for sp in stages:
        loaded = {h.name: h for h in sp.handoffs_in if h.version in needing}
        derived: dict[str, str] = {}  # name in this stage -> the loaded name it comes from
        for c in sp.cells:
            f = facts[c] if c < len(facts) else None
            if f is None:
                continue
            for h in loaded.values():
                if h.before_cell == c:
                    derived.setdefault(h.name, h.name)
            origin = next((derived[n] for n in sorted(f.reads) if n in derived), None)
            for call in f.calls:
                if call.method in _DRAWS and call.receiver in derived:
                    h = loaded[derived[call.receiver]]
                    out.append(Diagnostic(
                        severity="warning", cell=c, code="NBS110", cells=(c, h.version), names=(h.name,),
                        message=(f"cell {c} draws `{call.receiver}.{call.method}` from a Spark frame "
                                 f"built on `{h.name}`, handed from {h.producer} (cell {h.version}): "
                                 "local runs keep its partitions and row order, a Delta table on "
                                 "Databricks does not, so there the rows drawn may differ from the "
                                 f"monolith's; `.orderBy(...)` before the {call.method} makes it exact")))
                    break
            if origin is not None:
                for n in f.defines | f.mutates:
                    derived[n] = origin
            else:
                for n in f.defines:
                    derived.pop(n, None)
    return out


# Spark ML's binary-classification summaries (a fitted model's ``.summary``, ``model.evaluate(df)``)
# bin their ROC and PR curves: the scores are sorted with ``sortByKey`` and cut into groups of
# rows/100 consecutive scores within each partition. The partition bounds come from a sample
# seeded by the RDD's id, and RDD ids count every RDD the session created before. So
# ``summary.areaUnderROC`` depends on everything the session ran earlier: the same model on the
# same rows gives 0.88125816 in the monolith of spark_flights (its training cell starts at RDD id
# 112) and 0.88124767 in its training stage (RDD id 79), printed rounded as 0.8813 and 0.8812;
# advanced to id 112, the stage prints the monolith's 0.8813. A stage never runs the cells the
# monolith ran before (eda is in another stage), so no split reproduces those digits.
_BINNED_METRICS = re.compile(
    r"\.\s*(?:areaUnderROC|fMeasureByThreshold|precisionByThreshold|recallByThreshold)\b"
    r"|\bsummary\s*\.\s*(?:roc|pr)\b|\bevaluate\([^()]*\)\s*\.\s*(?:roc|pr)\b")


def binned_metric_cells(sources: Sequence[str]) -> set[int]:
    """Positions in ``sources`` (code cells' text) of the cells reading a Spark ML summary's
    binned ROC/PR metrics (``lr_model.summary.areaUnderROC``), in a notebook that uses pyspark:
    their digits follow the session's RDD numbering, not the data or the model."""
    if not any("pyspark" in s for s in sources):
        return set()
    return {i for i, s in enumerate(sources) if _BINNED_METRICS.search(s)}
