"""The handoff runtime module, ``nbsplit_runtime.py``, written beside the stage notebooks.

Its code is the template ``templates/notebook/runtime.py.j2`` with its includes (so a team can
replace any part); this module renders it and documents the contract the generated cells rely on:

- ``from nbsplit_runtime import *`` then ``_nbsplit_start(globals())`` (the cell after the
  parameters cell): the parameters are the notebook's own values (papermill's injected ones
  included), then Databricks widgets (job parameters); the module's defaults cover the rest.
  ``handoff_dir`` and ``data_dir`` resolve against the module's folder, and the kernel then works
  from ``data_dir``, the source notebook's folder, so the notebook's relative paths hold wherever
  the stage notebook was opened from.
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
  ``numpy.random`` state (the ``_nbsplit_rng`` pseudo-name), for the modules imported.
- ``_nbsplit_track(globals(), spec)``: the MLflow instrumentation, the last cell of every stage
  (:mod:`nbsplit.render.tracking`), and ``_nbsplit_champion(name, value, flavor)``: the registered
  model's ``@champion`` for the prediction stage. ``_nbsplit_autolog(stage, flavors, params)`` and
  ``_nbsplit_autolog_end(stage)`` around the cell fitting the main model: MLflow autologging of
  that fit into the stage's run.
- ``_nbsplit_monitor(globals(), training, scored, target=None, live=None)``: the generated
  monitoring stage's drift and, with ``live``, the ``@champion``'s primary metric on the scored
  batch's labels (:mod:`nbsplit.render.monitoring`).
- A value that cannot be pickled (open file, connection, generator, lambda, lock) raises
  ``NbsplitHandoffError`` naming the variable and the source cell that made it, with advice.
  ``_nbsplit_save(key, value, side=<stage>)`` (a value only the EDA side branch loads) records
  such a failure in ``<key>.nbsplit.json`` (kind ``unsaved``, the reason) instead, so the main
  line goes on; ``_nbsplit_load`` then raises it in eda, naming the value, the stage and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nbsplit.render.parameters import PARAMETER_NAMES, RUNTIME_MODULE
from nbsplit.render.templating import render

__all__ = ["RUNTIME_FILE", "runtime_source"]

RUNTIME_FILE = f"{RUNTIME_MODULE}.py"


def runtime_source(defaults: Mapping[str, str] | None = None, *, templates: Path | str | None = None,
                   source: Mapping[str, str] | None = None) -> str:
    """The text of ``nbsplit_runtime.py``; ``defaults`` are the pipeline's parameters, ``source``
    the tags of every MLflow run (``notebook``: the source file name, its ``sha256``)."""
    from nbsplit import __version__

    if defaults is None:
        defaults = {name: "" for name in PARAMETER_NAMES}
    tags = {"notebook": "", "sha256": "", **dict(source or {}), "nbsplit_version": __version__}
    return render("notebook/runtime.py.j2", {"defaults": dict(defaults), "source": tags},
                  user_dir=templates).rstrip("\n") + "\n"
