"""Paths built from constants (``DATA_DIR + "train.csv"``): what the bundle syncs and the manifest
lists must follow them as a top-to-bottom run would, or a deployed job finds no data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from nbsplit.convert import convert_notebook
from nbsplit.path_exprs import built_paths
from nbsplit.paths import outside_folders, outside_paths, relative_paths, sync_files, sync_folders
from nbsplit.read import read_notebook


def _notebook(tmp_path: Path, cells: list[str], name: str = "nb.ipynb") -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


HEAD = "import os\nfrom pathlib import Path\nDATA_DIR = 'data/'\nUP = Path('..') / 'models'"


@pytest.mark.parametrize(("cell", "expected"), [
    ("df = pd.read_csv(os.path.join(DATA_DIR, 'train.csv'))", ("data/train.csv",)),
    ("df = pd.read_csv(DATA_DIR + 'train.csv')", ("data/train.csv",)),
    ("df = pd.read_csv(f'{DATA_DIR}train.csv')", ("data/train.csv",)),
    ("df = pd.read_csv(Path(DATA_DIR) / 'train.csv')", ("data/train.csv",)),
    ("m = joblib.load(str(UP / 'm.pkl'))", ("../models/m.pkl",)),
    ("m = open(os.path.join(os.pardir, 'db', 'x.db'))", ("../db/x.db",)),
    # an unknown part ends the path: what is known before it still names the folder
    ("for f in files:\n    parts.append(pd.read_csv(os.path.join(DATA_DIR, f)))", ("data/",)),
    ("df = pd.read_csv(f'{DATA_DIR}part_{i}.csv')", ("data/",)),
    ("df = pd.read_csv(DATA_DIR + name + '.csv')", ("data/",)),
    # strings that are no paths, and sums of numbers, build nothing
    ("print('accuracy: ' + str(acc))\ntotal = a + b / 2", ()),
    ("label = f'{model_name}: {score:.3f}'", ()),
])
def test_built_paths_follow_the_constants_assigned_above(tmp_path: Path, cell: str,
                                                         expected: tuple[str, ...]) -> None:
    nb = read_notebook(_notebook(tmp_path, [HEAD, cell]))
    assert built_paths(nb).get(1, ()) == expected


def test_a_constant_rebound_to_something_unknown_is_no_longer_followed(tmp_path: Path) -> None:
    nb = read_notebook(_notebook(tmp_path, [
        HEAD, "TRAIN = DATA_DIR + 'train.csv'", "x = open(TRAIN + '.bak')",
        "DATA_DIR = os.environ['DATA']", "y = pd.read_csv(DATA_DIR + 'test.csv')"]))
    built = built_paths(nb)
    assert built[1] == ("data/train.csv",)
    assert built[2] == ("data/train.csv.bak",)
    assert 4 not in built


def test_files_joined_to_a_data_folder_are_its_inputs_not_outputs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    nb = read_notebook(_notebook(tmp_path, [HEAD, "df = pd.read_csv(os.path.join(DATA_DIR, 'train.csv'))",
                                            "df.to_csv(DATA_DIR + 'clean.csv')"]))
    uses = {u.path: u for u in relative_paths(nb)}
    assert set(uses) == {"data", "data/train.csv", "data/clean.csv"}  # no bare "train.csv" output
    assert uses["data/train.csv"].exists and uses["data/train.csv"].cells == (1,)
    assert uses["data"].folder and not uses["data/clean.csv"].exists
    assert sync_folders(relative_paths(nb)) == ("data",)


def test_the_bundle_syncs_a_data_folder_named_by_a_constant(tmp_path: Path) -> None:
    """Converted into ``stages/`` inside the notebook's folder, the job reads from ``..``: the
    bundle must carry ``../data``, which the notebook only names as ``DATA_DIR = "data/"``."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    source = _notebook(tmp_path, ["import pandas as pd\nimport os\nDATA_DIR = 'data/'",
                                  "df = pd.read_csv(os.path.join(DATA_DIR, 'train.csv'))",
                                  "df = df.dropna()"])
    files = convert_notebook(source, tmp_path / "stages", dry_run=True).files
    assert yaml.safe_load(files["databricks.yml"])["sync"]["paths"] == [".", "../data"]


def test_a_file_beside_the_notebook_is_synced_alone(tmp_path: Path) -> None:
    """``train.csv`` beside the notebook, the output folder inside the notebook's folder: the
    bundle syncs ``../train.csv`` itself (``sync.paths`` takes files), not the whole folder."""
    (tmp_path / "train.csv").write_text("a\n1\n")
    (tmp_path / "notes.txt").write_text("not read\n")
    source = _notebook(tmp_path, ["import pandas as pd\ndf = pd.read_csv('train.csv')", "df = df.dropna()"])
    uses = relative_paths(read_notebook(source))
    assert sync_folders(uses) == () and sync_files(uses) == ("train.csv",)
    files = convert_notebook(source, tmp_path / "stages", dry_run=True).files
    assert yaml.safe_load(files["databricks.yml"])["sync"]["paths"] == [".", "../train.csv"]


@pytest.mark.parametrize("change", ["os.chdir('data')", "%cd data", "os.chdir(\"data/\")",
                                    "cd data"])  # IPython's automagic: %cd without the %
