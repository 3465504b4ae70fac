"""The Databricks stand-ins ``nbsplit run`` loads into each kernel: unit tests (no kernel) and
one kernel test that loads them the way the runner does (an IPython startup file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from nbsplit import standins
from nbsplit.standins import (Fs, InputWidgetNotDefined, TaskValues, Widgets, cell_needs_spark,
                              databricks_magic_transform, pip_install_plan, shell_pip_transform, split_sql)


def test_widgets_job_parameters_win_over_defaults() -> None:
    w = Widgets({"catalog": "main", "n": 3})
    w.text("catalog", "dev")
    w.text("schema", "default")
    w.dropdown("env", "dev", ["dev", "prod"])
    assert w.get("catalog") == "main"
    assert w.get("n") == "3"  # widget values are strings
    assert w.get("schema") == "default"
    assert w.getArgument("missing", "fallback") == "fallback"
    assert w.getAll() == {"catalog": "main", "n": "3", "schema": "default", "env": "dev"}
    w.remove("schema")
    with pytest.raises(InputWidgetNotDefined):
        w.get("schema")
    w.removeAll()
    with pytest.raises(InputWidgetNotDefined):
        w.get("env")
    assert w.get("catalog") == "main"


@pytest.mark.parametrize("call", [
    pytest.param(lambda w: w.dropdown("env", "qa", ["dev", "prod"]), id="dropdown"),
    pytest.param(lambda w: w.multiselect("cols", "a,z", ["a", "b"]), id="multiselect"),
])
def test_widget_default_outside_choices_is_refused(call) -> None:
    with pytest.raises(ValueError, match="not one of"):
        call(Widgets())


def test_combobox_accepts_free_values() -> None:
    w = Widgets()
    w.combobox("x", "free", ["a"])
    assert w.get("x") == "free"


def test_task_values_cross_tasks_through_files(tmp_path: Path) -> None:
    TaskValues(tmp_path, "train").set("auc", 0.91)
    reader = TaskValues(tmp_path, "evaluate")
    assert reader.get("train", "auc") == 0.91
    assert reader.get("train", "missing", default=1) == 1
    assert reader.get("train", "missing", debugValue=2) == 2
    with pytest.raises(ValueError, match="run task 'train' first"):
        reader.get("train", "missing")
    with pytest.raises(TypeError):
        TaskValues(tmp_path, "train").set("bad", object())
    with pytest.raises(ValueError, match="48 KiB"):
        TaskValues(tmp_path, "train").set("big", "x" * 50_000)


def test_fs_maps_dbfs_under_the_state_folder(tmp_path: Path) -> None:
    fs = Fs(tmp_path / "dbfs")
    assert fs.mkdirs("dbfs:/data/raw")
    fs.put("dbfs:/data/raw/a.csv", "x,y\n1,2\n")
    with pytest.raises(FileExistsError):
        fs.put("dbfs:/data/raw/a.csv", "again")
    assert (tmp_path / "dbfs" / "data" / "raw" / "a.csv").read_text() == "x,y\n1,2\n"
    assert fs.head("/dbfs/data/raw/a.csv", 3) == "x,y"
    listing = fs.ls("dbfs:/data")
    assert [(f.name, f.path, f.size) for f in listing] == [("raw/", "dbfs:/data/raw/", 0)]
    local = tmp_path / "local"
    fs.cp("dbfs:/data/raw", f"file:{local}", recurse=True)
    assert (local / "a.csv").is_file()
    with pytest.raises(OSError, match="recurse"):
        fs.rm("dbfs:/data")
    assert fs.rm("dbfs:/data", recurse=True)
    assert not fs.rm("dbfs:/data")


def test_split_sql_respects_quotes_and_comments() -> None:
    text = "SELECT ';' AS a; -- a comment; not a statement\nSELECT 2;\n\n"
    assert split_sql(text) == ["SELECT ';' AS a", "SELECT 2"]


@pytest.mark.parametrize("source, expected", [
    pytest.param("%sql\nSELECT 1", "%%sql\nSELECT 1", id="sql"),
    pytest.param("\n%sql SELECT 1\n", "\n%%sql\nSELECT 1\n", id="sql-inline"),
    pytest.param("%python\nx = 1", "x = 1", id="python"),
    pytest.param("%md\n# Title", "pass\n", id="md"),
    pytest.param("%sh\nls", "%%sh\nls", id="sh"),
    pytest.param("%pip install x", "%pip install x", id="pip-untouched"),
    pytest.param("x = 1\n%sql", "x = 1\n%sql", id="not-first-line"),
    pytest.param("%sqlx\nSELECT", "%sqlx\nSELECT", id="other-magic"),
])
def test_databricks_magic_cells(source: str, expected: str) -> None:
    lines = source.splitlines(keepends=True)
    assert "".join(databricks_magic_transform(lines)) == expected


@pytest.mark.parametrize("source, expected", [
    pytest.param("!pip install kaggle --quiet", "%pip install kaggle --quiet", id="bang-pip"),
    pytest.param("import os\n  ! pip3 install -q a b\nx = 1", "import os\n  %pip install -q a b\nx = 1",
                 id="indented-pip3"),
    pytest.param("!python -m pip uninstall -y x\n", "%pip uninstall -y x\n", id="python-m-pip"),
    pytest.param("!pip list", "!pip list", id="pip-list-untouched"),
    pytest.param("!ls data", "!ls data", id="other-shell"),
    pytest.param("s = '!pip install x'", "s = '!pip install x'", id="in-a-string"),
    # the spellings a strangers' notebook installed for real with (probe, 2026-12-05)
    pytest.param("import sys\n!{sys.executable} -m pip install -r requirements.txt",
                 "import sys\n%pip install -r requirements.txt", id="sys-executable"),
    pytest.param('!"{sys.executable}" -m pip install x', "%pip install x", id="quoted-sys-executable"),
    pytest.param("!pip -q install x", "%pip -q install x", id="option-before-verb"),
    pytest.param("!python3.10 -m pip install x", "%pip install x", id="versioned-python"),
    pytest.param("!pip3.11 install x", "%pip install x", id="versioned-pip"),
    pytest.param("!conda install -y -c conda-forge x", "%conda install -y -c conda-forge x", id="conda"),
    pytest.param("!mamba install x", "%mamba install x", id="mamba"),
    pytest.param("!conda upgrade -y numpy", "%conda upgrade -y numpy", id="conda-upgrade"),
    pytest.param("!conda list", "!conda list", id="conda-list-untouched"),
])
def test_shell_pip_installs_go_through_the_pip_stand_in(source: str, expected: str) -> None:
    assert "".join(shell_pip_transform(source.splitlines(keepends=True))) == expected


def test_pip_install_plan_knows_what_is_installed() -> None:
    plan = dict(pip_install_plan(["-q", "pandas>=1.0", "--index-url", "https://x", "no-such-pkg-nbsplit",
                                  "scikit-learn[alldeps]==1.9"]))
    assert plan["pandas>=1.0"] and plan["scikit-learn[alldeps]==1.9"]
    assert plan["no-such-pkg-nbsplit"] is None
    assert "https://x" not in plan


@pytest.mark.parametrize("source, needs", [
    ("df = spark.read.csv(path)", True),
    ("spark.sql('select 1').show()", True),
    ("spark = SparkSession.builder.getOrCreate()", False),
    ("name = 'spark'", False),
    ("sparkline(x)", False),
    ("session.spark.conf", False),
])
def test_cell_needs_spark(source: str, needs: bool) -> None:
    assert cell_needs_spark(source) is needs


@pytest.mark.slow
def _run_with_standins(tmp_path: Path, cells: list[str], env: dict[str, str]) -> list[str]:
    """``cells`` run in a real kernel with the stand-ins loaded as ``nbsplit run`` loads them
    (state in ``tmp_path/.nbsplit``); each cell's printed and displayed text."""
    from nbsplit.execute import execute_notebook

    state = tmp_path / ".nbsplit"
    standins.write_ipython_dir(state / "ipython")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    env = {"IPYTHONDIR": str(state / "ipython"), standins.ENV_STATE_DIR: str(state), **env}
    out = execute_notebook(path, tmp_path, timeout=60, env=env)
    return ["".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in c.outputs)
            for c in out.cells]


