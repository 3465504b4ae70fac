"""The embedded MLflow store of ``nbsplit run``, made from a cached empty store.

Creating a sqlite tracking store runs MLflow's schema migrations, which take 5-10 s; every run
in a new folder would pay that before its first stage starts. The first run on a machine makes
an empty, migrated store once per MLflow version in the user's cache folder
(``$NBSPLIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/nbsplit``, else ``~/.cache/nbsplit``); later
runs copy it. The copy is the store MLflow would have made, except that its ``Default``
experiment keeps its artifacts under the run's ``.nbsplit/mlartifacts/0`` instead of a
``mlruns/`` folder beside wherever the command was started.

Anything that goes wrong here (no cache folder, another MLflow schema) leaves the store to
MLflow, which creates it as before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

__all__ = ["cache_dir", "seed_store"]


def cache_dir() -> Path:
    explicit = os.environ.get("NBSPLIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "nbsplit"


def _template(mlflow_version: str) -> Path:
    """The cached empty store for this MLflow version, made on first use."""
    target = cache_dir() / f"mlflow-{mlflow_version}-empty.db"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from mlflow import MlflowClient

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        db = Path(tmp) / "empty.db"
        MlflowClient(tracking_uri=f"sqlite:///{db.as_posix()}").search_experiments()
        # Two runs making it at once each rename a complete file: the last one wins, both work.
        os.replace(db, target)
    return target


def seed_store(db: Path, artifacts: Path) -> bool:
    """Create the sqlite store ``db`` from the cached empty one when it does not exist yet;
    True when it did (False: MLflow creates it itself on first use)."""
    if db.exists():
        return False
    try:
        import mlflow

        template = _template(mlflow.__version__)
        partial = db.with_name(db.name + ".partial")
        shutil.copyfile(template, partial)
        now = int(time.time() * 1000)
        with sqlite3.connect(partial) as con:
            con.execute("UPDATE experiments SET artifact_location = ?, creation_time = ?, last_update_time = ? "
                        "WHERE experiment_id = 0", ((artifacts / "0").resolve().as_posix(), now, now))
        con.close()
        os.replace(partial, db)
        return True
    except Exception:  # noqa: BLE001 - the store is then created by MLflow, only slower
        db.with_name(db.name + ".partial").unlink(missing_ok=True)
        return False
