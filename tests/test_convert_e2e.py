"""Faithfulness end to end: the stage notebooks reproduce the monolith's outputs.

For each case (our churn_mini, and every sample notebook that runs in a plain kernel): copy its
folder to a temporary place, run the monolith twice (a cell whose text outputs differ between the
two runs is not deterministic and is not compared), convert, run the stages in DAG order (fresh
kernel each, working directory = the source folder), then compare every deterministic code
cell's text outputs (stdout, text/plain of results and displays; stderr, images and execution
counts ignored) with the same cell in its stage notebook, found through the manifest.

Each run gets its own MLflow sqlite store (and the folder's artefacts are removed between runs),
so registered-model versions restart at 1 and do not make the comparison depend on run order.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convert_cases.support import CASES, SAMPLES, plan_case, read_manifest, text_outputs
from nbsplit.execute import execute_notebook, execute_stages

pytestmark = pytest.mark.slow

TIMEOUT = 300
_ARTEFACTS = ("mlruns", "mlflow.db", "spark-warehouse", "metastore_db", "derby.log", "outputs", "predictions",
              ".ipynb_checkpoints", "__pycache__")


def _cases() -> list[Any]:
    cases = [pytest.param(CASES / "churn_mini" / "churn_mini.ipynb", id="churn_mini")]
    for path in sorted(SAMPLES.glob("*.ipynb")):
        cases.append(pytest.param(path, id=path.stem))
    return cases


@dataclass
class Outcome:
    source: Path
    out: Path
    monolith: tuple[Any, Any]
    stages: dict[str, Any]
    manifest: dict[str, Any]


def _env(tmp: Path, run: str) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{(tmp / f'{run}.db').resolve()}",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        # nbsplit's own MLflow instrumentation is tested in test_convert_mlflow.py; here it
        # would only add minutes (the notebooks' own MLflow calls still run).
        "NBSPLIT_MLFLOW": "off",
    }


@pytest.fixture(scope="module", params=_cases())
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    original: Path = request.param
    tmp = tmp_path_factory.mktemp(original.stem)
    folder = tmp / "src"
    shutil.copytree(original.parent, folder, ignore=shutil.ignore_patterns(*_ARTEFACTS))
    source = folder / original.name
    # One after the other, artefacts removed in between: a notebook may set its own tracking URI
    # (./mlflow.db) or write outputs, and each run should start from the same folder.
    mono = []
    for run in ("mono1", "mono2"):
        mono.append(execute_notebook(source, folder, timeout=TIMEOUT, env=_env(tmp, run)))
        _clean(folder)

    from nbsplit.convert import convert_notebook

    out = tmp / "split"
    convert_notebook(source, out)
    manifest = read_manifest(out)
    stages = execute_stages(out, [s["name"] for s in manifest["stages"]], folder, timeout=TIMEOUT,
                            env=_env(tmp, "split"))
    return Outcome(source, out, (mono[0], mono[1]), stages, manifest)


def _clean(folder: Path) -> None:
    for name in _ARTEFACTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def test_stages_reproduce_the_monolith_outputs(outcome: Outcome) -> None:
    first, second = outcome.monolith
    compared, nondeterministic, mismatches = 0, 0, []
    for entry in outcome.manifest["cells"]:
        cell = first.cells[entry["index"]]
        if cell.cell_type != "code" or entry["file"] is None:
            continue
        expected = text_outputs(cell)
        if expected != text_outputs(second.cells[entry["index"]]):
            nondeterministic += 1
            continue
        for place in [entry, *entry.get("also", [])]:
            got = text_outputs(outcome.stages[place["file"]].cells[place["cell"]])
            compared += 1
            if got != expected:
                mismatches.append(f"source cell {entry['index']} in {place['file']} cell {place['cell']}:\n"
                                  f"  monolith: {expected!r:.300}\n  stage:    {got!r:.300}")
    print(f"{outcome.source.name}: compared {compared} cell placements, "
          f"{nondeterministic} nondeterministic cells skipped")
    assert not mismatches, "\n".join(mismatches)
    with_output = sum(1 for c in first.cells if c.cell_type == "code" and text_outputs(c))
    assert compared >= with_output - nondeterministic > 0


def test_every_stage_ran_and_saved_what_later_stages_load(outcome: Outcome) -> None:
    assert list(outcome.stages) == [s["file"] for s in outcome.manifest["stages"]]
    handoffs = outcome.out / ".nbsplit" / "handoffs"
    for h in outcome.manifest["handoffs"]:
        assert (handoffs / f"{h['key']}.nbsplit.json").is_file(), h


def test_plan_used_by_convert_is_the_public_one(outcome: Outcome) -> None:
    # The manifest's stages are exactly the plan's non-empty pipeline stages.
    plan = plan_case(outcome.source)
    planned = [s.stage.value for s in sorted(plan.stages, key=lambda s: s.stage.order)
               if s.stage.is_pipeline and s.cells]
    assert [s["name"] for s in outcome.manifest["stages"]] == planned
