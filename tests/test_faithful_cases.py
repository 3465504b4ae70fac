"""The faithfulness suite: small notebooks written like real public ones (tests/faithful_cases/,
built by its build_cases.py), each converted and run with ``--compare``. Two runs of the monolith
decide which cells are deterministic: the outputs stored in the notebook (build_cases.py
--execute) and one fresh run; a notebook stored unexecuted gets two fresh runs. Every one must run end to end, reproduce every
deterministic cell, and have no cell the monolith computed deterministically left out.

The notebooks run one after another, each with ``parallel=2`` (source runs share the slots).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from nbsplit.run import RunResult, run_folder
from tests.test_run import convert, quiet

pytestmark = pytest.mark.slow

CASES = Path(__file__).resolve().parent / "faithful_cases"
NAMES = sorted(p.stem for p in CASES.glob("*.ipynb"))


def _pandas_on_spark_importable() -> bool:
    try:
        import pyspark.pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _run(name: str, tmp: Path) -> tuple[RunResult, Path]:
    project = tmp / "project"
    project.mkdir()
    shutil.copy(CASES / f"{name}.ipynb", project)
    shutil.copytree(CASES / "data", project / "data", ignore=shutil.ignore_patterns("make_data.py", "__pycache__"))
    split = convert(project / f"{name}.ipynb", tmp / "split")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONHASHSEED", "0")
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        # the notebooks are stored executed (build_cases.py --execute): one fresh source run
        result = run_folder(split, parallel=2, compare=True, compare_runs=1, timeout=600, console=quiet())
    return result, split


@pytest.mark.parametrize("name", NAMES)
def test_split_reproduces_every_deterministic_cell(name: str, tmp_path: Path) -> None:
    if name == "pandas_on_spark" and not _pandas_on_spark_importable():
        pytest.skip("pyspark.pandas cannot be imported with this pandas (pandas-on-Spark needs pandas < 3)")
    result, _ = _run(name, tmp_path)
    assert result.ok, result.messages
    compare = result.compare
    assert compare is not None and compare.error is None, result.messages
    assert compare.mismatches == (), result.messages
    assert compare.nondeterministic == (), f"cells varying between two monolith runs: {compare.nondeterministic}"
    assert compare.compared >= 2
    print(f"{name}: {compare.compared} deterministic cells compared, {len(compare.mismatches)} mismatches")
