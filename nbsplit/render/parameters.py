"""The pipeline's parameters: their names, and the one default each has everywhere.

The same values reach the stage notebooks' parameters cells, the runtime module's defaults,
``job.json``, the bundle and the manifest, so a job never runs with another experiment, model or
data folder than the notebooks it deploys. Only ``handoff_dir`` differs by where the stages run:
``.nbsplit/handoffs`` inside the output folder locally, a Unity Catalog volume on Databricks.

A notebook's own widgets (``dbutils.widgets.text("min_r2", "0.6")``) are parameters too, with
their own defaults: a widget named like ours (``experiment_name``) gives ours its default, and the
job passes every widget on unchanged instead of overriding it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from nbsplit.model import Notebook
from nbsplit.reserved import RUNTIME_MODULE
from nbsplit.widgets import notebook_widgets

__all__ = [
    "MLFLOW_PARAMETERS", "PARAMETER_NAMES", "RUNTIME_MODULE", "STAGE_PARAMETERS", "STATE_DIR",
    "HANDOFF_SUBDIR", "deployed_parameters", "handoff_volume", "local_parameters", "sanitize_name",
]

STATE_DIR = ".nbsplit"  # local run state inside an output folder (never deployed, never committed)
HANDOFF_SUBDIR = f"{STATE_DIR}/handoffs"
PARAMETER_NAMES: tuple[str, ...] = ("handoff_dir", "data_dir", "catalog", "schema", "experiment_name", "model_name",
                                    "pipeline_run")
# The MLflow parent run every stage's run nests in: the job run on Databricks; `nbsplit run` gives
# each local run its own; a stage run by hand goes under "manual".
PIPELINE_RUN_LOCAL = "manual"
PIPELINE_RUN_DEPLOYED = "{{job.run_id}}"
# What every stage notebook sets in its parameters cell; MLflow stages add the other two.
STAGE_PARAMETERS: tuple[str, ...] = ("handoff_dir", "data_dir")
MLFLOW_PARAMETERS: tuple[str, ...] = ("experiment_name", "model_name")


def sanitize_name(text: str) -> str:
    """A job/bundle/model name: lower-case letters, digits and ``_`` (valid as a Unity Catalog
    model name part, a bundle resource key and a Jobs name)."""
    # "Análise de Crédito" -> "analise_de_credito": drop accents before dropping the rest.
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_]+", "_", ascii_text.lower()).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name:
        return "nbsplit_job"
    if name[0].isdigit():
        name = "nb_" + name
    return name


def handoff_volume(name: str) -> str:
    return f"{name}_handoffs"


def local_parameters(notebook: Notebook, out: Path, *, name: str, catalog: str, schema: str) -> dict[str, str]:
    """Every parameter with its default as the stage notebooks and the runtime module carry it.
    ``handoff_dir`` and ``data_dir`` are relative to the output folder (the notebooks' folder)."""
    widgets = notebook_widgets(notebook)
    source_dir = Path(os.path.abspath(notebook.path)).parent
    params = {
        "handoff_dir": HANDOFF_SUBDIR,
        "data_dir": Path(os.path.relpath(source_dir, os.path.abspath(out))).as_posix(),
        "catalog": catalog,
        "schema": schema,
        "experiment_name": f"/Shared/{name}",
        "model_name": f"{name}_model",
        "pipeline_run": PIPELINE_RUN_LOCAL,
    }
    for key in MLFLOW_PARAMETERS:
        params[key] = widgets.get(key, params[key])
    return params


def deployed_parameters(local: Mapping[str, str], widgets: Mapping[str, str], *, name: str,
                        catalog: str, schema: str) -> dict[str, str]:
    """The job's parameters: ours (handoffs in the pipeline's volume), then the notebook's widgets."""
    params = dict(local)
    params["catalog"], params["schema"] = catalog, schema
    params["handoff_dir"] = f"/Volumes/{catalog}/{schema}/{handoff_volume(name)}"
    params["pipeline_run"] = PIPELINE_RUN_DEPLOYED
    for key, default in widgets.items():
        params.setdefault(key, default)
    return params
