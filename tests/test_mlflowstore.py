"""The run's MLflow store made from the cached empty store: a working store, faster, and a
fallback to MLflow's own creation when the cache cannot be used."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nbsplit.mlflowstore import cache_dir, seed_store

pytestmark = pytest.mark.slow


def _client(db: Path):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    uri = f"sqlite:///{db.as_posix()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_a_seeded_store_is_a_working_mlflow_store(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The session's cache (tests/conftest.py): the template is made once for the whole suite.
    first, second = tmp_path / "a" / "mlflow.db", tmp_path / "b" / "mlflow.db"
    for db in (first, second):
        db.parent.mkdir()
        assert seed_store(db, db.parent / "mlartifacts")
    assert (cache_dir() / f"mlflow-{__import__('mlflow').__version__}-empty.db").is_file()
    assert not seed_store(second, second.parent / "mlartifacts")  # an existing store is left alone

    with caplog.at_level(logging.INFO, logger="mlflow"):
        client = _client(second)
        default = client.get_experiment("0")
    assert "Creating initial MLflow database tables" not in caplog.text  # already migrated
    assert default.name == "Default"
    assert default.artifact_location == (second.parent / "mlartifacts" / "0").resolve().as_posix()
    experiment = client.create_experiment("churn", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(experiment, tags={"nbsplit.stage": "training"})
    client.log_metric(run.info.run_id, "auc", 0.91)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("churn_model")
    version = client.create_model_version("churn_model", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias("churn_model", "champion", version.version)
    assert client.get_run(run.info.run_id).data.metrics == {"auc": 0.91}
    assert str(client.get_model_version_by_alias("churn_model", "champion").version) == "1"
    # Two stores from one template share nothing.
    assert [e.name for e in _client(first).search_experiments()] == ["Default"]


def test_an_unusable_cache_leaves_the_store_to_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"mlflow-{mlflow.__version__}-empty.db").write_bytes(b"not a database")
    monkeypatch.setenv("NBSPLIT_CACHE_DIR", str(cache))
    db = tmp_path / "mlflow.db"
    assert not seed_store(db, tmp_path / "mlartifacts")
    assert not db.exists() and not list(tmp_path.glob("*.partial"))  # MLflow makes it on first use