def test_standins_in_a_real_kernel(tmp_path: Path) -> None:
    cells = [
        'dbutils.widgets.text("catalog", "dev")\nprint(dbutils.widgets.get("catalog"))',
        'dbutils.jobs.taskValues.set("n", 3)\nprint(dbutils.jobs.taskValues.get("t1", "n"))',
        "%pip install pandas",
        'import pandas as pd\ndisplay(pd.DataFrame({"a": [1, 2]}))',
        "!pip install --quiet pandas",
        '%python\nprint("python cell")',
        'print("before")\ndbutils.notebook.exit("done")\nprint("never")',
        'print("after exit")',
    ]
    texts = _run_with_standins(tmp_path, cells, {standins.ENV_TASK_KEY: "t1",
                                                  standins.ENV_PARAMETERS: json.dumps({"catalog": "prod"})})
    state = tmp_path / ".nbsplit"
    assert texts[0].strip() == "prod"
    assert texts[1].strip() == "3"
    assert "skipped %pip install pandas (installed:" in texts[2]
    assert "a" in texts[3] and "1" in texts[3]
    assert texts[4].strip().startswith("nbsplit run: skipped %pip install pandas (installed:")
    assert texts[5].strip() == "python cell"
    assert texts[6].split() == ["before", "Notebook", "exited:", "done"]
    assert texts[7] == ""
    assert json.loads((state / "task_values" / "t1.json").read_text()) == {"n": 3}
    assert not (Path(os.environ.get("IPYTHONDIR", "~/.ipython")).expanduser() / "nbsplit_standins.py").exists()


