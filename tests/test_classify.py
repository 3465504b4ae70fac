"""What the classifier promises beyond "this cell gets that stage": the heading lexicon, the
sequence decoder, confidences, diagnostics, user rules and the one-classification-per-cell contract.

"Notebook of a few cells -> this cell's stage/origin/reason" cases are case files instead:
tests/classify_cases/idioms/*.txt, run by ``test_idiom_case`` in tests/test_classify_cases.py.
Here too each notebook is made of real ``Cell`` objects, analysed by the real ``nbsplit.analyze``
and classified whole (the sequence decoder is part of every answer, as in real use). The fitted
layer is switched off (see ``rules_only``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.classify import classify_notebook, learned, sequence
from nbsplit.classify.headings import stage_words
from nbsplit.config import Config, Rule
from nbsplit.model import Cell, Classification, Diagnostic, Notebook, Stage

@pytest.fixture(autouse=True)
def rules_only():
    """These cases pin the hand-written signals (facts about code) and the decoder; the fitted
    layer on top is measured on real notebooks (benchmarks/accuracy.py, tests/test_learned.py)."""
    learned.use_weights(None, disabled=True)
    yield
    learned.use_weights(None)


D, E, F, T, V, P, M, S, K = (
    Stage.DATA_PREP, Stage.EDA, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION,
    Stage.PREDICTION, Stage.MONITORING, Stage.SETUP, Stage.SKIP,
)

PRELUDE = """from sklearn.metrics import *
import numpy as np
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt
import torch
from tensorflow import keras
import mlflow
import joblib
import pickle
from scipy.stats import ks_2samp
from sklearn.model_selection import train_test_split, GridSearchCV, cross_val_score
from sklearn.preprocessing import StandardScaler, OneHotEncoder
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score, accuracy_score, ConfusionMatrixDisplay
"""


def make_cell(i: int, spec) -> Cell:
    if isinstance(spec, Cell):
        return Cell(i, spec.kind, spec.source, spec.tags, language=spec.language, title=spec.title)
    if isinstance(spec, tuple):
        kind, source = spec
        return Cell(i, {"md": "markdown"}.get(kind, kind), source)
    return Cell(i, "code", spec)


def classify(specs, config: Config = Config()) -> tuple[tuple[Classification, ...], tuple[Diagnostic, ...]]:
    cells = tuple(make_cell(i, s) for i, s in enumerate(specs))
    nb = Notebook(Path("nb.ipynb"), "ipynb", cells)
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in cells)
    return classify_notebook(nb, facts, config)


def last_stage(source: str, before: tuple = ()) -> Classification:
    """Classify ``source`` as the last cell of a notebook that starts with the usual imports."""
    classes, _ = classify((PRELUDE, *before, source))
    return classes[-1]


# --- heading lexicon (stage_words) -----------------------------------------------------------------
HEADING_WORDS = [
    pytest.param("Avaliação do modelo", V, id="pt-avaliacao"),
    pytest.param("Preparação dos dados", D, id="pt-preparacao"),
    pytest.param("Limpeza", D, id="pt-limpeza"),
    pytest.param("Análise exploratória", E, id="pt-analise-exploratoria"),
    pytest.param("Engenharia de atributos", F, id="pt-engenharia"),
    pytest.param("Treinamento", T, id="pt-treinamento"),
    pytest.param("Predição", P, id="pt-predicao"),
    pytest.param("Monitoramento", M, id="pt-monitoramento"),
    pytest.param("Carregamento dos dados", D, id="pt-carregamento"),
    pytest.param("Importação das bibliotecas", S, id="pt-importacao-bibliotecas-setup"),
    pytest.param("Importação dos dados", D, id="neg-pt-importacao-dados-is-data-prep-not-setup"),
    pytest.param("Preparación de datos", D, id="es-preparacion"),
    pytest.param("Análisis exploratorio", E, id="es-analisis"),
    pytest.param("Ingeniería de características", F, id="es-ingenieria"),
    pytest.param("Entrenamiento", T, id="es-entrenamiento"),
    pytest.param("Evaluación", V, id="es-evaluacion"),
    pytest.param("Predicción", P, id="es-prediccion"),
    pytest.param("Monitoreo", M, id="es-monitoreo"),
    pytest.param("Data cleaning", D, id="en-cleaning"),
    pytest.param("Load data", D, id="en-load"),
    pytest.param("EDA", E, id="en-eda"),
    pytest.param("Feature engineering", F, id="en-fe"),
    pytest.param("Modeling", T, id="en-modeling"),
    pytest.param("Model evaluation", V, id="neg-en-model-evaluation-is-evaluation-not-training"),
    pytest.param("Feature importance", V, id="neg-feature-importance-is-evaluation-not-featurization"),
    pytest.param("Inference", P, id="en-inference"),
    pytest.param("Submission", P, id="en-submission"),
    pytest.param("Drift", M, id="en-drift"),
]


@pytest.mark.parametrize(("text", "expected"), HEADING_WORDS)
def test_heading_words(text: str, expected: Stage) -> None:
    found = stage_words(text)
    assert found, text
    best = max(found, key=lambda sw: sw[1])
    assert best[0] is expected and best[1] == 1.0, found


def test_previsao_is_weaker_than_predicao() -> None:
    weak = dict(stage_words("Previsão"))
    strong = dict(stage_words("Predição"))
    assert weak.get(P, 0) < strong[P]


def test_monitoring_heading_that_mentions_the_model_is_monitoring() -> None:
    words = dict(stage_words("2. Set up monitoring for the model we registered"))
    assert words[M] > words[T]


def test_heading_about_train_data_is_not_model_training() -> None:
    words = dict(stage_words("Working on Train data"))
    assert T not in words, words
    assert T in dict(stage_words("Train the model"))


def test_a_title_that_names_a_stage_still_speaks_for_its_cells() -> None:
    # the notebook-title case (classify_cases/idioms/headings.txt) is about titles naming the task
    assert P in dict(stage_words("Batch inference"))


# --- sequence decoding -------------------------------------------------------------------------------
def test_viterbi_fills_evidence_less_cell_from_neighbours() -> None:
    classes, _ = classify((
        PRELUDE,
        "model = RandomForestClassifier()\nmodel.fit(X_train, y_train)",
        "n_trees = len(model.estimators_)",
        "grid = GridSearchCV(model, {'max_depth': [3, 5]})\ngrid.fit(X_train, y_train)",
    ))
    middle = classes[2]
    assert middle.stage is T and middle.origin == "neighbour"
    assert 0.4 <= middle.confidence <= 0.7
    assert "follows training cells" in middle.reasons
    assert classes[1].confidence >= 0.85


def test_decode_prefers_forward_progress() -> None:
    labels, margins, _ = sequence.decode([
        [3, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 3, 0, 0, 0, 0],
    ])
    assert labels[0] is D and labels[2] is T
    assert labels[1] in (D, T)
    assert margins[0] > margins[1]


def test_setup_is_transparent() -> None:
    # a setup cell between training cells does not reset progress to the start
    labels, _, _ = sequence.decode([
        [0, 0, 0, 3, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 4],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ])
    assert labels == [T, S, T]


def test_confidence_range() -> None:
    assert sequence.confidence(4.0, contextual=False) >= 0.9
    assert sequence.confidence(0.0, contextual=False) == 0.5
    assert 0.4 <= sequence.confidence(1.0, contextual=True) <= 0.7


# --- tags and directives -------------------------------------------------------------------------------
def test_tag_wins_over_heuristics() -> None:
    cell = Cell(0, "code", "model.fit(X_train, y_train)", tags=("nbsplit:eda",))
    got = last_stage(cell)
    assert (got.stage, got.confidence, got.origin) == (E, 1.0, "tag")


def test_directive_wins_over_heuristics() -> None:
    got = last_stage("# nbsplit: training\ndf.head()")
    assert (got.stage, got.confidence, got.origin) == (T, 1.0, "directive")


def test_unknown_tag_is_error_with_suggestion() -> None:
    cell = Cell(0, "code", "df.head()", tags=("nbsplit:trainig",))
    classes, diags = classify((PRELUDE, cell))
    errors = [d for d in diags if d.severity == "error"]
    assert errors == [Diagnostic("error", "unknown stage tag 'nbsplit:trainig' (did you mean 'nbsplit:training'?)", 1, "NBS101")]
    assert classes[1].stage is E  # still classified by the heuristics


def test_unknown_directive_is_error_with_suggestion() -> None:
    _, diags = classify((PRELUDE, "# nbsplit: evaluaton\nprint(1)"))
    assert any(d.severity == "error" and "did you mean 'nbsplit: evaluation'" in d.message for d in diags)


def test_two_stage_tags_is_error() -> None:
    cell = Cell(0, "code", "df.head()", tags=("nbsplit:eda", "nbsplit:training"))
    _, diags = classify((cell,))
    assert [d.severity for d in diags if "two different stage tags" in d.message] == ["error"]


# --- user rules ------------------------------------------------------------------------------------------
def test_user_call_rule() -> None:
    config = Config(rules=(Rule(stage=F, call="acme.features.*"),))
    classes, _ = classify((PRELUDE, "import acme.features as af\nfeats = af.build(df)"), config)
    got = classes[1]
    assert (got.stage, got.confidence, got.origin) == (F, 0.95, "rule")
    assert got.reasons == ("user rule: call acme.features.* -> featurization",)


def test_user_source_rule_and_tag_beats_rule() -> None:
    config = Config(rules=(Rule(stage=D, source=r"spark\.table\(.*bronze"),))
    tagged = Cell(0, "code", "x = spark.table('main.bronze.events')", tags=("nbsplit:eda",))
    classes, _ = classify((PRELUDE, "events = spark.table('main.bronze.events').count()", tagged), config)
    assert (classes[1].stage, classes[1].origin) == (D, "rule")
    assert (classes[2].stage, classes[2].origin) == (E, "tag")


def test_rule_that_does_not_match_leaves_heuristics() -> None:
    config = Config(rules=(Rule(stage=M, call="acme.*"),))
    assert classify((PRELUDE, "df.head()"), config)[0][1].stage is E


# --- diagnostics and contract --------------------------------------------------------------------------------
def test_empty_cell_is_skip() -> None:
    classes, _ = classify((PRELUDE, "   \n", "df.head()"))
    assert classes[1] == Classification(1, K, 1.0, "default", ("empty cell",))


def test_parse_fallback_warning() -> None:
    _, diags = classify((PRELUDE, "print 'hello'"))
    found = [d for d in diags if d.severity == "warning" and d.message.startswith("could not parse: ")]
    assert [(d.cell, d.code, d.cells) for d in found] == [(1, "NBS116", (1,))]


def test_uncertain_cells_are_warned() -> None:
    classes, diags = classify((PRELUDE, "a = b"), Config(threshold=0.99))
    uncertain = [d for d in diags if d.code == "NBS104"]
    assert 1 in [d.cell for d in uncertain] and all("uncertain" in d.message and d.cells == (d.cell,) for d in uncertain)
    _, none = classify((PRELUDE, "a = b"), Config(threshold=0.0))
    assert not [d for d in none if "uncertain" in d.message]


def test_one_classification_per_cell_in_order() -> None:
    specs = (("md", "# T"), PRELUDE, "", ("raw", "r"), "df.head()", ("md", "text"))
    classes, _ = classify(specs)
    assert [c.index for c in classes] == list(range(len(specs)))
    assert all(0.0 <= c.confidence <= 1.0 and c.reasons for c in classes)
    assert all(len(c.reasons) <= 3 for c in classes)


# --- calibration: how sure a heading, a helper's callers or strong code evidence make a cell -----
def test_a_heading_alone_never_makes_a_cell_certain() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('a.csv')", ("md", "## Model evaluation"),
                           "tmp = 3", "df2 = df"))
    for c in classes[3:]:
        if c.origin == "heading":
            assert c.confidence <= 0.7, c


def test_a_helpers_stage_from_its_callers_is_not_certain() -> None:
    classes, _ = classify((
        PRELUDE,
        "df = pd.read_csv('sales.csv')",
        "def plot_share(col):\n    df[col].value_counts(normalize=True).plot.bar()\n    plt.show()",
        "plot_share('region')",
        "plot_share('channel')",
    ))
    assert classes[2].stage is E, classes[2]
    assert classes[2].confidence < 0.8, classes[2]


def test_neg_strong_code_evidence_keeps_high_confidence() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('sales.csv')", "df.describe()"))
    assert classes[1].confidence >= 0.8, classes[1]
    assert classes[2].confidence >= 0.8, classes[2]


def test_commented_prose_is_not_read_as_code() -> None:
    from nbsplit.classify import _uncomment_code

    cells = (Cell(0, "code", "# TODO"), Cell(1, "code", "# Load the data again"), Cell(2, "code", "#df.info()"))
    nb = Notebook(Path("x.ipynb"), "ipynb", cells)
    view, facts = _uncomment_code(nb, [analyze_source(c.source, c.index) for c in cells])
    assert [c.source for c in view.cells] == ["# TODO", "# Load the data again", "df.info()"]
    assert facts[2] is not None and facts[2].display_only


@pytest.mark.parametrize("first_line", ["%sql ", "%sql\t", "%pip ", "%run "])
def test_a_magic_line_with_trailing_blank_and_no_argument_is_classified(first_line: str) -> None:
    """A public Databricks notebook's ``%sql `` line (trailing blank, no argument) stopped every
    command with an internal error: the body of a magic cell is what follows the magic name."""
    classes, _ = classify((PRELUDE, first_line + "\nSELECT region, SUM(amount) FROM sales GROUP BY region"))
    assert classes[-1].stage is not None and classes[-1].reasons
