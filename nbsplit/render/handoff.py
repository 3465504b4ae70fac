"""The handoff runtime: the code each stage notebook carries to save and load values.

The code itself is the template ``templates/notebook/runtime.py.j2`` (so a team can replace
it); this module renders it and documents the contract the generated cells rely on:

- ``_nbsplit_save(key, value)`` stores ``value`` under ``key`` (``<name>__c<source cell>``,
  ``Handoff.key``) in ``handoff_dir``, choosing the storage by the value's runtime type: a
  Spark DataFrame becomes a Delta table ``catalog.schema.key`` on Databricks (detected by
  ``DATABRICKS_RUNTIME_VERSION``) and parquet elsewhere; a pandas DataFrame/Series becomes
  parquet when it reads back identical (dtypes, index, column names, attrs), else pickle;
  JSON-typed plain values become JSON when they read back identical type for type (tuples,
  int keys, nan and numpy scalars fall back to pickle); everything else goes through joblib
  (pickle). ``<key>.nbsplit.json`` records the choice.
- ``_nbsplit_load(key)`` reads it back the same way.
- ``_nbsplit_rng_state()`` / ``_nbsplit_set_rng_state(state)`` carry the global ``random`` and
  ``numpy.random`` state (the ``__rng_state__`` pseudo-name), for the modules imported.
- A value that cannot be pickled (open file, connection, generator, lambda, lock) raises
  ``NbsplitHandoffError`` naming the variable and the source cell that made it, with advice.

The runtime reads the notebook globals ``handoff_dir``, ``catalog``, ``schema``,
``experiment_name`` and ``model_name`` once, when its cell runs (the parameters cell sets them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nbsplit.render.templating import render

__all__ = ["runtime_source"]

DEFAULT_PARAMETER_NAMES = ("handoff_dir", "catalog", "schema", "experiment_name", "model_name")


def runtime_source(parameter_names: Sequence[str] = DEFAULT_PARAMETER_NAMES, *,
                   templates: Path | str | None = None) -> str:
    """The runtime cell's source, as emitted into stage notebooks."""
    return render("notebook/runtime.py.j2", {"parameter_names": list(parameter_names)},
                  user_dir=templates).rstrip("\n")
