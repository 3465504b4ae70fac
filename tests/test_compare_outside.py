"""``nbsplit run --compare`` runs the monolith in a copy of its folder; a notebook reading
``../data/small.csv`` needs that file at the same place beside the copy. Only the paths the
notebook's code names above its folder are copied, never an ancestor of the notebook's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbsplit.paths import outside_paths
from nbsplit.read import read_notebook
from nbsplit.run import _prepare_source_copy

CELLS = [
    ("data-prep", "import csv\nwith open('../data/small.csv') as fh:\n    rows = list(csv.DictReader(fh))\n"
                  "print('rows:', len(rows))"),
    ("eda", "print('first:', rows[0])"),
    ("training", "total = sum(float(r['x']) for r in rows)\nprint('total:', total)"),
]


def _project(tmp_path: Path, cells: list[tuple[str, str]] = CELLS) -> Path:
    (tmp_path / "proj" / "notebooks").mkdir(parents=True)
    (tmp_path / "proj" / "data").mkdir()
    (tmp_path / "proj" / "data" / "small.csv").write_text("x,y\n1,a\n2,b\n4,c\n")
    (tmp_path / "proj" / "data" / "other.csv").write_text("unread\n")
    (tmp_path / "proj" / "big").mkdir()  # a sibling folder the notebook never names
    (tmp_path / "proj" / "big" / "blob.bin").write_bytes(b"\0" * 10)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src, metadata={"tags": [f"nbsplit:{stage}"]}) for stage, src in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "proj" / "notebooks" / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def _nbsplit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbsplit", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_outside_paths_are_the_literals_above_the_notebook_folder(tmp_path: Path) -> None:
    path = _project(tmp_path, CELLS + [("data-prep", "a = '../data/./x/../small.csv'\nb = '../..'\nc = '..'\n"
                                                     "d = 'data/in.csv'\ne = 'sqlite:///../db/m.db'\nf = '../out/'")])
    assert outside_paths(read_notebook(path)) == ("../data/small.csv", "../db/m.db", "../out")


def test_outside_paths_joined_from_literals(tmp_path: Path) -> None:
    """Paths built with os.path.join or pathlib from literals that start above the folder count
    up to the first part that is not a literal; a join that stays at an ancestor does not."""
    joins = ("import os\nfrom pathlib import Path\nDATA = Path('..') / 'data'\n"
             "df = open(DATA / name)\nm = os.path.join(os.pardir, 'models', 'm.pkl')\n"
             "up = os.path.join('..', name)\nq = Path('..', 'db') / 'x.db'\nz = 'data' / Path('x')")
    path = _project(tmp_path, CELLS[:1] + [("data-prep", joins)])
    assert outside_paths(read_notebook(path)) == ("../data/small.csv", "../data", "../models/m.pkl", "../db/x.db")


def test_the_source_copy_gets_the_named_outside_files_and_nothing_else(tmp_path: Path) -> None:
    source = _project(tmp_path, CELLS + [("data-prep", "open('../out/summary.txt', 'w')\nx = '../..'\n"
                                                       "open('../gone/m.pkl', 'wb')")])
    (tmp_path / "proj" / "out").mkdir()
    (tmp_path / "proj" / "out" / "old.txt").write_text("not named\n")
    folder = tmp_path / "proj" / "notebooks" / "stages"
    folder.mkdir()
    (folder / "01_data-prep.ipynb").write_text("{}")
    outside = outside_paths(read_notebook(source))
    copy, _ = _prepare_source_copy(source.resolve(), folder.resolve(), {"handoff_dir": "h"}, tmp_path / "w", {},
                                   outside)
    root = tmp_path / "w" / "src"
    assert copy == root / "notebooks" / "nb.ipynb" and copy.is_file()
    assert (root / "data" / "small.csv").read_text() == "x,y\n1,a\n2,b\n4,c\n"
    # where it writes: the folder, empty (what it holds is not named); a folder missing in place
    # stays missing, so the monolith fails there as it would in place
    assert (root / "out").is_dir() and list((root / "out").iterdir()) == []
    assert not (root / "gone").exists()
    assert not (root / "data" / "other.csv").exists() and not (root / "big").exists()
    # the output folder's files are never copied; its name is there, empty, as the stages see it
    assert list((root / "notebooks" / "stages").iterdir()) == []


@pytest.mark.slow
def test_compare_runs_a_notebook_reading_a_sibling_data_folder(tmp_path: Path) -> None:
    source = _project(tmp_path)
    out = tmp_path / "proj" / "notebooks" / "nb_pipeline"

    converted = _nbsplit(tmp_path, "convert", str(source), "--out", str(out))
    assert converted.returncode == 0, converted.stderr
    ran = _nbsplit(tmp_path, "run", str(out), "--compare")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 deterministic source cell(s) compared, 0 mismatch(es)" in ran.stdout
    executed = nbformat.read(out / ".nbsplit" / "executed" / "01_data-prep.ipynb", as_version=4)
    assert "rows: 3" in json.dumps([c.get("outputs") for c in executed.cells])
    assert not (tmp_path / "proj" / "notebooks" / "data").exists()  # nothing written beside the source


@pytest.mark.slow
def test_compare_blames_the_notebook_for_a_folder_missing_in_place(tmp_path: Path) -> None:
    """A training cell writing ``../models/m.txt`` where no ``models`` folder exists fails in
    place, in its stage; the monolith's copy must not make the folder up, or the comparison
    reports a split defect for the notebook's own missing folder (seen on a stranger's notebook
    whose model folder its repository snapshot lacked)."""
    source = _project(tmp_path, CELLS + [("training", "with open('../models/m.txt', 'w') as fh:\n"
                                                      "    fh.write(str(total))")])
    out = tmp_path / "proj" / "notebooks" / "nb_pipeline"

    assert _nbsplit(tmp_path, "convert", str(source), "--out", str(out)).returncode == 0
    ran = _nbsplit(tmp_path, "run", str(out), "--compare")
    assert ran.returncode != 0  # the training stage fails, as the notebook does in place
    said = " ".join(ran.stdout.split())  # the report wraps long lines
    assert "failed training" in said and "FileNotFoundError" in said
    assert "the source notebook itself fails" in said, said
    assert "only the cells before source cell 3 were compared" in said and "0 mismatch(es)" in said
    assert not (tmp_path / "proj" / "models").exists()


def test_the_bundle_syncs_the_folders_named_above_the_notebook(tmp_path: Path) -> None:
    """Deployed, the job finds ``../data/small.csv`` only if the bundle carries ``proj/data`` in
    the same layout; a folder it names that does not exist adds nothing, a file directly above
    (``../top.csv``) is synced alone (not its whole folder)."""
    import yaml

    from nbsplit.convert import convert_notebook
    from nbsplit.paths import outside_folders

    source = _project(tmp_path, CELLS + [("data-prep", "missing = '../nowhere/x.csv'\ntop = '../top.csv'\n"
                                                       "gone = '../gone.csv'")])
    (tmp_path / "proj" / "top.csv").write_text("a\n1\n")
    assert outside_folders(read_notebook(source)) == ("../data", "../top.csv")
    files = convert_notebook(source, source.parent / "stages", dry_run=True).files
    bundle = yaml.safe_load(files["databricks.yml"])
    job = json.loads(files["job.json"])
    data_dir = next(p["default"] for p in job["parameters"] if p["name"] == "data_dir")
    assert data_dir == ".."
    assert bundle["sync"]["paths"] == [".", "../../data", "../../top.csv"]
    # resolved from the output folder, the synced path is the project's data folder
    assert (source.parent / "stages" / "../../data").resolve() == (tmp_path / "proj" / "data").resolve()


def test_outside_paths_built_from_constants(tmp_path: Path) -> None:
    """``BASE = "../data/"`` then ``BASE + "small.csv"``: the source copy of ``run --compare``
    must get the file the notebook reads through the constant."""
    cells = [("data-prep", "import csv\nBASE = '../' + 'data/'\nwith open(BASE + 'small.csv') as fh:\n"
                           "    rows = list(csv.DictReader(fh))"),
             ("training", "total = sum(float(r['x']) for r in rows)\nprint('total:', total)")]
    source = _project(tmp_path, cells)
    assert outside_paths(read_notebook(source)) == ("../data", "../data/small.csv")


def test_outside_files_named_by_magic_and_shell_lines(tmp_path: Path) -> None:
    """``%run ../helpers.py`` works where the notebook was written; the source copy of
    ``run --compare`` must have the file too, or the monolith fails there and nothing is compared."""
    (tmp_path / "proj" / "helpers.py").parent.mkdir(parents=True, exist_ok=True)
    source = _project(tmp_path, [("setup", "%run ../helpers.py\n!python '../tools/prep.py' --out x  # prep"),
                                 *CELLS])
    assert outside_paths(read_notebook(source))[:2] == ("../helpers.py", "../tools/prep.py")
