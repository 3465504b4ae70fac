"""The pre-commit integration, for real: ``.pre-commit-hooks.yaml`` validates, and
``pre-commit try-repo <this repo> nbsplit-check`` passes on a clean repository and fails with
the expected ``NBS1xx`` lines on a mistagged notebook and on a stale converted folder.

try-repo builds the hook's virtualenv by pip-installing this project (core dependencies only)
from the package index, so the end-to-end test is marked ``network`` (two environments: about
25 s quiet, 80 s loaded). It uses
the hook repository's committed state plus its staged and modified tracked files (untracked
files are not part of the shadow copy pre-commit makes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nbfactory import write_tagged_nb as write_nb

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def test_hooks_manifest_validates() -> None:
    proc = subprocess.run([*PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_install_only_the_light_core() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"nbsplit-check", "nbsplit-tag"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert "additional_dependencies" not in hook  # pip install . -> core only
        assert set(hook["types_or"]) == {"jupyter", "python"}
    assert hooks["nbsplit-check"]["entry"] == "nbsplit check"
    assert hooks["nbsplit-tag"]["entry"] == "nbsplit check --fix"




def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def try_repo(repo: Path, env: dict[str, str], hook: str = "nbsplit-check") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PRE_COMMIT, "try-repo", str(ROOT), hook, "--all-files"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.network
def test_try_repo_passes_clean_repo_and_fails_on_mistagged_and_stale(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "team"
    repo.mkdir()
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    env.pop("VIRTUAL_ENV", None)
    git(repo, "init", "-q")
    good = write_nb(repo / "churn.ipynb", [
        ("import pandas as pd", ["nbsplit:setup"]),
        ("df = pd.read_csv('churn.csv')\ndf = df.dropna()", ["nbsplit:data-prep"]),
        ("df.describe()", ["nbsplit:eda"]),
    ])
    (repo / "helpers.py").write_text("def f(x):\n    return x + 1\n")  # plain module: skipped
    pipeline = repo / "churn_pipeline"
    pipeline.mkdir()
    manifest = {"source": {"path": "../churn.ipynb", "format": "ipynb",
                           "sha256": hashlib.sha256(good.read_bytes()).hexdigest()}}
    (pipeline / "nbsplit-manifest.json").write_text(json.dumps(manifest))
    git(repo, "add", ".")

    clean = try_repo(repo, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    # One more hook environment (each try-repo builds its own: ~12 s quiet, ~40 s loaded), so both
    # failures are made at once: a mistagged new notebook, and churn's stages folder converted
    # from another version of it.
    write_nb(repo / "scoring.ipynb", [
        ("import pandas as pd", ["nbsplit:setup"]),
        ("new = pd.read_csv('new.csv')", ["nbsplit:predicton"]),
    ])
    manifest["source"]["sha256"] = "0" * 64
    (pipeline / "nbsplit-manifest.json").write_text(json.dumps(manifest))
    git(repo, "add", "-A")
    failing = try_repo(repo, env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert ("scoring.ipynb:cell 1: NBS101 unknown stage tag 'nbsplit:predicton' "
            "(did you mean 'nbsplit:prediction'?)") in failing.stdout
    assert "churn.ipynb: NBS107 stages folder" in failing.stdout and "is stale" in failing.stdout
    # churn.ipynb's own cells are still fine: its only finding is the stale folder.
    assert [line for line in failing.stdout.splitlines() if line.startswith("churn.ipynb")] == \
        [line for line in failing.stdout.splitlines() if line.startswith("churn.ipynb: NBS107")]
