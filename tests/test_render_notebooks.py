"""Rendering a hand-built SplitPlan into stage notebooks: layout, markers, formats, templates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Classification, Handoff, Notebook, SplitPlan, Stage, StagePlan
from nbsplit.read.databricks import read_databricks
from nbsplit.read.percent import read_percent
from nbsplit.render.notebooks import RenderOptions, render_stages
from nbsplit.render.parameters import local_parameters
from nbsplit.reserved import RNG_STATE

SRC = Path("/proj/nb/churn.ipynb")
OUT = Path("/proj/nb/split")


def _plan() -> SplitPlan:
    cells = (
        Cell(0, "markdown", "# Churn\n\nintro"),
        Cell(1, "code", "import pandas as pd\nimport numpy as np", tags=("nbsplit:setup",)),
        Cell(2, "code", "df = pd.DataFrame({'a': [1, 2, 3]})  \n\n", tags=("keep-me",),
             metadata={"collapsed": True, "custom": {"x": 1}}, outputs=({"output_type": "stream", "name": "stdout",
                                                                          "text": "hi\n"},), execution_count=4),
        Cell(3, "code", "%time df.describe()\n"),
        Cell(4, "code", "df['b'] = df.a * 2"),
        Cell(5, "code", "model = df.b.sum()\nnp.random.rand()"),
        Cell(6, "code", "print('scratch')"),
    )
    nb = Notebook(SRC, "ipynb", cells)
    stages = [Stage.SETUP, Stage.SETUP, Stage.DATA_PREP, Stage.EDA, Stage.DATA_PREP, Stage.TRAINING, Stage.SKIP]
    df_eda = Handoff("df", 2, Stage.DATA_PREP, Stage.EDA, 3)  # the intermediate version
    df_train = Handoff("df", 4, Stage.DATA_PREP, Stage.TRAINING, 5)
    rng = Handoff(RNG_STATE, 2, Stage.DATA_PREP, Stage.TRAINING, 5)
    plans = (
        StagePlan(Stage.DATA_PREP, (0, 2, 4), saves=("df",), handoffs_out=(df_eda, df_train, rng),
                  imports=("import pandas as pd",)),
        StagePlan(Stage.EDA, (3,), loads={"df": Stage.DATA_PREP}, depends_on=(Stage.DATA_PREP,),
                  handoffs_in=(df_eda,)),
        StagePlan(Stage.TRAINING, (5,), loads={"df": Stage.DATA_PREP}, depends_on=(Stage.DATA_PREP,),
                  handoffs_in=(df_train, rng), imports=("import numpy as np",),
                  helpers=("def helper(x):\n    return x\n",)),
    )
    return SplitPlan(nb, (None,) * len(cells),
                     tuple(Classification(i, s, 1.0, "tag") for i, s in enumerate(stages)), plans)


def _kinds(cells: tuple[Cell, ...]) -> list[str]:
    return [c.metadata["nbsplit"].get("generated", f"src{c.metadata['nbsplit'].get('source_index')}")
            for c in cells]


def test_stage_layout_and_handoff_placement() -> None:
    prep, eda, train = render_stages(_plan(), RenderOptions(out=OUT))
    assert [s.file for s in (prep, eda, train)] == ["01_data-prep.ipynb", "02_eda.ipynb", "04_training.ipynb"]
    # saves go right after the cell that made each version
    assert _kinds(prep.cells) == ["header", "parameters", "runtime", "imports", "src0", "src2", "save", "src4", "save",
                                  "mlflow"]
    assert "_nbsplit_save('df__c2', df, side='data-prep')" in prep.cells[6].source  # only eda reads it
    assert "_nbsplit_save('_nbsplit_rng__c2', _nbsplit_rng_state())" in prep.cells[6].source
    assert "_nbsplit_save('df__c4', df)" in prep.cells[8].source
    assert _kinds(eda.cells) == ["header", "parameters", "runtime", "load", "src3", "mlflow"]
    # every stage ends with its MLflow run; nothing to log here but the run itself
    assert eda.cells[-1].source.startswith("_nbsplit_track(globals(), 'eda')  # MLflow")
    assert "df = _nbsplit_load('df__c2')" in eda.cells[3].source
    # loads grouped into one cell right before the first reader; helpers after imports
    assert _kinds(train.cells)[:6] == ["header", "parameters", "runtime", "imports", "helpers", "load"]
    load = train.cells[5].source
    assert "df = _nbsplit_load('df__c4')" in load and "_nbsplit_set_rng_state(_nbsplit_load('_nbsplit_rng__c2'))" in load
    assert prep.placements == {0: 4, 2: 5, 4: 7} and train.placements == {5: 6}


def test_user_names_like_the_old_pseudo_names_are_plain_values() -> None:
    """Before the reserved prefix, a variable called `__rng_state__` or `__view__sales` was
    taken for the random state or a Spark view: its value never reached the reading stage.
    (tests/bad_inputs/ok_old_pseudo_names.ipynb converts whole; names under the prefix are refused.)"""
    from nbsplit.api import plan_notebook

    plan = plan_notebook(Path(__file__).parent / "bad_inputs" / "ok_old_pseudo_names.ipynb")
    evaluation = next(sp for sp in plan.stages if sp.stage is Stage.EVALUATION)
    assert sorted((h.name, h.version) for h in evaluation.handoffs_in) == [
        ("__rng_state__", 1), ("__view__sales", 1), (RNG_STATE, 2), ("noise", 2)]
    rendered = {r.stage: r for r in render_stages(plan, RenderOptions(out=OUT))}
    load = next(c.source for c in rendered[Stage.EVALUATION].cells if c.metadata["nbsplit"].get("generated") == "load")
    assert "__rng_state__ = _nbsplit_load('__rng_state____c1')" in load
    assert "__view__sales = _nbsplit_load('__view__sales__c1')" in load
    assert "_nbsplit_set_rng_state(_nbsplit_load('_nbsplit_rng__c2'))" in load
    assert "createOrReplaceTempView" not in load


def test_source_cells_are_kept_byte_for_byte_with_tags_and_metadata() -> None:
    plan = _plan()
    prep = render_stages(plan, RenderOptions(out=OUT))[0]
    nb = nbformat.reads(prep.text, as_version=4)
    cell = nb.cells[prep.placements[2]]
    assert cell.source == plan.notebook.cells[2].source  # trailing spaces and newlines included
    assert cell.metadata["tags"] == ["keep-me"]
    assert cell.metadata["custom"] == {"x": 1} and cell.metadata["collapsed"] is True
    assert cell.metadata["nbsplit"] == {"source_index": 2}
    assert cell.outputs == [] and cell.execution_count is None
    kept = render_stages(plan, RenderOptions(out=OUT, keep_outputs=True))[0]
    kept_cell = nbformat.reads(kept.text, as_version=4).cells[kept.placements[2]]
    assert kept_cell.outputs[0]["text"] == "hi\n" and kept_cell.execution_count == 4


def test_ipynb_is_valid_deterministic_v45_with_python3_kernel() -> None:
    first = render_stages(_plan(), RenderOptions(out=OUT))
    again = render_stages(_plan(), RenderOptions(out=OUT))
    assert [s.text for s in first] == [s.text for s in again]
    for stage in first:
        nb = nbformat.reads(stage.text, as_version=4)
        nbformat.validate(nb)
        assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
        assert nb.metadata.kernelspec.name == "python3"
        ids = [c.id for c in nb.cells]
        assert len(set(ids)) == len(ids) and all(i.startswith(stage.stage.value) for i in ids)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and params[0].metadata["nbsplit"]["generated"] == "parameters"


def test_every_generated_code_cell_compiles() -> None:
    for stage in render_stages(_plan(), RenderOptions(out=OUT)):
        for cell in stage.cells:
            if "generated" in cell.metadata["nbsplit"] and cell.kind == "code":
                compile(cell.source, f"{stage.file}:{cell.index}", "exec")


def test_parameters_are_relative_to_the_output_folder() -> None:
    """handoff_dir lives in the output folder; data_dir is the way from it to the source folder."""
    nb = _plan().notebook
    params = local_parameters(nb, OUT, name="churn", catalog="main", schema="default")
    assert params["handoff_dir"] == ".nbsplit/handoffs" and params["data_dir"] == ".."
    assert local_parameters(nb, Path("/proj/out/x"), name="churn", catalog="c", schema="s")["data_dir"] == "../../nb"
    assert params["experiment_name"] == "/Shared/churn" and params["model_name"] == "churn_model"
    prep = render_stages(_plan(), RenderOptions(out=OUT))[0]
    source = prep.cells[1].source
    assert prep.cells[1].tags == ("parameters",)
    ns: dict = {}
    exec(source, ns)
    assert ns["handoff_dir"] == ".nbsplit/handoffs" and ns["data_dir"] == ".."
    assert prep.cells[2].source.startswith("from nbsplit_runtime import *")


def test_databricks_format_round_trips_through_the_reader() -> None:
    plan = _plan()
    stages = render_stages(plan, RenderOptions(out=OUT, fmt="databricks"))
    assert [s.file for s in stages] == ["01_data-prep.py", "02_eda.py", "04_training.py"]
    text = stages[0].text
    assert text.startswith("# Databricks notebook source\n")
    assert "# DBTITLE 0,nbsplit: runtime\n" in text and "# DBTITLE 0,nbsplit: save\n" in text
    back = read_databricks(text, "01_data-prep.py")
    assert len(back.cells) == len(stages[0].cells)
    assert back.cells[stages[0].placements[4]].source == plan.notebook.cells[4].source
    eda = read_databricks(stages[1].text, "02_eda.py")
    assert eda.cells[stages[1].placements[3]].source == "%time df.describe()"


def test_percent_format_keeps_tags_and_marks_generated_cells() -> None:
    stages = render_stages(_plan(), RenderOptions(out=OUT, fmt="percent"))
    back = read_percent(stages[0].text, "01_data-prep.py")
    assert len(back.cells) == len(stages[0].cells)
    assert "parameters" in back.cells[1].tags
    assert back.cells[stages[0].placements[4]].source == "df['b'] = df.a * 2"


def test_skip_and_empty_stages_render_nothing() -> None:
    stages = render_stages(_plan(), RenderOptions(out=OUT))
    placed = {i for s in stages for i in s.placements}
    assert 6 not in placed and 1 not in placed  # the skip cell, and a setup cell no stage plan lists
    assert all(s.stage.is_pipeline for s in stages)


def test_mlflow_cells_log_what_the_analysis_found() -> None:
    """A model fitted in training is logged and registered there; the metric evaluation binds is
    logged and gates; prediction rebinds the model from the registry. A notebook registering its
    own model gets no registration, gate or rebinding from nbsplit."""
    plan = _plan()
    train = render_stages(plan, RenderOptions(out=OUT))[2]
    assert train.cells[-1].source.startswith("_nbsplit_track(globals(), 'training')")  # nothing fitted
    from nbsplit.analyze import analyze_notebook

    sources = {5: "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression(C=0.5)\n"
                  "model.fit(X_train, y_train)",
               7: "from sklearn.metrics import roc_auc_score\nauc = roc_auc_score(y_test, model.predict(X_test))",
               8: "new['p'] = model.predict(new)"}
    out_model = Handoff("model", 5, Stage.TRAINING, Stage.EVALUATION, 7)
    to_prediction = Handoff("model", 5, Stage.TRAINING, Stage.PREDICTION, 8)
    cells = tuple(replace(c, source=sources[c.index]) if c.index in sources else c for c in plan.notebook.cells)
    cells += (Cell(7, "code", sources[7]), Cell(8, "code", sources[8]))
    notebook = Notebook(SRC, "ipynb", cells)
    base = plan.stages
    plans = (base[0], base[1],
             StagePlan(Stage.TRAINING, (5,), handoffs_in=base[2].handoffs_in, handoffs_out=(out_model, to_prediction),
                       depends_on=(Stage.DATA_PREP,)),
             StagePlan(Stage.EVALUATION, (7,), handoffs_in=(out_model,), depends_on=(Stage.TRAINING,)),
             StagePlan(Stage.PREDICTION, (8,), handoffs_in=(to_prediction,), depends_on=(Stage.TRAINING,)))
    classes = plan.classifications + (Classification(7, Stage.EVALUATION, 1.0, "tag"),
                                      Classification(8, Stage.PREDICTION, 1.0, "tag"))
    plan2 = SplitPlan(notebook, analyze_notebook(notebook), classes, plans)
    train, evaluation, prediction = render_stages(plan2, RenderOptions(out=OUT))[2:]
    # The main model's fit is autologged (the notebook uses no MLflow itself): the analysed
    # parameters are logged before it, by the autolog cell, not by the tracking cell.
    assert _kinds(train.cells)[-6:] == ["autolog", "load", "src5", "autolog", "save", "mlflow"]
    assert train.cells[-6].source.startswith("_nbsplit_autolog('training', ['sklearn'],")
    assert "params={'C': 0.5}" in train.cells[-6].source and "params=" not in train.cells[-1].source
    assert train.cells[-3].source.startswith("_nbsplit_autolog_end('training')")
    assert "model={'name': 'model', 'flavor': 'sklearn', 'input': 'X_train', 'register': True}" in train.cells[-1].source
    assert "metrics=[['auc', ['name', 'auc']]]" in evaluation.cells[-1].source
    assert "gate={'metric': 'auc', 'greater_is_better': True}" in evaluation.cells[-1].source
    assert _kinds(prediction.cells)[-4:] == ["load", "champion", "src8", "mlflow"]
    assert prediction.cells[-3].source.startswith("model = _nbsplit_champion('model', model, 'sklearn')")
    # a notebook that registers its own model gets no registration, gate or rebinding from nbsplit
    own = tuple(replace(c, source=c.source + "\nmlflow.register_model(uri, 'm')") if c.index == 5 else c for c in cells)
    plan3 = SplitPlan(Notebook(SRC, "ipynb", own), analyze_notebook(Notebook(SRC, "ipynb", own)), classes, plans)
    texts = "\n".join(c.source for s in render_stages(plan3, RenderOptions(out=OUT)) for c in s.cells)
    assert "'register': True" not in texts and "gate=" not in texts and "_nbsplit_champion" not in texts
    assert "_nbsplit_autolog" not in texts  # nor autologging: it would log into the notebook's own runs
    assert "metrics=[['auc', ['name', 'auc']]]" in texts


def test_user_template_overrides_builtin(tmp_path: Path) -> None:
    (tmp_path / "notebook").mkdir()
    (tmp_path / "notebook" / "header.md.j2").write_text("# {{ stage.title }} from {{ source_name }}\n")
    prep = render_stages(_plan(), RenderOptions(out=OUT, templates=tmp_path))[0]
    assert prep.cells[0].source == "# Data prep from churn.ipynb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("line one\n{{ foo }}\n", r"notebook/header\.md\.j2:2: 'foo' is undefined", id="undefined"),
        pytest.param("a\nb\n{% if %}\n", r"notebook/header\.md\.j2:3: ", id="syntax"),
        pytest.param("{{ stage.nope.deeper }}\n", r"notebook/header\.md\.j2:1: .*nope", id="attribute"),
    ],
)
def test_broken_user_template_is_one_line_naming_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "notebook").mkdir()
    (tmp_path / "notebook" / "header.md.j2").write_text(text)
    with pytest.raises(NbsplitError, match=expected) as info:
        render_stages(_plan(), RenderOptions(out=OUT, templates=tmp_path))
    assert "\n" not in str(info.value)


def test_rendered_ipynb_metadata_names_stage_and_source() -> None:
    prep = render_stages(_plan(), RenderOptions(out=OUT))[0]
    meta = json.loads(prep.text)["metadata"]
    assert meta["nbsplit"] == {"source": "churn.ipynb", "stage": "data-prep"}


def _save_cells(tmp_path: Path, sources: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The generated save cells of each stage notebook of a tagged notebook (stage, source)."""
    from nbsplit.api import plan_notebook
    from nbsplit.convert import render_files

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"# nbsplit: {stage}\n{src}") for stage, src in sources]
    path = tmp_path / "frames.ipynb"
    nbformat.write(nb, path)
    files, _ = render_files(plan_notebook(path), tmp_path / "split")
    out: dict[str, list[str]] = {}
    for name, text in files.items():
        if name.endswith(".ipynb"):
            cells = nbformat.reads(text, as_version=4).cells
            out[name] = [c.source for c in cells if "_nbsplit_save(" in c.source]
    return out