def test_names_after_a_change_of_folder_are_read_from_that_folder(tmp_path: Path, change: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_text("a,b\n1,2\n")
    nb = read_notebook(_notebook(tmp_path, [
        "import os\nimport pandas as pd", change, "df = pd.read_csv('iris.csv')",
        "df.to_csv('clean.csv')"]))
    uses = {u.path: u for u in relative_paths(nb)}
    assert uses["data/iris.csv"].exists and uses["data/iris.csv"].cells == (2,)
    assert not uses["data/clean.csv"].exists
    assert "iris.csv" not in uses and "clean.csv" not in uses
    assert sync_folders(relative_paths(nb)) == ("data",)


@pytest.mark.parametrize("change", ["os.chdir(DATA)", "%cd /content/drive/MyDrive/project",
                                    "os.chdir(os.path.abspath('..'))"])
def test_a_change_of_folder_nbsplit_cannot_follow_keeps_names_beside_the_notebook(tmp_path: Path,
                                                                                  change: str) -> None:
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    nb = read_notebook(_notebook(tmp_path, ["import os\nDATA = os.environ['DATA']", change,
                                            "df = pd.read_csv('train.csv')"]))
    uses = {u.path: u for u in relative_paths(nb)}
    assert uses["train.csv"].exists and uses["train.csv"].cells == (2,)


@pytest.mark.parametrize("change", ["os.chdir('..')", "%cd ..", "os.chdir('../')", "cd .."])
def test_names_after_moving_up_to_the_repository_are_read_above_the_notebook(tmp_path: Path,
                                                                               change: str) -> None:
    # a repository's notebooks/ folder whose notebook moves to the repository root first
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notebooks").mkdir()
    nb = read_notebook(_notebook(tmp_path / "notebooks", [
        "import os\nimport pandas as pd", change, "df = pd.read_csv('data/iris.csv')",
        "df.to_csv('data/clean.csv')", "%run notebooks/helpers.py"]))
    # ``notebooks/helpers.py`` from the repository root is the file beside the notebook: not above
    assert {u.path for u in relative_paths(nb)} == set()
    assert outside_paths(nb) == ("../data/iris.csv", "../data/clean.csv")
    assert outside_folders(nb) == ("../data",)


def test_moving_up_and_back_down_or_down_and_up_reads_relative_names_where_they_are(tmp_path: Path) -> None:
    (tmp_path / "notebooks" / "data").mkdir(parents=True)
    (tmp_path / "notebooks" / "train.csv").write_text("a\n1\n")
    (tmp_path / "notebooks" / "data" / "test.csv").write_text("a\n1\n")
    nb = read_notebook(_notebook(tmp_path / "notebooks", [
        "import pandas as pd", "%cd ..", "%cd notebooks", "train = pd.read_csv('train.csv')",
        "import os\nos.chdir('data')", "test = pd.read_csv('test.csv')\nold = pd.read_csv('../train.csv')"]))
    uses = {u.path: u.cells for u in relative_paths(nb)}
    assert uses == {"train.csv": (3, 5), "data": (4,), "data/test.csv": (5,)}
    assert outside_paths(nb) == ()


def test_a_file_name_with_a_space_is_a_file_the_split_takes_along(tmp_path: Path) -> None:
    # run probe, 2026-12-05: '../data/shopping center.csv' was not seen, so the comparison's copy
    # of the source tree and the bundle's sync paths left ../data out
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shopping center.csv").write_text("a\n1\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "raw sales.csv").write_text("a\n1\n")
    nb = read_notebook(_notebook(tmp_path / "notebooks", [
        "import pandas as pd",
        "shop = pd.read_csv('../data/shopping center.csv')\nraw = pd.read_csv('raw sales.csv')",
        "plt.title('Age/Fare ratio')\nplt.xlabel('price / m2')"]))
    assert outside_paths(nb) == ("../data/shopping center.csv",)
    assert outside_folders(nb) == ("../data",)
    # beside the notebook, a name with a space counts when the file is there; words with a slash
    # in a title are not a file
    assert {u.path: u.exists for u in relative_paths(nb)} == {"raw sales.csv": True}


def test_a_literal_no_file_system_could_hold_names_no_file(tmp_path: Path) -> None:
    """A speech pasted as one word (a public lesson notebook), longer than any file name: asking
    the disk about it failed with "File name too long" and ``plan`` stopped with an internal
    error. It names no file; the names around it still do."""
    speech = "fourscoreandsevenyearsago" * 12  # 300 bytes, one path component
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a\n1\n")
    path = _notebook(tmp_path, [
        f"text = '{speech}'\nwords = text.split('e')",
        f"import pandas as pd\ndf = pd.read_csv('data/train.csv')\nmaybe = '{speech}.csv'",
        f"other = pd.read_csv('../{speech}/x.csv')\nalso = 'data/{'y' * 1100}.csv'",
        "df.to_csv('out.csv')",
    ])
    nb = read_notebook(path)
    assert [(u.path, u.exists) for u in relative_paths(nb)] == [("data/train.csv", True), ("out.csv", False)]
    assert outside_paths(nb) == ()
    out = tmp_path / "stages"
    convert_notebook(path, out)
    assert (out / "nbsplit-manifest.json").is_file()
