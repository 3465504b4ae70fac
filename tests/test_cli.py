"""The command line's contract: exit codes, one-line errors naming the file, never a traceback.

These run the real console entry point in a subprocess (as users and pre-commit do), so import
side effects and sys.exit paths are exercised for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbsplit.model import PIPELINE_STAGES


def nbsplit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbsplit", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def write_nb(path: Path, cells: list, **metadata: object) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(metadata)
    nbformat.write(nb, path)
    return path


def put(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_version_and_help() -> None:
    proc = nbsplit("--version")
    assert proc.returncode == 0 and "nbsplit, version" in proc.stdout
    for command in ("plan", "tag", "convert", "run", "check"):
        proc = nbsplit(command, "--help")
        assert proc.returncode == 0, proc.stderr
        assert "Usage:" in proc.stdout


@pytest.mark.parametrize(
    "make, needle",
    [
        pytest.param(lambda p: p / "missing.ipynb", "", id="missing-file"),
        pytest.param(lambda p: p, "", id="directory"),
        pytest.param(lambda p: put(p / "empty.ipynb", ""), "",
                     id="empty-file"),
        pytest.param(lambda p: put(p / "bin.ipynb", b"\x00\x01\x02PK\x03\x04" * 20), "",
                     id="binary-file"),
        pytest.param(lambda p: put(p / "bad.ipynb", '{"cells": [\n  {"a": 1,,}\n]}'), "line 2",
                     id="invalid-json-line-column"),
        pytest.param(lambda p: put(p / "list.ipynb", "[1, 2, 3]"), "", id="json-not-a-notebook"),
        pytest.param(lambda p: write_nb(p / "r.ipynb", [nbformat.v4.new_code_cell("x <- 1")],
                                        kernelspec={"name": "ir", "language": "R", "display_name": "R"}),
                     "", id="r-kernel"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, make, needle: str) -> None:
    path = make(tmp_path)
    proc = nbsplit("plan", str(path))
    assert_one_line_error(proc, path.name, needle)


def test_unknown_slug_names_cell_and_suggests(tmp_path: Path) -> None:
    cells = [nbformat.v4.new_code_cell("import pandas as pd"),
             nbformat.v4.new_code_cell("df = pd.read_csv('x.csv')")]
    cells[1].metadata["tags"] = ["nbsplit:data_prep"]
    path = write_nb(tmp_path / "nb.ipynb", cells)
    before = path.read_bytes()
    for command in (["plan"], ["tag"], ["convert", "--out", str(tmp_path / "out")]):
        proc = nbsplit(*command[:1], str(path), *command[1:])
        assert_one_line_error(proc, "nb.ipynb:cell 1", "'nbsplit:data_prep'", "'nbsplit:data-prep'")
    assert not (tmp_path / "out").exists()
    assert path.read_bytes() == before


def test_plan_json_contract(tmp_path: Path) -> None:
    cells = [
        nbformat.v4.new_markdown_cell("# Churn model"),
        nbformat.v4.new_code_cell("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression"),
        nbformat.v4.new_code_cell("df = pd.read_csv('churn.csv')\ndf = df.dropna()"),
        nbformat.v4.new_code_cell("df.describe()"),
        nbformat.v4.new_code_cell("X = df.drop(columns=['churn'])\ny = df['churn']"),
        nbformat.v4.new_code_cell("model = LogisticRegression().fit(X, y)"),
        nbformat.v4.new_code_cell(""),
    ]
    path = write_nb(tmp_path / "nb.ipynb", cells)
    proc = nbsplit("plan", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"source", "cells", "stages", "diagnostics"}
    assert [c["index"] for c in data["cells"]] == list(range(len(cells)))
    slugs = {s.value for s in PIPELINE_STAGES} | {"setup", "skip"}
    for c in data["cells"]:
        assert set(c) >= {"index", "cell_type", "stage", "confidence", "origin", "reasons"}
        assert c["stage"] in slugs and 0.0 <= c["confidence"] <= 1.0
    assert data["cells"][5]["stage"] == "training"
    assert data["cells"][6]["stage"] == "skip"
    for s in data["stages"]:
        assert set(s) >= {"name", "cells", "loads", "saves", "depends_on"}


def test_plan_table_mentions_every_cell(tmp_path: Path) -> None:
    cells = [nbformat.v4.new_code_cell("import pandas as pd"),
             nbformat.v4.new_code_cell("df = pd.read_csv('churn.csv')"),
             nbformat.v4.new_code_cell("df.head()")]
    path = write_nb(tmp_path / "nb.ipynb", cells)
    proc = nbsplit("plan", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "pd.read_csv" in proc.stdout and "df.head()" in proc.stdout
    assert "data-prep" in proc.stdout and "eda" in proc.stdout


def test_plan_says_which_files_it_reads_and_which_are_not_there(tmp_path: Path) -> None:
    (tmp_path / "churn.csv").write_text("a\n1\n")
    cells = [nbformat.v4.new_code_cell("import pandas as pd"),
             nbformat.v4.new_code_cell("df = pd.read_csv('churn.csv')\nnew = pd.read_csv('new_customers.csv')")]
    path = write_nb(tmp_path / "nb.ipynb", cells)
    proc = nbsplit("plan", str(path))
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(proc.stdout.split())
    assert "churn.csv (cell 1)" in flat and "new_customers.csv (cell 1; not found here)" in flat


def test_tag_shows_then_writes_and_keeps_everything_else(tmp_path: Path) -> None:
    cells = [nbformat.v4.new_code_cell("import pandas as pd"),
             nbformat.v4.new_code_cell("df = pd.read_csv('churn.csv')"),
             nbformat.v4.new_code_cell("df.head()")]
    cells[2].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "   a\n0  1"},
                                               execution_count=3)]
    cells[0].metadata["tags"] = ["keep-me"]
    path = write_nb(tmp_path / "nb.ipynb", cells)
    before = path.read_text()
    proc = nbsplit("tag", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "would add" in proc.stdout and path.read_text() == before
    proc = nbsplit("tag", str(path), "--write")
    assert proc.returncode == 0, proc.stderr
    after = nbformat.read(path, as_version=4)
    assert "keep-me" in after.cells[0].metadata["tags"]
    assert "nbsplit:eda" in after.cells[2].metadata["tags"]
    assert after.cells[2].outputs == cells[2].outputs
    assert [c.id for c in after.cells] == [c.id for c in cells]
    # A second run finds nothing more to add.
    proc = nbsplit("tag", str(path))
    assert "nothing to tag" in proc.stdout


def test_core_does_not_import_heavy_packages(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [nbformat.v4.new_code_cell("import mlflow\nmlflow.autolog()")])
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['nbsplit', 'plan', {str(path)!r}, '--format', 'json']\n"
        "from nbsplit.cli import cli\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mlflow', 'pyspark', 'pandas', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def small_pipeline(tmp_path: Path) -> Path:
    cells = [nbformat.v4.new_code_cell("import pandas as pd\nfrom sklearn.linear_model import LinearRegression"),
             nbformat.v4.new_code_cell("df = pd.DataFrame({'x': [1, 2, 3], 'y': [2, 4, 6]})"),
             nbformat.v4.new_code_cell("model = LinearRegression().fit(df[['x']], df['y'])")]
    return write_nb(tmp_path / "nb.ipynb", cells)


@pytest.mark.parametrize("case", ["non-empty-out", "unwritable-out", "broken-template"])
def test_convert_bad_output_or_template_is_one_line_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    path = small_pipeline(tmp_path)
    before = path.read_bytes()
    out = tmp_path / "stages"
    args = ["convert", str(path), "--out", str(out)]
    if case == "non-empty-out":
        out.mkdir()
        (out / "mine.txt").write_text("keep me")
        needle = "--force"
    elif case == "unwritable-out":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        out = blocker / "stages"  # a folder under a regular file cannot be created, even as root
        args[-1] = str(out)
        needle = "a-file"
    else:
        templates = tmp_path / "tpl" / "notebook"
        templates.mkdir(parents=True)
        (templates / "header.md.j2").write_text("# {{ stage.title }}\n{{ no_such_value }}\n")
        args += ["--templates", str(tmp_path / "tpl")]
        needle = "header.md.j2:2"
    proc = nbsplit(*args)
    assert_one_line_error(proc, needle)
    assert path.read_bytes() == before
    if case == "non-empty-out":
        assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    else:
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_convert_dry_run_then_force(tmp_path: Path) -> None:
    path = small_pipeline(tmp_path)
    out = tmp_path / "stages"
    proc = nbsplit("convert", str(path), "--out", str(out), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would write" in proc.stdout and "job.json" in proc.stdout and not out.exists()
    assert nbsplit("convert", str(path), "--out", str(out)).returncode == 0
    first = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert nbsplit("convert", str(path), "--out", str(out), "--force").returncode == 0
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


def test_convert_job_options_reach_job_json(tmp_path: Path) -> None:
    path = small_pipeline(tmp_path)
    out = tmp_path / "stages"
    proc = nbsplit("convert", str(path), "--out", str(out), "--job-name", "Churn Daily", "--num-workers", "0",
                   "--catalog", "ml", "--schema", "churn", "--workspace-dir", "/Workspace/Users/me/churn",
                   "--spark-version", "18.0.x-cpu-ml-scala2.13")
    assert proc.returncode == 0, proc.stderr
    job = json.loads((out / "job.json").read_text())
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert params["catalog"] == "ml" and params["schema"] == "churn"
    cluster = job["job_clusters"][0]["new_cluster"]
    assert cluster["spark_version"] == "18.0.x-cpu-ml-scala2.13" and cluster.get("num_workers", 0) == 0
    assert all(t["notebook_task"]["notebook_path"].startswith("/Workspace/Users/me/churn/")
               for t in job["tasks"])
    proc = nbsplit("convert", str(path), "--out", str(tmp_path / "x"), "--serverless",
                   "--existing-cluster-id", "abc")
    assert_one_line_error(proc, "--serverless")


def test_a_long_diagnostic_is_printed_on_one_line_when_piped(tmp_path: Path) -> None:
    """Piped output is 160 columns wide; a warning with many reasons must still be one line
    (grep, CI logs, editors' problem matchers read it line by line)."""
    src = tmp_path / "long.py"
    body = "frame_" + "with_a_very_long_name_" * 8
    src.write_text("# %%\nimport pandas as pd\n\n# %%\n# nbsplit: training\nmodel = fit(" + body + ")\n\n"
                   "# %%\n# nbsplit: data-prep\nclean = model.predict(" + body + ")\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "nbsplit", "plan", str(src)], capture_output=True, text=True)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert warnings, proc.stderr
    assert all(line.startswith(("warning: ", "error: ")) for line in warnings), proc.stderr
    assert max(len(line) for line in warnings) > 160, warnings
