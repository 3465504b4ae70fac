"""The same input gives byte-identical output in every process: ``nbsplit plan --format json``
and ``nbsplit convert`` (every format) on the sample notebooks and generated ones, run in
processes with different ``PYTHONHASHSEED`` values, write the same bytes. A decision or an order
that came from iterating a set would differ between them (string hashes are salted per process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.nbfactory import write_ml_notebook

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted([*(ROOT / "sample_notebooks").glob("*.ipynb"), ROOT / "sample_notebooks" / "databricks_housing.py"])
SEEDS = ("0", "1", "12345")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _tied_words_notebook(path: Path) -> Path:
    """Helpers whose names hold two words of equal weight for different stages (``fit`` for
    training, ``evaluate`` for evaluation): the word that wins must not depend on set order (a
    real notebook's ``evaluate_model_fit`` changed its cells' reasons with the seed)."""
    cells = [
        "import pandas as pd\nfrom sklearn.linear_model import Ridge\nfrom sklearn.metrics import r2_score",
        "df = pd.read_csv('data.csv')\nX, y = df[['a', 'b']], df['y']",
        "def evaluate_model_fit(model, X, y):\n    print(model.score(X, y))",
        "def train_and_evaluate(model, X, y):\n    return model",
        "ridge = Ridge().fit(X, y)\nevaluate_model_fit(ridge, X, y)\ntrain_and_evaluate(ridge, X, y)",
        "evaluate_model_fit(ridge, X, y)",
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


# 9-17 s on 2 cores (three processes, each planning and converting 10 notebooks 3 ways).
@pytest.mark.slow
def test_plan_and_convert_do_not_depend_on_hash_seed(tmp_path: Path) -> None:
    generated = [write_ml_notebook(tmp_path / f"generated_{k}.ipynb", k) for k in range(4)]
    generated.append(_tied_words_notebook(tmp_path / "tied_words.ipynb"))
    notebooks = [str(p) for p in [*SAMPLES, *generated]]
    driver = Path(__file__).with_name("hashseed_driver.py")
    runs = {}
    for seed in SEEDS:  # in parallel, one process per seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs[seed] = subprocess.Popen([sys.executable, str(driver), str(tmp_path / f"seed-{seed}"), *notebooks],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for seed, proc in runs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    reference = _files(tmp_path / f"seed-{SEEDS[0]}")
    assert sum(name.endswith("plan.json") for name in reference) == len(notebooks)
    assert sum(name.endswith("job.json") for name in reference) == 3 * len(notebooks)  # every convert wrote
    for seed in SEEDS[1:]:
        other = _files(tmp_path / f"seed-{seed}")
        assert sorted(other) == sorted(reference), f"PYTHONHASHSEED={seed}: other files"
        differing = [name for name in reference if other[name] != reference[name]]
        assert not differing, f"PYTHONHASHSEED={seed} changes {differing[:5]}"
