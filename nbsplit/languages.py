"""The cell languages nbsplit tells apart, defined once for the readers, the analysis, the
classifier and the checks.

A Databricks cell names its language on its first line (``%sql``, ``%md``; ``# MAGIC %sql`` in
source files); a Databricks-exported ``.ipynb`` keeps that line in a code cell. The stand-ins
module (:mod:`nbsplit.standins`) keeps its own copy: it runs inside kernels without nbsplit.
"""

from __future__ import annotations

__all__ = ["DATABRICKS_MAGICS", "EXPORTED_IPYNB_MAGICS", "LINE_MAGIC_LANGUAGES", "MARKDOWN_MAGICS",
           "UNTAGGABLE_LANGUAGES"]

# Markdown cells of Databricks notebooks.
MARKDOWN_MAGICS = frozenset({"md", "md-sandbox"})
# The language magics of Databricks cells (besides Python, the notebooks' own language).
DATABRICKS_MAGICS = frozenset({"sql", "sh", "scala", "r", "md", "fs", "pip", "run"})
# First-line magics that make a code cell of a Databricks-exported .ipynb another language.
EXPORTED_IPYNB_MAGICS = (DATABRICKS_MAGICS - MARKDOWN_MAGICS) | {"python"}
# Line magics the classifier reads as a cell's language (conda installs, like pip).
LINE_MAGIC_LANGUAGES = DATABRICKS_MAGICS | {"conda"}
# Databricks cells a stage directive cannot be written into (installs, %run, markdown).
UNTAGGABLE_LANGUAGES = frozenset({"pip", "run"}) | MARKDOWN_MAGICS
