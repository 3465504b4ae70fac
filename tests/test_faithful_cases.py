"""The faithfulness suite: small notebooks written like real public ones (tests/faithful_cases/,
built by its build_cases.py), each converted, run, and compared with its monolith cell by cell.
The monolith's outputs are the ones stored in the notebook: ``build_cases.py --execute`` runs
each monolith twice in the environment of ``nbsplit run --compare``'s source runs and stores it
only when both runs agree on every cell, so every stored output is deterministic and the test
needs no source run of its own (it used to make one per case: a kernel, and a JVM for the Spark
cases). A notebook stored unexecuted is run with ``--compare`` (two fresh source runs). Every one
must run end to end and reproduce every cell that has output; a stored output that no longer
matches after a library upgrade fails the case: rebuild with ``build_cases.py --execute``.
``nbsplit run --compare`` itself (source runs in a copy of the project) is tested on every sample
by test_pipeline_samples.py.

The notebooks run one after another, each with ``parallel=2``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from nbsplit.run import CompareResult, RunResult, compare_runs_with_split, run_folder, stored_run
from tests.test_run import convert, quiet

# Not in the default run (the suite's time): CI runs it as its second job, `pytest -m extended`.
pytestmark = [pytest.mark.slow, pytest.mark.extended]

CASES = Path(__file__).resolve().parent / "faithful_cases"
NAMES = sorted(p.stem for p in CASES.glob("*.ipynb"))


def _pandas_on_spark_importable() -> bool:
    try:
        import pyspark.pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _run(name: str, tmp: Path) -> tuple[RunResult, CompareResult | None]:
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
        stored = stored_run(project / f"{name}.ipynb")
        result = run_folder(split, parallel=2, compare=stored is None, timeout=600, console=quiet())
    if stored is None:
        return result, result.compare
    if not result.ok:
        return result, None
    manifest = json.loads((split / "nbsplit-manifest.json").read_text(encoding="utf-8"))
    return result, compare_runs_with_split(manifest, [stored], {t.key: t for t in result.tasks})


@pytest.mark.parametrize("name", NAMES)
def test_split_reproduces_every_deterministic_cell(name: str, tmp_path: Path) -> None:
    if name == "pandas_on_spark" and not _pandas_on_spark_importable():
        # pyspark 4.2's and 4.3's pandas API on Spark imports pandas internals that pandas 3
        # removed (pandas.tseries.frequencies.DateOffset, then pandas.core.dtypes.common.
        # infer_dtype_from_object); CI runs this case with pandas<3 (.ci/run): 3 cells, 0 mismatches.
        pytest.skip("pyspark.pandas cannot be imported with this pandas (pandas-on-Spark needs pandas < 3)")
    result, compare = _run(name, tmp_path)
    assert result.ok, result.messages
    assert compare is not None and compare.error is None, result.messages
    assert compare.mismatches == (), [(m.index, m.expected[:200], m.got[:200]) for m in compare.mismatches]
    assert compare.nondeterministic == (), f"cells varying between two monolith runs: {compare.nondeterministic}"
    assert compare.compared >= 2
    print(f"{name}: {compare.compared} deterministic cells compared, {len(compare.mismatches)} mismatches")
