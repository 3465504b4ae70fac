"""Idioms of SQL: ``%sql`` cells and the query strings of ``spark.sql("...")``.

Why: SQL says what it does in its first keywords: CREATE/INSERT/MERGE change tables (data-prep,
or featurization for a feature table), SELECT with GROUP BY/aggregates summarises (eda),
DESCRIBE/SHOW looks (eda), USE/SET chooses the catalog (setup). The text is SQL, not Python, so
these patterns (``lexicon.SQL_*``) read the query itself.

Example: ``%sql SELECT region, count(*) FROM sales GROUP BY region`` -> eda ("summarises data
with SQL"); ``spark.sql("CREATE TABLE features AS ...")`` -> featurization.
"""

from __future__ import annotations

import re

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import own_name, unqualified
from nbsplit.classify.evidence import Evidence
from nbsplit.classify.idioms import SIGNAL, D, E, F, P, PyCell, S, V

_SQL_WRITE = re.compile(lex.SQL_WRITE_PATTERN, re.I)
_SQL_SETUP = re.compile(lex.SQL_SETUP_PATTERN, re.I)
_SQL_AGG = re.compile(lex.SQL_AGGREGATE_PATTERN, re.I)
_SQL_TABLES = re.compile(lex.SQL_TABLES_PATTERN, re.I)
_SQL_SHOW = re.compile(lex.SQL_SHOW_PATTERN, re.I)
_SQL_SELECT = re.compile(r"\bselect\b[\s\S]+\bfrom\b", re.I)
_SQL_LEADING_SELECT = re.compile(r"\s*(select|with)\s", re.I)
_SQL_STATEMENT = re.compile(lex.SQL_STATEMENT_PATTERN, re.I)
_PREDICTION_TABLE = re.compile(lex.SQL_PREDICTION_PATTERN)


def sql_evidence(sql: str, ev: Evidence, *, displayed: bool, factor: float = 1.0) -> None:
    """The stage of one SQL text (comments dropped); ``displayed``: its result is shown, not bound."""
    text = "\n".join(line for line in sql.split("\n") if not line.strip().startswith("--"))
    if not text.strip():
        return
    if _SQL_WRITE.search(text):
        lowered = text.lower()
        if "feature" in lowered:
            ev.add(F, 3.0 * factor, "writes a feature table with SQL", SIGNAL)
        elif re.search(lex.SQL_WRITES_PREDICTIONS_PATTERN, unqualified(lowered)):
            ev.add(P, 2.6 * factor, "writes predictions with SQL", SIGNAL)
        else:
            ev.add(D, 3.0 * factor, "creates or changes tables with SQL", SIGNAL)
        return
    statements = [s for s in text.split(";") if s.strip()]
    if statements and all(_SQL_SETUP.match(s) for s in statements):
        ev.add(S, 3.2 * factor, "selects the catalog/schema", SIGNAL)
        return
    if _SQL_SHOW.match(text):
        ev.add(E, 3.0 * factor, "describes tables with SQL", SIGNAL)
        return
    # analyze caps string literals, so a long query may have lost its FROM: a leading SELECT counts.
    if _SQL_SELECT.search(text) or _SQL_LEADING_SELECT.match(text):
        _select_evidence(text, ev, displayed, factor)


def _select_evidence(text: str, ev: Evidence, displayed: bool, factor: float) -> None:
    lowered = text.lower()
    # a table's own name says what it holds; its catalog and schema name the project
    tables = " ".join(own_name(t) for t in _SQL_TABLES.findall(lowered))
    if displayed and _PREDICTION_TABLE.search(tables + " " + unqualified(lowered.split("from", 1)[0])):
        if re.search(lex.SQL_PRODUCTION_PATTERN, lowered) and re.search(lex.SQL_STAGING_PATTERN, lowered):
            # production vs staging (champion vs challenger) predictions side by side
            ev.add(V, 3.0 * factor, "compares the predictions of two model versions with SQL", SIGNAL)
            return
        if _PREDICTION_TABLE.search(tables):
            ev.add(P, 2.6 * factor, "shows stored predictions with SQL", SIGNAL)
            return
    if not displayed:
        ev.add(D, 2.6 * factor, "loads data with a SQL query", SIGNAL)
    elif _SQL_AGG.search(text):
        ev.add(E, 3.0 * factor, "summarises data with SQL (GROUP BY/aggregates)", SIGNAL)
    else:
        ev.add(E, 2.2 * factor, "queries and shows data with SQL", SIGNAL)


def spark_sql(c: PyCell) -> None:
    """``spark.sql("SELECT ...")``: the first SQL statement among the cell's strings, weighed
    like a ``%sql`` cell (a little less: the Python around it may do more)."""
    if not any(name.endswith(".sql") for _, name, _ in c.resolved):
        return
    for text in c.facts.strings:
        if _SQL_STATEMENT.match(text):
            sql_evidence(text, c.ev, displayed=not c.facts.defines, factor=0.9)
            return
