"""``nbsplit check`` on the command line (click's CliRunner against ``nbsplit.cli``):
options, exit codes, text and JSON output, ``[tool.nbsplit]`` settings."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from nbsplit.cli import cli
from tests.nbfactory import write_tagged_nb as write_nb




@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    write_nb(tmp_path / "good.ipynb", [
        ("import pandas as pd", ["nbsplit:setup"]),
        ("df = pd.read_csv('x.csv')", ["nbsplit:data-prep"]),
        ("df.describe()", ["nbsplit:eda"]),
    ])
    write_nb(tmp_path / "typo.ipynb", [
        ("import pandas as pd", ["nbsplit:setup"]),
        ("df = pd.read_csv('x.csv')", ["nbsplit:data_prep"]),
    ])
    write_nb(tmp_path / "untagged.ipynb", [
        ("import pandas as pd", ["nbsplit:setup"]),
        ("df = pd.read_csv('x.csv')", []),
        ("df.describe()", []),
    ])
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_ok_and_error_exit_codes(project: Path) -> None:
    code, out = run("good.ipynb")
    assert (code, out.strip()) == (0, "1 file OK")
    code, out = run("good.ipynb", "typo.ipynb")
    assert code == 1
    assert out.splitlines() == [
        "typo.ipynb:cell 1: NBS101 unknown stage tag 'nbsplit:data_prep' (did you mean 'nbsplit:data-prep'?)",
        "1 problem (1 error, 0 warnings) in 1 file",
    ]


def test_require_tags_option_and_config(project: Path) -> None:
    code, out = run("untagged.ipynb", "--require-tags")
    assert code == 1 and out.count("NBS103") == 2
    assert run("untagged.ipynb", "--threshold", "0")[0] == 0
    (project / "pyproject.toml").write_text("[tool.nbsplit]\nrequire-tags = true\n")
    code, out = run("untagged.ipynb")
    assert code == 1 and out.count("NBS103") == 2
    (project / "pyproject.toml").write_text("[tool.nbsplit]\nrequire-tags = true\nignore = [\"NBS103\"]\n")
    assert run("untagged.ipynb")[0] == 0


def test_threshold_warnings_and_strict(project: Path) -> None:
    code, out = run("untagged.ipynb", "--threshold", "1.0")
    assert code == 0 and out.count("NBS104") == 2 and "2 warnings" in out
    code, out = run("untagged.ipynb", "--threshold", "1.0", "--strict")
    assert code == 1


def test_fix_writes_tags_and_fails_once(project: Path) -> None:
    code, out = run("untagged.ipynb", "--fix", "--require-tags")
    assert code == 1 and out.splitlines()[0] == "untagged.ipynb: tagged 2 cells"
    tags = [c.metadata.get("tags") for c in nbformat.read(project / "untagged.ipynb", as_version=4).cells]
    assert tags == [["nbsplit:setup"], ["nbsplit:data-prep"], ["nbsplit:eda"]]
    assert run("untagged.ipynb", "--fix", "--require-tags") == (0, "1 file OK\n")


def test_json_format(project: Path) -> None:
    code, out = run("good.ipynb", "typo.ipynb", "--format", "json")
    data = json.loads(out)
    assert code == 1 == data["exit_code"]
    assert [(p["path"], p["cell"], p["code"]) for p in data["problems"]] == [("typo.ipynb", 1, "NBS101")]


def test_stages_option(project: Path) -> None:
    code, out = run("good.ipynb", "--stages", "missing_dir")
    assert code == 1 and "NBS108" in out


def test_no_files_is_ok(project: Path) -> None:
    assert run()[0] == 0


def test_plain_python_file_is_skipped(project: Path) -> None:
    (project / "util.py").write_text("def f():\n    return 1\n")
    code, out = run("util.py")
    assert code == 0 and "NBS" not in out
