"""convert_notebook: files in memory -> write_tree, determinism, manifest, nothing lost, refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from convert_cases.support import CASES, read_manifest
from nbsplit.convert import convert_notebook, render_files
from nbsplit.errors import NbsplitError
from nbsplit.model import Diagnostic
from nbsplit.read import read_notebook


@pytest.fixture()
def case(tmp_path: Path) -> Path:
    shutil.copytree(CASES / "churn_mini", tmp_path / "churn_mini")
    return tmp_path / "churn_mini" / "churn_mini.ipynb"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_convert_writes_stages_manifest_readme_and_job(case: Path) -> None:
    out = case.parent / "split"
    result = convert_notebook(case, out)
    assert result.written and sorted(result.files) == sorted(_tree(out))
    names = set(result.files)
    assert {"01_data-prep.ipynb", "02_eda.ipynb", "03_featurization.ipynb", "04_training.ipynb",
            "05_evaluation.ipynb", "06_prediction.ipynb", "07_monitoring.ipynb",
            "nbsplit-manifest.json", "README.md", ".gitignore"} <= names
    assert "job.json" in names and "databricks.yml" in names  # the job renderer is installed
    readme = result.files["README.md"]
    assert "nbsplit run split" in readme and "databricks bundle deploy" in readme and "databricks bundle run" in readme


def test_same_input_gives_byte_identical_output_and_force_reconverts_identically(case: Path) -> None:
    before = hashlib.sha256(case.read_bytes()).hexdigest()
    out = case.parent / "split"
    convert_notebook(case, out)
    first = _tree(out)
    with pytest.raises(NbsplitError, match="not empty"):
        convert_notebook(case, out)
    convert_notebook(case, out, force=True)
    assert _tree(out) == first
    assert hashlib.sha256(case.read_bytes()).hexdigest() == before  # the input is never modified


def test_dry_run_writes_nothing_and_matches_the_real_run(case: Path) -> None:
    out = case.parent / "split"
    dry = convert_notebook(case, out, dry_run=True)
    assert not dry.written and not out.exists()
    convert_notebook(case, out)
    assert {k: v.encode() for k, v in dry.files.items()} == _tree(out)


def test_manifest_maps_every_kept_cell_to_an_identical_cell(case: Path) -> None:
    out = case.parent / "split"
    convert_notebook(case, out)
    manifest = read_manifest(out)
    source = read_notebook(case)
    from nbsplit.api import plan_notebook
    from nbsplit.render.manifest import split_fingerprint

    assert manifest["source"] == {"path": "../churn_mini.ipynb",
                                  "sha256": hashlib.sha256(case.read_bytes()).hexdigest(), "format": "ipynb",
                                  "split_sha256": split_fingerprint(plan_notebook(case))}
    assert [c["index"] for c in manifest["cells"]] == list(range(len(source.cells)))
    notebooks = {s["file"]: nbformat.read(out / s["file"], as_version=4) for s in manifest["stages"]}
    compared = 0
    for entry in manifest["cells"]:
        cell = source.cells[entry["index"]]
        if entry["stage"] == "skip":
            assert entry["file"] is None and entry["cell"] is None
            continue
        places = [entry] + entry.get("also", []) if entry["file"] else []
        if not places:  # only its imports went somewhere: a generated imports cell carries them
            assert entry.get("generated"), entry
            continue
        for place in places:
            rendered = notebooks[place["file"]].cells[place["cell"]]
            assert rendered.source == cell.source
            assert rendered.metadata["nbsplit"]["source_index"] == entry["index"]
            compared += 1
    assert compared >= 25
    for nb in notebooks.values():  # every other cell is marked as generated
        for cell in nb.cells:
            marks = cell.metadata["nbsplit"]
            assert ("generated" in marks) != ("source_index" in marks)


def test_manifest_handoffs_dag_stages_parameters(case: Path) -> None:
    result = convert_notebook(case, case.parent / "split", dry_run=True)
    manifest = json.loads(result.files["nbsplit-manifest.json"])
    assert list(manifest) == ["nbsplit_version", "classifier_version", "source", "cells", "handoffs", "dag",
                              "stages", "runtime", "files", "parameters", "mlflow", "mlops"]
    assert manifest["mlflow"]["main_model"] == "model" and manifest["mlflow"]["instrumented"] is True
    assert manifest["stages"][0] == {"name": "data-prep", "file": "01_data-prep.ipynb"}
    assert manifest["dag"]["data-prep"] == [] and "data-prep" in manifest["dag"]["eda"]
    model = [h for h in manifest["handoffs"] if h["name"] == "model"]
    assert model and all(h["from"] == "training" and h["key"] == f"model__c{h['version']}" for h in model)
    assert {h["to"] for h in model} >= {"evaluation", "prediction"}
    assert manifest["parameters"]["handoff_dir"] == ".nbsplit/handoffs"
    assert manifest["parameters"]["data_dir"] == ".."  # split/ sits in the source notebook's folder
    assert manifest["runtime"] == "nbsplit_runtime.py" and "nbsplit_runtime.py" in result.files


@pytest.mark.parametrize("fmt", ["databricks", "percent"])
def test_text_formats_write_py_notebooks_the_reader_reads_back(case: Path, fmt: str) -> None:
    result = convert_notebook(case, case.parent / "split", fmt=fmt, dry_run=True)
    manifest = json.loads(result.files["nbsplit-manifest.json"])
    assert all(s["file"].endswith(".py") for s in manifest["stages"])
    source = read_notebook(case)
    for stage in manifest["stages"]:
        path = case.parent / stage["file"]
        path.write_text(result.files[stage["file"]])
        back = read_notebook(path)
        assert back.format == fmt
        for entry in manifest["cells"]:
            if entry["file"] == stage["file"] and source.cells[entry["index"]].kind == "code":
                assert back.cells[entry["cell"]].source == source.cells[entry["index"]].source


def test_plan_with_errors_is_refused_in_one_line(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import nbsplit.api

    real = nbsplit.api.plan_notebook

    def broken(path, config=None, *, strict=False):  # type: ignore[no-untyped-def]
        plan = real(path, config, strict=strict)
        return dataclasses.replace(plan, diagnostics=(Diagnostic("error", "cell 7 reads 'model' before training", 7),))

    monkeypatch.setattr(nbsplit.api, "plan_notebook", broken)
    with pytest.raises(NbsplitError) as info:
        convert_notebook(case, case.parent / "split", strict=True)
    assert info.value.exit_code == 1 and "\n" not in str(info.value)
    assert "churn_mini.ipynb:cell 7" in str(info.value) and "reads 'model'" in str(info.value)
    assert not (case.parent / "split").exists()


def test_out_containing_the_notebook_is_never_replaced(case: Path) -> None:
    (case.parent / "extra.txt").write_text("x")
    with pytest.raises(NbsplitError):
        convert_notebook(case, case.parent, force=True)
    assert case.exists()


def test_render_files_is_pure_and_independent_of_cwd(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convert_cases.support import plan_case

    plan = plan_case(case)
    first, _ = render_files(plan, case.parent / "split")
    monkeypatch.chdir(case.parent.parent)
    again, _ = render_files(plan, case.parent / "split")
    assert first == again


def test_a_notebook_of_settings_only_is_refused_naming_its_longest_cell(samples_dir: Path, tmp_path: Path) -> None:
    """A notebook holding only imports and settings (the churn sample's setup cells, like the
    `00_setup` notebooks of many repositories) has no stage to write: one line naming the file
    and the cell to start from, exit 1, and no output folder."""
    from click.testing import CliRunner

    from nbsplit.cli import cli

    nb = nbformat.read(samples_dir / "churn_pandas.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "markdown" or "nbsplit:setup" in c.metadata.get("tags", [])]
    code = [(k, c) for k, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert len(code) >= 2
    longest = max(code, key=lambda kc: (len(kc[1].source.splitlines()), -kc[0]))[0]
    path = tmp_path / "settings.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NbsplitError) as raised:
        convert_notebook(path, tmp_path / "stages")
    assert raised.value.cell == longest and raised.value.exit_code == 1
    assert f"its {len(code)} code cells are setup" in raised.value.message
    assert not (tmp_path / "stages").exists()
    result = CliRunner().invoke(cli, ["convert", str(path), "--out", str(tmp_path / "stages")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"nbsplit: error: {path}:cell {longest}: {raised.value.message}"]


def test_a_notebook_without_code_is_refused_as_such(tmp_path: Path) -> None:
    path = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Notes\nNothing ran here.")]), path)
    with pytest.raises(NbsplitError, match="nothing to convert: the notebook has no code$") as raised:
        convert_notebook(path, tmp_path / "stages")
    assert raised.value.cell is None and not (tmp_path / "stages").exists()
