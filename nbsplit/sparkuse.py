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

from collections.abc import Sequence

from nbsplit.dataflow import VIEW_PREFIX
from nbsplit.model import Cell, CellFacts, SplitPlan, Stage

__all__ = ["spark_cells", "spark_stages"]

_RUNTIME_SPARK = frozenset({"spark", "sc", "sqlContext"})


def _is_pyspark(qualified: str) -> bool:
    return qualified == "pyspark" or qualified.startswith(("pyspark.", "databricks.feature"))


def spark_cells(cells: Sequence[Cell], facts: Sequence[CellFacts | None]) -> set[int]:
    """Indices of the code cells that need a Spark session, walking the notebook in source order."""
    imported: dict[str, str] = {}  # name -> qualified name, as the last import bound it
    spark_values: set[str] = set()  # names last written by a cell that needed Spark
    spark_functions: set[str] = set()
    out: set[int] = set()
    for cell, f in zip(cells, facts):
        if f is None or cell.kind != "code":
            continue
        own = dict(f.imports)
        resolved = {n: own.get(n) or imported.get(n, "") for n in f.reads}
        needs = (
            cell.language == "sql"
            or any(m.lstrip().startswith(("%sql", "%%sql")) for m in f.magics)
            or any(_is_pyspark(q) for q in own.values())
            or any(_is_pyspark(q) for q in resolved.values())
            or bool(f.reads & (_RUNTIME_SPARK | spark_values | spark_functions))
            or any(n.startswith(VIEW_PREFIX) for n in f.reads | f.defines)
            or any(_is_pyspark(c.name) or c.name.split(".", 1)[0] in _RUNTIME_SPARK for c in f.calls)
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
        else:
            spark_values -= written
    return out


def spark_stages(plan: SplitPlan) -> tuple[Stage, ...]:
    """The plan's stages (in order) that run a cell needing Spark, copied setup cells included."""
    needing = spark_cells(plan.notebook.cells, plan.facts)
    return tuple(sp.stage for sp in sorted(plan.stages, key=lambda s: s.stage.order)
                 if needing.intersection(sp.cells))