def test_a_session_started_before_a_cell_leaves_pandas_a_kernel_s_display(tmp_path: Path) -> None:
    """The run starts Spark before a cell that needs it; pyspark imports pandas, and pandas
    decides at import whether it prints for a kernel (20 columns, then '...') or a terminal (every
    column, wrapped), by looking for IPython. Imported from the hook, it took the kernel for a
    terminal: a monolith that starts Spark printed its frames unlike its stages. The session
    factory is replaced by a pandas import here, so no JVM starts."""
    cells = [
        "# handoff_dir: a parameters cell, before which the run starts no session\n"
        "import sys\nsys.modules['_nbsplit_standins'].create_spark = lambda: __import__('pandas') and object()",
        "import sys\nprint('pandas' in sys.modules)",
        "import pandas as pd\nprint(pd.get_option('display.max_columns'))",
    ]
    texts = [t.strip() for t in _run_with_standins(tmp_path, cells, {standins.ENV_SPARK: "1"})]
    assert texts[1] == "True"  # the stand-in "session" started before cell 1, importing pandas
    assert texts[2] == "20"


def test_a_figure_shows_in_the_cell_that_drew_it_when_the_backend_hooks_in_late(tmp_path: Path) -> None:
    """With matplotlib before 3.8 the inline backend's hook failed on a circular import when the
    first cell drew, and was retried after that cell: the first figure showed at the end of the
    next cell, one cell in the monolith and another in a stage, and ``run --compare`` reported a
    difference the split had not made (a stranger's Kayak notebook). Cell 0 makes the hook's
    first attempt fail as that import did; the figure must still show in cell 2."""
    pytest.importorskip("matplotlib_inline")
    cells = [
        "import IPython.core.pylabtools as pylabtools\n"
        "_activate, _calls = pylabtools.activate_matplotlib, []\n"
        "def _fails_once(backend):\n"
        "    _calls.append(backend)\n"
        "    if len(_calls) == 1:  # as matplotlib<3.8's: interactive mode on, then the import fails\n"
        "        __import__('matplotlib').interactive(True)\n"
        "        raise ImportError('cannot import name (partially initialized module)')\n"
        "    _activate(backend)\n"
        "pylabtools.activate_matplotlib = _fails_once",
        "import matplotlib.pyplot as plt",
        "fig, ax = plt.subplots()\nax.plot([1, 2])\nNone",
        "y = 2",
    ]
    texts = _run_with_standins(tmp_path, cells, {"MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    assert texts[2].startswith("<Figure size")
    assert texts[3] == ""


@pytest.mark.slow
def test_no_spelling_of_an_install_changes_packages_in_a_real_kernel(tmp_path: Path) -> None:
    # '!{sys.executable} -m pip install -r requirements.txt' in a stranger's setup cell installed
    # two packages into the machine's Python during a local run
    from nbsplit.execute import execute_notebook

    state = tmp_path / ".nbsplit"
    standins.write_ipython_dir(state / "ipython")
    missing = "nbsplit-no-such-package-4f2a"
    cells = [
        f"import sys\n!{{sys.executable}} -m pip install --quiet {missing}",
        "%pip -q install pandas",
        f"!conda install -y {missing}",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    env = {"IPYTHONDIR": str(state / "ipython"), standins.ENV_STATE_DIR: str(state)}
    out = execute_notebook(path, tmp_path, timeout=60, env=env)
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in out.cells]
    assert texts[0].strip().startswith(f"nbsplit run: NOT installing {missing}:")
    assert texts[1].strip().startswith("nbsplit run: skipped %pip install pandas (installed:")
    assert texts[2].strip() == f"nbsplit run: skipped %conda install -y {missing} (the local run does not change packages)"


def test_a_shell_command_that_asks_a_question_gets_no_answer_and_goes_on(tmp_path: Path) -> None:
    """``!unzip`` of an archive already extracted asks whether to replace each file; IPython's
    pseudo-terminal left it waiting for the cell's timeout. With the stand-ins it reads no input,
    takes [N]one, and the notebook goes on; $-expansion and _exit_code still work."""
    import shutil
    import zipfile

    if shutil.which("unzip") is None:
        pytest.skip("no unzip on this machine")
    (tmp_path / "a.txt").write_text("one\n")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.write(tmp_path / "a.txt", "a.txt")
    cells = [
        "!unzip a.zip",
        "print(_exit_code)",
        "name = 'a.txt'\n!cat $name && echo to-stderr 1>&2",
        "lines = !echo captured\nprint(lines)",
    ]
    texts = _run_with_standins(tmp_path, cells, {})
    assert "replace a.txt?" in texts[0]
    assert texts[1].strip() == "1"  # unzip: answered [N]one, nothing extracted
    assert texts[2].split() == ["one", "to-stderr"]
    assert texts[3].strip() == "['captured']"
