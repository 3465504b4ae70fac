"""What ``convert`` writes for MLflow autologging and the generated monitoring's live metric
(rendered output only; the runtime functions run on a real store in ``test_mlflow_runtime.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from convert_cases.support import CASES, SAMPLES
from nbsplit.cli import cli
from nbsplit.config import parse_config
from nbsplit.convert import convert_notebook
from nbsplit.errors import NbsplitError
from nbsplit.levels import LevelOptions
from nbsplit.render.job import JobOptions
from nbsplit.render.tracking import MLflowOptions


def _cells(files: dict[str, str], name: str) -> list[dict[str, Any]]:
    return [c for c in json.loads(files[name])["cells"] if c["cell_type"] == "code"]


def _generated(cell: dict[str, Any]) -> str | None:
    return (cell["metadata"].get("nbsplit") or {}).get("generated")


def test_autolog_cells_go_around_the_main_models_fit(tmp_path: Path) -> None:
    source = CASES / "churn_mini" / "churn_mini.ipynb"
    files = dict(convert_notebook(source, tmp_path / "on", dry_run=True).files)
    cells = _cells(files, "04_training.ipynb")
    at = next(i for i, c in enumerate(cells) if _generated(c) == "autolog")
    text = "".join(cells[at]["source"])
    assert text.startswith("_nbsplit_autolog('training', ['sklearn'],") and "params={'clf__max_iter': 1000}" in text
    # Next: the load the fitting cell needs, then the cell itself (the model's fit).
    fitting = next(c for c in cells[at + 1:] if _generated(c) is None)
    assert fitting["metadata"]["nbsplit"]["source_index"] == 17 and ".fit(" in "".join(fitting["source"])
    assert all(_generated(c) in ("load", None) for c in cells[at + 1:cells.index(fitting)])
    # Off again right after it: what autolog logs is the main model's fit only.
    after = cells[cells.index(fitting) + 1]
    assert "".join(after["source"]).startswith("_nbsplit_autolog_end('training')") and _generated(after) == "autolog"
    # The parameters moved from the tracking cell to the autolog cell (logged before the fits).
    track = "".join(cells[-1]["source"])
    assert track.startswith("_nbsplit_track(globals(), 'training'") and "params=" not in track
    manifest = json.loads(files["nbsplit-manifest.json"])
    assert manifest["mlflow"]["autolog"] == {"stage": "training", "flavors": ["sklearn"], "before_cell": 17}
    assert "def _nbsplit_autolog" in files["nbsplit_runtime.py"]
    assert "def _nbsplit_autolog_end" in files["nbsplit_runtime.py"]
    # Only the fitting stage has one.
    assert [n for n in files if n.endswith(".ipynb") and "_nbsplit_autolog(" in files[n]] == ["04_training.ipynb"]

    off = dict(convert_notebook(source, tmp_path / "off", dry_run=True, mlflow=MLflowOptions(autolog=False)).files)
    assert not any("_nbsplit_autolog(" in text for name, text in off.items() if name.endswith(".ipynb"))
    assert "params={'clf__max_iter': 1000}" in "".join(_cells(off, "04_training.ipynb")[-1]["source"])
    assert json.loads(off["nbsplit-manifest.json"])["mlflow"]["autolog"] == {
        "stage": None, "reason": "switched off (--no-autolog)"}


def test_a_notebook_using_mlflow_itself_gets_no_autolog() -> None:
    files = convert_notebook(SAMPLES / "churn_pandas.ipynb", SAMPLES / "stages", dry_run=True).files
    assert not any("_nbsplit_autolog(" in text for name, text in files.items() if name.endswith(".ipynb"))
    assert json.loads(files["nbsplit-manifest.json"])["mlflow"]["autolog"] == {
        "stage": None, "reason": "the notebook uses MLflow itself"}


def test_autolog_option_and_config(tmp_path: Path) -> None:
    assert parse_config({}).autolog is True and parse_config({"autolog": False}).autolog is False
    with pytest.raises(NbsplitError, match="autolog must be true or false"):
        parse_config({"autolog": "no"})
    project = tmp_path / "project"
    project.mkdir()
    source = project / "churn_mini.ipynb"
    source.write_bytes((CASES / "churn_mini" / "churn_mini.ipynb").read_bytes())
    (project / "pyproject.toml").write_text("[tool.nbsplit]\nautolog = false\n")
    runner = CliRunner()
    for args, expected in (([], False), (["--autolog"], True)):  # the command line wins over the config
        result = runner.invoke(cli, ["convert", str(source), "--out", str(tmp_path / "out"), "--force", *args])
        assert result.exit_code == 0, result.output
        assert ("_nbsplit_autolog(" in (tmp_path / "out" / "04_training.ipynb").read_text()) is expected
    bad = runner.invoke(cli, ["convert", str(source), "--out", str(tmp_path / "o"), "--no-mlflow", "--autolog"])
    assert bad.exit_code == 2 and "--no-mlflow takes no" in bad.output


@pytest.mark.parametrize("sample, metric, kind, source", [
    ("churn_pandas", "rf_score", "score", "sklearn.ensemble.RandomForestClassifier.score"),
    ("messy_sales", "r2", "function", "sklearn.metrics.r2_score"),
])
def test_live_metric_is_the_gates_primary_metric_on_the_targets_labels(sample: str, metric: str, kind: str,
                                                                       source: str) -> None:
    files = convert_notebook(SAMPLES / f"{sample}.ipynb", SAMPLES / "stages", dry_run=True).files
    manifest = json.loads(files["nbsplit-manifest.json"])
    live = manifest["mlops"]["monitoring"]["live_metric"]
    assert live["metric"] == metric and live["computed_with"] == source
    assert live["target"]["name"] == "y" and live["target"]["from"] == "featurization"
    monitor = "".join(_cells(files, "07_monitoring.ipynb")[-1]["source"])
    assert f"target='y', live={{'metric': {metric!r}, 'greater_is_better': True, 'kind': {kind!r}" in monitor
    job = json.loads(files["job.json"])
    assert {"name": "live_metric_degradation", "default": "0.1"} in job["parameters"]
    # Monitoring scores with the champion the gate chose: the gate's stage runs before it.
    gate = next(name for name in files if name.endswith(".ipynb") and "gate={" in files[name])
    by_key = {t["task_key"]: t for t in job["tasks"]}
    todo, seen = [d["task_key"] for d in by_key["monitoring"]["depends_on"]], set()
    while todo:
        key = todo.pop()
        seen.add(key)
        todo.extend(d["task_key"] for d in by_key[key].get("depends_on", []))
    assert gate[3:-6].replace("-", "_") in seen


def test_no_live_metric_without_the_gate(tmp_path: Path) -> None:
    files = convert_notebook(SAMPLES / "churn_pandas.ipynb", tmp_path / "s", dry_run=True,
                             mlflow=MLflowOptions(enabled=False),
                             job_options=JobOptions(levels=LevelOptions(level=1))).files
    monitoring = json.loads(files["nbsplit-manifest.json"])["mlops"]["monitoring"]
    assert monitoring["live_metric"] == {"metric": None,
                                         "reason": "no champion chosen by nbsplit's gate to compare with"}
    monitor = "".join(_cells(files, "07_monitoring.ipynb")[-1]["source"])
    assert monitor.startswith("_nbsplit_retrain = _nbsplit_monitor(globals(), 'X', 'X_new')")
    assert "live_metric_degradation" not in files["job.json"]