def test_a_save_cell_holding_a_list_and_its_frames_announces_them_together(tmp_path: Path) -> None:
    saves = _save_cells(tmp_path, [
        ("data-prep", "import pandas as pd\ntrain = pd.DataFrame({'a': [1]})\ntest = train.copy()\n"
                      "combine = [train, test]\nn_rows = 3"),
        ("featurization", "for d in combine:\n    d['b'] = d.a * 2"),
        ("training", "print(train.b.sum(), test.b.sum(), n_rows)"),
    ])
    (prep,) = saves["01_data-prep.ipynb"]
    first = prep.splitlines()[0]
    assert first.startswith("_nbsplit_saving({") and "n_rows" not in first
    assert all(f"'{n}__c0': {n}" in first for n in ("combine", "train", "test"))
    # featurization saves the frames it changed, not the list: nothing to announce
    assert not any("_nbsplit_saving" in s for s in saves["03_featurization.ipynb"])


def test_an_inline_definition_reading_a_loaded_value_comes_after_the_load() -> None:
    """At one cell: a class a loaded value may need goes before the loads, a definition whose
    header reads a loaded value (``def clean(t, stop=STOPWORDS)``) after them."""
    plan = _plan()
    train = plan.stages[2]
    stop = Handoff("STOPWORDS", 4, Stage.DATA_PREP, Stage.TRAINING, 5)
    inline = ((5, "class Box:\n    pass"), (5, "def clean(t, stop=STOPWORDS):\n    return t"))
    train = replace(train, handoffs_in=train.handoffs_in + (stop,), inline=inline,
                    loads={**train.loads, "STOPWORDS": Stage.DATA_PREP})
    plan = replace(plan, stages=(plan.stages[0], plan.stages[1], train))
    cells = render_stages(plan, RenderOptions(out=OUT))[2].cells
    kinds = _kinds(cells)
    at = kinds.index("load")
    assert kinds[at - 1:at + 3] == ["helpers", "load", "helpers", "src5"]
    assert "class Box" in cells[at - 1].source and "def clean" not in cells[at - 1].source
    assert "STOPWORDS = _nbsplit_load('STOPWORDS__c4')" in cells[at].source
    assert "def clean(t, stop=STOPWORDS)" in cells[at + 1].source
