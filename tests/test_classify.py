"""Inline before/after cases for every classifier signal, with named negative cases.

Each case builds real ``Cell`` objects, runs the real ``nbsplit.analyze`` on them and classifies
the whole notebook, so the sequence decoder is always part of the answer (as in real use). The
fitted layer is switched off here (see ``rules_only``).
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


# --- calls signal (api_table) --------------------------------------------------------------------
CALL_CASES = [
    pytest.param("df = pd.read_csv('data/churn.csv')", D, id="read_csv-is-data-prep"),
    pytest.param("df = spark.read.format('delta').load('/mnt/raw/orders')", D, id="spark-read-is-data-prep"),
    pytest.param("df = spark.table('main.raw.orders')", D, id="spark-table-is-data-prep"),
    pytest.param("roc_auc_score(y_test, p)", V, id="roc_auc-is-evaluation"),
    pytest.param("sns.pairplot(df, hue='churn')", E, id="pairplot-is-eda"),
    pytest.param("sns.set_theme(style='whitegrid')", S, id="neg-seaborn-theme-is-setup-not-eda"),
    pytest.param("tips = sns.load_dataset('tips')", D, id="neg-seaborn-load_dataset-is-data-prep-not-eda"),
    pytest.param("df = pd.get_dummies(df, columns=['plan'])", F, id="get_dummies-is-featurization"),
    pytest.param("scaler = StandardScaler()\nX_train_s = scaler.fit_transform(X_train)", F,
                 id="scaler-fit_transform-is-featurization"),
    pytest.param("grid = GridSearchCV(RandomForestClassifier(), {'max_depth': [3, 5]}, cv=5)\n"
                 "grid.fit(X_train, y_train)\ngrid.best_params_", T, id="grid-search-is-training"),
    pytest.param("scores = cross_val_score(RandomForestClassifier(), X, y, cv=5)\nprint(scores.mean())", T,
                 id="cross_val_score-is-training"),
    pytest.param("import xgboost as xgb\ndtrain = xgb.DMatrix(X_train, label=y_train)\n"
                 "bst = xgb.train(params, dtrain, num_boost_round=100)", T, id="xgb-train-is-training"),
    pytest.param("joblib.dump(model, 'model.pkl')", T, id="joblib-dump-model-is-training"),
    pytest.param("with mlflow.start_run():\n    mlflow.log_param('n_estimators', 100)\n"
                 "    mlflow.sklearn.log_model(model, 'model')", T, id="mlflow-logging-is-training"),
    pytest.param("result = mlflow.models.evaluate(model_uri, eval_df, targets='churn', model_type='classifier')",
                 V, id="mlflow-evaluate-is-evaluation"),
    pytest.param("champion = mlflow.pyfunc.load_model('models:/main.ml.churn@champion')\n"
                 "scored = champion.predict(new_customers)", P, id="pyfunc-load-predict-is-prediction"),
    pytest.param("from evidently.report import Report\nfrom evidently.metric_preset import DataDriftPreset\n"
                 "report = Report(metrics=[DataDriftPreset()])\n"
                 "report.run(reference_data=train_df, current_data=new_df)", M, id="evidently-is-monitoring"),
    pytest.param("stat, p = ks_2samp(train_df['age'], new_df['age'])", M, id="ks_2samp-is-monitoring"),
    pytest.param("dbutils.widgets.text('env', 'dev')", S, id="widgets-are-setup"),
    pytest.param("fe.create_table(name='main.ml.customer_features', primary_keys=['id'], df=features_df)", F,
                 id="feature-table-is-featurization"),
    pytest.param("training_set = fe.create_training_set(df=labels, feature_lookups=lookups, label='churn')", T,
                 id="create_training_set-is-training"),
    pytest.param("preds = fe.score_batch(model_uri=uri, df=batch_df)", P, id="score_batch-is-prediction"),
    pytest.param("import shap\nexplainer = shap.TreeExplainer(model)\nshap_values = explainer.shap_values(X_test)\n"
                 "shap.summary_plot(shap_values, X_test)", V, id="shap-is-evaluation"),
    pytest.param("imp = pd.Series(model.feature_importances_, index=X.columns).sort_values()\nimp.plot.barh()", V,
                 id="feature-importances-are-evaluation"),
    pytest.param("ConfusionMatrixDisplay.from_estimator(model, X_test, y_test)", V,
                 id="confusion-display-is-evaluation"),
    pytest.param("import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
                 "model.compile(optimizer='adam', loss='binary_crossentropy')", T, id="keras-build-is-training"),
    pytest.param("history = model.fit(X_train, y_train, epochs=10, validation_split=0.2)", T,
                 id="keras-fit-is-training"),
    pytest.param("loss, acc = model.evaluate(X_test, y_test)", V, id="keras-evaluate-is-evaluation"),
    pytest.param("for epoch in range(10):\n    optimizer.zero_grad()\n    loss = criterion(net(xb), yb)\n"
                 "    loss.backward()\n    optimizer.step()", T, id="torch-loop-is-training"),
    pytest.param("df.describe()", E, id="neg-describe-is-eda-not-data-prep"),
    pytest.param("df.corr()", E, id="corr-is-eda"),
]


@pytest.mark.parametrize(("source", "expected"), CALL_CASES)
def test_calls_signal(source: str, expected: Stage) -> None:
    got = last_stage(source)
    assert got.stage is expected, got


# --- structure signal ----------------------------------------------------------------------------
STRUCTURE_CASES = [
    pytest.param("df.head()", E, id="head-alone-is-eda"),
    pytest.param("df.shape", E, id="shape-alone-is-eda"),
    pytest.param("df['plan'].value_counts()", E, id="value_counts-is-eda"),
    pytest.param("df.dropna(inplace=True)", D, id="dropna-is-data-prep"),
    pytest.param("df = df.drop_duplicates().rename(columns={'Cust ID': 'customer_id'})", D, id="dedupe-rename"),
    pytest.param("df = df[df['age'] > 0]", D, id="row-filter-is-data-prep"),
    pytest.param("df.loc[df['age'] > 120, 'age'] = np.nan", D, id="loc-fix-is-data-prep"),
    pytest.param("full = pd.concat([train, test], ignore_index=True)\n"
                 "full['Fare'] = full['Fare'].fillna(full['Fare'].median())", D, id="joint-cleaning-is-data-prep"),
    pytest.param("import pandas as pd\nimport numpy as np", S, id="imports-only-are-setup"),
    pytest.param("%pip install xgboost", S, id="pip-magic-is-setup"),
    pytest.param("!pip install -q lightgbm", S, id="shell-pip-is-setup"),
    pytest.param("SEED = 42\nTEST_SIZE = 0.2\nDATA_DIR = 'data/'", S, id="constants-are-setup"),
    pytest.param("np.random.seed(42)", S, id="seed-is-setup"),
    pytest.param("import warnings\nwarnings.filterwarnings('ignore')", S, id="warnings-are-setup"),
    pytest.param("from pyspark.sql import SparkSession\nspark = SparkSession.builder.appName('x').getOrCreate()", S,
                 id="spark-session-is-setup"),
    pytest.param("pd.set_option('display.max_columns', None)", S, id="display-option-is-setup"),
    pytest.param("import sys\nsys.path.append('..')", S, id="sys-path-is-setup"),
    pytest.param("X = df.drop('churn', axis=1)\ny = df['churn']", F, id="building-X-y-is-featurization"),
    pytest.param("df['fare_per_person'] = df['fare'] / df['family_size']", F, id="derived-column-is-featurization"),
    pytest.param("df['age'] = df['age'].astype(int)", D, id="neg-type-fix-is-data-prep-not-featurization"),
    pytest.param("X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)", T,
                 id="split-is-training"),
    pytest.param("train, test = df.randomSplit([0.8, 0.2], seed=42)", T, id="randomSplit-is-training"),
    pytest.param("model = RandomForestClassifier(n_estimators=200)\nmodel.fit(X_train, y_train)", T,
                 id="fit-is-training"),
    pytest.param("model.fit(X_train, y_train)\nprint(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))", T,
                 id="neg-fit-then-quick-score-is-training-not-evaluation"),
    pytest.param("p = model.predict_proba(X_test)[:, 1]\nprint(roc_auc_score(y_test, p))", V,
                 id="predict-on-test-with-metric-is-evaluation"),
    pytest.param("y_pred = model.predict(X_test)", V, id="predict-on-X_test-is-evaluation"),
    pytest.param("y_pred = modelo.predict(x_teste)", V, id="predict-on-x_teste-is-evaluation"),
    pytest.param("preds = model.predict(new_df)\n"
                 "pd.DataFrame({'id': new_df['id'], 'churn': preds}).to_csv('submission.csv', index=False)", P,
                 id="neg-predict-new-data-and-submission-is-prediction"),
    pytest.param("model.save('model.h5')", T, id="keras-save-is-training"),
    pytest.param("loaded = pickle.load(open('model.pkl', 'rb'))\npreds = loaded.predict(new_data)", P,
                 id="pickle-load-then-predict-is-prediction"),
    pytest.param("psi = calculate_psi(train_df['score'], new_df['score'])", M, id="psi-helper-is-monitoring"),
    pytest.param("df = spark.sql('SELECT * FROM main.raw.orders WHERE amount > 0')", D,
                 id="spark-sql-load-is-data-prep"),
    pytest.param("display(spark.sql('SELECT country, COUNT(*) AS n FROM orders GROUP BY country'))", E,
                 id="spark-sql-grouped-display-is-eda"),
]


STRUCTURE_CASES += [
    pytest.param("df['Title'] = df.Name.str.extract(r' ([A-Za-z]+)\\.', expand=False)", F,
                 id="derived-column-from-attribute-column-is-featurization"),
    pytest.param("df['Sex'] = df['Sex'].map({'female': 1, 'male': 0})", F, id="dict-encoding-is-featurization"),
    pytest.param("df['promo'] = df['promo'].str.strip().str.lower().map({'y': 1, 'yes': 1, 'n': 0})", D,
                 id="neg-normalising-messy-strings-is-data-prep-not-encoding"),
    pytest.param("x_train = x_train.astype('float32') / 255.0", F, id="rescaling-is-featurization"),
    pytest.param("train = train.drop(train[(train['GrLivArea'] > 4000)].index)", D, id="outlier-drop-is-data-prep"),
    pytest.param("lags = df['sales'].shift(1)\ndf['sales_lag_1'] = df['sales'].shift(1)", F, id="lag-feature"),
    pytest.param("df['label'] = (df['arr_delay'] > 15).astype(int)", F, id="label-column-is-featurization"),
    pytest.param("X_ref = make_features(reference)\ny_ref = reference['is_fraud']", F, id="X_something-builder"),
    pytest.param("missing = df.isnull().sum().sort_values(ascending=False)\n"
                 "missing = missing.drop(missing[missing == 0].index)\nmissing.head(20)", E,
                 id="neg-cleaning-an-intermediate-table-is-eda-not-data-prep"),
    pytest.param("plt.plot(history.history['accuracy'])\nplt.plot(history.history['val_accuracy'])", V,
                 id="training-history-plot-is-evaluation"),
    pytest.param("plt.scatter(y_test, y_pred)\nplt.xlabel('actual')", V, id="actual-vs-predicted-plot-is-evaluation"),
    pytest.param("from mlflow import MlflowClient\nclient = MlflowClient()\n"
                 "client.set_registered_model_alias('churn', 'champion', 1)", T, id="registry-alias-is-training"),
    pytest.param("model = keras.Sequential([keras.layers.Dense(1)])\nmodel.summary()", T,
                 id="neg-model-summary-is-training-not-eda"),
    pytest.param("weekly_auc = scored.groupby('week').apply(lambda g: roc_auc_score(g['y'], g['p']))", M,
                 id="metrics-over-time-are-monitoring"),
    pytest.param("net.eval()\nwith torch.no_grad():\n    out = net(xb)", V, id="torch-eval-is-evaluation"),
    pytest.param("X_train, X_test = X[:800], X[800:]\ny_train, y_test = y[:800], y[800:]", T,
                 id="slicing-split-is-training"),
    pytest.param("X_train = titanic_df.drop('Survived', axis=1)\nY_train = titanic_df['Survived']\n"
                 "X_test = test_df.drop('PassengerId', axis=1).copy()", F, id="building-X_train-Y_train-is-featurization"),
    pytest.param("train_ids = train_df['Id']\ntest_ids = test_df['Id']", D,
                 id="neg-id-columns-are-not-a-split"),
    pytest.param("model", T, id="showing-a-model-is-training"),
    pytest.param("df.write.format('delta').mode('overwrite').save('/mnt/silver/orders')", D, id="spark-write-is-data-prep"),
    pytest.param("acc = accuracy_score(y_test, y_pred)", V, id="star-imported-metric-is-evaluation"),
]


@pytest.mark.parametrize(("source", "expected"), STRUCTURE_CASES)
def test_structure_signal(source: str, expected: Stage) -> None:
    got = last_stage(source)
    assert got.stage is expected, got


SQL_CASES = [
    pytest.param("%sql\nSELECT country, COUNT(*) AS n, AVG(amount) FROM sales GROUP BY country", E, id="sql-groupby-eda"),
    pytest.param("%sql\nCREATE OR REPLACE TABLE clean_orders AS SELECT * FROM raw_orders WHERE id IS NOT NULL", D,
                 id="sql-create-data-prep"),
    pytest.param("%sql\nCREATE OR REPLACE TABLE customer_features AS SELECT id, COUNT(*) AS n FROM orders GROUP BY id",
                 F, id="sql-feature-table-featurization"),
    pytest.param("%sql\nDESCRIBE TABLE main.raw.orders", E, id="sql-describe-eda"),
    pytest.param("%sh\nwget https://example.com/data.zip && unzip data.zip", D, id="sh-download-data-prep"),
    pytest.param("%run ./00_setup", S, id="run-is-setup"),
]


@pytest.mark.parametrize(("source", "expected"), SQL_CASES)
def test_databricks_magic_cells(source: str, expected: Stage) -> None:
    lang = source.split("\n", 1)[0].lstrip("%").split()[0]
    cell = Cell(0, "code", source, language=lang if lang in ("sql", "sh", "run") else "python")
    got = last_stage(cell)
    assert got.stage is expected, got


def test_kaggle_test_csv_predict_is_prediction_not_evaluation() -> None:
    classes, _ = classify((
        PRELUDE,
        "train = pd.read_csv('../input/train.csv')\ntest = pd.read_csv('../input/test.csv')",
        "X = train.drop('Survived', axis=1)\ny = train['Survived']",
        "X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2)",
        "model = RandomForestClassifier()\nmodel.fit(X_train, y_train)",
        "val_pred = model.predict(X_val)\naccuracy_score(y_val, val_pred)",
        "X_sub = test[X.columns]\ntest_pred = model.predict(X_sub)",
        "output = pd.DataFrame({'PassengerId': test.PassengerId, 'Survived': test_pred})\noutput.to_csv('submission.csv', index=False)",
    ))
    assert [c.stage for c in classes[1:]] == [D, F, T, T, V, P, P]


def test_spark_ml_transform_on_split_is_evaluation() -> None:
    classes, _ = classify((
        "from pyspark.ml.classification import LogisticRegression\n"
        "from pyspark.ml.evaluation import BinaryClassificationEvaluator",
        "train, test = df.randomSplit([0.8, 0.2], seed=1)",
        "lr = LogisticRegression(featuresCol='features', labelCol='label')\nlr_model = lr.fit(train)",
        "predictions = lr_model.transform(test)\nevaluator = BinaryClassificationEvaluator()\n"
        "auc = evaluator.evaluate(predictions)",
    ))
    assert [c.stage for c in classes[1:]] == [T, T, V]


def test_joblib_load_then_predict_new_file_is_prediction() -> None:
    classes, _ = classify((
        PRELUDE,
        "model = joblib.load('model.joblib')",
        "new = pd.read_csv('new_customers.csv')\nnew['churn_score'] = model.predict_proba(new[features])[:, 1]",
        "new.to_parquet('scored.parquet')",
    ))
    assert [c.stage for c in classes[2:]] == [P, P]


# --- headings signal -------------------------------------------------------------------------------
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


def test_heading_gives_evidence_less_cell_its_stage() -> None:
    classes, _ = classify((
        PRELUDE,
        "df = pd.read_csv('vendas.csv')",
        ("md", "## Engenharia de features"),
        "df2 = df.copy()\ncols = ['a', 'b']",
        "df2 = df2[cols]",
    ))
    assert classes[3].stage is F and classes[3].origin == "heading"
    assert classes[4].stage is F and classes[4].origin == "heading"
    assert any("Engenharia de features" in r for r in classes[4].reasons)


def test_code_wins_over_heading() -> None:
    classes, _ = classify((PRELUDE, ("md", "## Treinamento do modelo"), "df.head()"))
    assert classes[2].stage is E


def test_databricks_title_is_evidence() -> None:
    cell = Cell(0, "code", "df2 = df.copy()", title="Feature engineering")
    classes, _ = classify((PRELUDE, "df = pd.read_csv('x.csv')", cell))
    assert classes[2].stage is F


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


def test_directive_after_magic_line() -> None:
    cell = Cell(0, "code", "%sql\n-- nbsplit: featurization\nSELECT * FROM t", language="sql")
    got = last_stage(cell)
    assert (got.stage, got.origin) == (F, "directive")


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


def test_noqa_tag_is_not_a_stage() -> None:
    cell = Cell(0, "code", "df.head()", tags=("nbsplit:noqa",))
    classes, diags = classify((PRELUDE, cell))
    assert classes[1].stage is E and classes[1].origin != "tag"
    assert not [d for d in diags if d.severity == "error"]


def test_tagged_markdown_cell() -> None:
    classes, _ = classify((PRELUDE, Cell(0, "markdown", "Some notes", tags=("nbsplit:skip",)), "df.head()"))
    assert classes[1].stage is K and classes[1].origin == "tag"


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


# --- helpers, empty and comment cells ---------------------------------------------------------------------
HELPER_PLOT = "def plot_dist(frame, col):\n    sns.histplot(frame[col])\n    plt.show()"


def test_helper_used_by_one_stage_belongs_to_it() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('x.csv')", HELPER_PLOT, "plot_dist(df, 'age')",
                           "plot_dist(df, 'fare')"))
    assert classes[2].stage is E and "helper used by eda cells" in classes[2].reasons
    assert classes[3].stage is E  # calling a plotting helper is eda


def test_helper_used_by_two_stages_is_setup() -> None:
    classes, _ = classify((
        PRELUDE,
        "def show(x):\n    print(x)",
        "df = pd.read_csv('x.csv')",
        "df.describe()\nshow(df)",
        "model = RandomForestClassifier()\nmodel.fit(X_train, y_train)\nshow(model)",
    ))
    assert classes[1].stage is S and classes[1].reasons == ("helper used by eda, training cells",)


def test_helper_never_called_takes_context() -> None:
    classes, _ = classify((PRELUDE, "model = RandomForestClassifier()\nmodel.fit(X, y)",
                           "def unused(a):\n    return a", "roc_auc_score(y_test, model.predict(X_test))"))
    assert classes[2].origin == "neighbour"


def test_empty_cell_is_skip() -> None:
    classes, _ = classify((PRELUDE, "   \n", "df.head()"))
    assert classes[1] == Classification(1, K, 1.0, "default", ("empty cell",))


def test_comment_only_cell_takes_context() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('x.csv')\ndf = df.dropna()", "# TODO: look again", "df = df.drop_duplicates()"))
    assert classes[2].stage is D and classes[2].origin == "neighbour"


# --- markdown ------------------------------------------------------------------------------------------------
def test_markdown_belongs_to_its_section_and_title_is_setup() -> None:
    classes, _ = classify((
        ("md", "# Churn model\nPredicts churn."),
        PRELUDE,
        ("md", "## Avaliação do modelo"),
        "print(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))",
        ("raw", "raw text"),
    ))
    assert classes[0].stage is S
    assert classes[2].stage is V
    assert classes[4].stage is V  # trailing raw cell follows the last section


# --- diagnostics and contract --------------------------------------------------------------------------------
def test_parse_fallback_warning() -> None:
    _, diags = classify((PRELUDE, "print 'hello'"))
    assert any(d.severity == "warning" and d.message.startswith("could not parse: ") and d.cell == 1 for d in diags)


def test_uncertain_cells_are_warned() -> None:
    classes, diags = classify((PRELUDE, "a = b"), Config(threshold=0.99))
    assert any(d.cell == 1 and "uncertain" in d.message for d in diags)
    _, none = classify((PRELUDE, "a = b"), Config(threshold=0.0))
    assert not [d for d in none if "uncertain" in d.message]


def test_one_classification_per_cell_in_order() -> None:
    specs = (("md", "# T"), PRELUDE, "", ("raw", "r"), "df.head()", ("md", "text"))
    classes, _ = classify(specs)
    assert [c.index for c in classes] == list(range(len(specs)))
    assert all(0.0 <= c.confidence <= 1.0 and c.reasons for c in classes)
    assert all(len(c.reasons) <= 3 for c in classes)


def test_new_data_preparation_is_prediction_but_joint_cleaning_is_not() -> None:
    classes, _ = classify((
        PRELUDE,
        "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')",
        "for d in (train, test):\n    d['Age'] = d['Age'].fillna(d['Age'].median())",
        "model = RandomForestClassifier()\nmodel.fit(X_train, y_train)",
        "new = pd.read_csv('new_customers.csv')\nnew['Age'] = new['Age'].fillna(30)\n"
        "X_new = pd.get_dummies(new[features])",
        "NEW_DATA_PATH = 'data/new.csv'",
    ))
    assert classes[2].stage is D  # Kaggle's joint cleaning of train and test.csv
    assert classes[4].stage is P
    assert "prepares new data" in " ".join(classes[4].reasons)
    assert classes[5].stage is S  # a constant named "new" is not new data


def test_helper_cell_with_lowercase_constant() -> None:
    classes, _ = classify((
        PRELUDE,
        "n_folds = 5\ndef rmsle_cv(model):\n    return cross_val_score(model, X, y, cv=n_folds)",
        "lasso = RandomForestClassifier()\nscore = rmsle_cv(lasso)",
    ))
    assert classes[1].stage is T and classes[1].reasons == ("helper used by training cells",)


def test_refit_after_evaluation_stays_training() -> None:
    classes, _ = classify((
        PRELUDE,
        "model = RandomForestClassifier()\nmodel.fit(X_train, y_train)",
        "print(accuracy_score(y_val, model.predict(X_val)))",
        "model.fit(X, y)",
        "test = pd.read_csv('test.csv')\npreds = model.predict(test)",
    ))
    assert [c.stage for c in classes[1:]] == [T, V, T, P]


def test_monitoring_section_with_weak_subheading() -> None:
    classes, _ = classify((
        PRELUDE,
        "current = pd.read_csv('batch.csv')\ncurrent['score'] = model.predict_proba(current[features])[:, 1]",
        ("md", "## Monitoring\n\n### Data of the incoming batches"),
        "summary = current.groupby('week').agg(rows=('id', 'size'))",
    ))
    assert classes[3].stage is M


def test_literal_print_takes_its_context() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('a.csv')\ndf = df.dropna()", "print('done')"))
    assert (classes[2].stage, classes[2].origin) == (D, "neighbour")
    assert classes[2].reasons[0] == "follows data-prep cells"


# --- held-out evaluation on public notebooks: cases in the style of the misses ----------------
def test_kaggle_boilerplate_listing_input_is_setup() -> None:
    boiler = ("import numpy as np\nimport pandas as pd\nimport os\n"
              "for dirname, _, files in os.walk('/kaggle/input'):\n    print(dirname)\n"
              "print(os.listdir('../input'))")
    classes, _ = classify((boiler, "df = pd.read_csv('../input/train.csv')", "df.describe()"))
    assert classes[0].stage is S, classes[0]


def test_one_read_chain_counts_once() -> None:
    # before: spark.table, .toPandas and .drop each counted as a read, outweighing the split
    src = ("from sklearn.model_selection import train_test_split\n"
           "data = spark.table('db.churn_features').toPandas().drop(['id'], axis=1)\n"
           "train, test = train_test_split(data, test_size=0.3)\n"
           "train_x, test_x = train.drop(['churn'], axis=1), test.drop(['churn'], axis=1)\n"
           "train_y, test_y = train['churn'], test['churn']")
    classes, _ = classify((src, "model = RandomForestClassifier()\nmodel.fit(train_x, train_y)"))
    assert classes[0].stage is T, classes[0]


def test_helper_reached_only_through_another_helper_takes_its_users_stage() -> None:
    cells = (PRELUDE,
             "df = pd.read_csv('cards.csv')",
             "X_tr, X_te, y_tr, y_te = train_test_split(df.drop(columns='fraud'), df['fraud'])",
             "def draw_roc(m, X, y):\n    fpr, tpr, _ = roc_curve(y, m.predict(X))\n    plt.plot(fpr, tpr)",
             "def report(m, X, y):\n    print(accuracy_score(y, m.predict(X)))\n    draw_roc(m, X, y)",
             "clf = RandomForestClassifier().fit(X_tr, y_tr)",
             "report(clf, X_te, y_te)")
    classes, _ = classify(cells)
    assert classes[3].stage is V and "helper used by evaluation" in classes[3].reasons[0], classes[3]


@pytest.mark.parametrize(("later", "expected"), [
    pytest.param("preds = gbm.predict(X_test)\nsub = pd.DataFrame({'Id': ids, 'y': preds})", P,
                 id="X_test-of-unlabelled-rows-is-prediction"),
    pytest.param("preds = gbm.predict(X_test)\nprint(mean_squared_error(y_test, preds))", V,
                 id="neg-X_test-with-y_test-is-evaluation"),
])
def test_test_rows_without_labels_are_new_data(later: str, expected: Stage) -> None:
    labelled = "y_test = full[n_train:]['price']\n" if expected is V else ""
    cells = (PRELUDE + "from sklearn.ensemble import GradientBoostingRegressor\n"
             "from sklearn.metrics import mean_squared_error",
             "full = pd.get_dummies(pd.concat([train_df, test_df]))",
             "X_train = full[:n_train]\nX_test = full[n_train:]\ny = train_df['price']\n" + labelled,
             "gbm = GradientBoostingRegressor()\ngbm.fit(X_train, y)",
             later)
    classes, _ = classify(cells)
    assert classes[-1].stage is expected, classes[-1]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("param_grid = {'C': [0.01, 0.1, 1], 'penalty': ['l1', 'l2']}", T, id="param-grid-is-training"),
    pytest.param("parametros = {'max_depth': [3, 5], 'n_estimators': [100, 300]}", T, id="parametros-grid-is-training"),
    pytest.param("feats = ['age', 'income', 'tenure']", F, id="feature-list-is-featurization"),
    pytest.param("DATA_DIR = '/dbfs/raw'\nN_FOLDS = 5", S, id="neg-plain-constants-stay-setup"),
    pytest.param("FEATURE_TABLE = 'main.fs.customers'", S, id="neg-feature-table-name-is-setup"),
])
def test_constants_that_configure_a_stage(source: str, expected: Stage) -> None:
    got = last_stage(source, ("df = pd.read_csv('a.csv')",))
    assert got.stage is expected, got


def test_monitoring_heading_that_mentions_the_model_is_monitoring() -> None:
    words = dict(stage_words("2. Set up monitoring for the model we registered"))
    assert words[M] > words[T]


@pytest.mark.parametrize(("shown", "expected"), [
    pytest.param("X.head()", E, id="X-head-after-featurization-is-eda"),
    pytest.param("print(X_train.shape, X_test.shape)", E, id="shapes-after-split-are-eda"),
    pytest.param("fig, ax = plt.subplots()\nax.hist(X['log_amount'])\nplt.show()", E,
                 id="plot-of-featurized-frame-is-eda"),
    pytest.param("raw.head()", E, id="raw-head-is-eda"),
])
def test_a_cell_that_only_shows_data_is_eda_whatever_built_it(shown: str, expected: Stage) -> None:
    cells = (PRELUDE,
             "raw = pd.read_csv('loans.csv')",
             "raw.describe()",
             "X = pd.get_dummies(raw.drop(columns='default'))\nX['log_amount'] = np.log1p(X['amount'])\n"
             "y = raw['default']",
             "X_train, X_test, y_train, y_test = train_test_split(X, y)",
             shown,
             "model = RandomForestClassifier().fit(X_train, y_train)")
    classes, _ = classify(cells)
    got = classes[5]
    assert got.stage is expected, got
    if expected is not E:
        assert got.reasons[0].startswith("shows `"), got


def test_display_rule_never_overrides_a_tag() -> None:
    tagged = Cell(0, "code", "X.head()", ("nbsplit:eda",))
    classes, _ = classify((PRELUDE, "df = pd.read_csv('a.csv')", "X = pd.get_dummies(df)", tagged))
    assert classes[3].stage is E and classes[3].origin == "tag"


def test_estimator_built_and_fitted_in_one_chain_is_training() -> None:
    cells = (PRELUDE + "from sklearn.ensemble import RandomForestRegressor",
             "X_train, X_test, y_train, y_test = train_test_split(X, y)",
             "# try a forest instead?\nrf = RandomForestRegressor(n_estimators=50).fit(X_train, y_train)\n"
             "rmse(y_test, rf.predict(X_test))")
    classes, _ = classify(cells)
    assert classes[2].stage is T and any(r.startswith("fits RandomForestRegressor") for r in classes[2].reasons), classes[2]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("import pandas as pd\nimport numpy as np\nprint('libraries loaded')", S,
                 id="imports-then-printing-a-literal-is-setup"),
    pytest.param("output = assembler.transform(dataset)", F, id="applying-a-vector-assembler-is-featurization"),
    pytest.param("table = monitor.register_baseline(label_col='default')", M, id="monitor-object-at-work-is-monitoring"),
    pytest.param("y_bin = make_binary_target(y)", F, id="helper-named-target-is-featurization"),
])
def test_heldout_review_cases(source: str, expected: Stage) -> None:
    before = ("from pyspark.ml.feature import VectorAssembler\n"
              "dataset = spark.table('main.churn.clean')",
              "assembler = VectorAssembler(inputCols=['a', 'b'], outputCol='features')",
              "y = dataset.toPandas()['label']")
    got = last_stage(source, before)
    assert got.stage is expected, got


def test_cleaning_an_alias_that_later_cells_use_is_data_prep() -> None:
    # df is rebound from raw in this cell, but later cells use it: cleaning it is data-prep
    cells = (PRELUDE,
             "raw = pd.read_csv('train.csv')",
             "raw.describe()",
             "df = raw\ndf = df.dropna(subset=['Age'])",
             "df.head()",
             "X = pd.get_dummies(df.drop(columns='Survived'))")
    classes, _ = classify(cells)
    assert classes[3].stage is D, classes[3]


# --- round 2 (real-notebook evaluation): each case is a before/after of one general fix ------------
def _after_load(*more: str) -> tuple[Classification, ...]:
    cells = (PRELUDE, "orders = pd.read_csv('orders.csv')", "orders.describe()", *more)
    classes, _ = classify(cells)
    return classes


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("orders['paid'].replace(to_replace='yes', value=1, inplace=True)", F,
                 id="replace-category-with-number-keyword-form-is-encoding"),
    pytest.param("orders['channel'] = orders['channel'].replace('web', '1')", F,
                 id="replace-category-with-numeric-string-is-encoding"),
    pytest.param("orders['gift'].replace(False, 0, inplace=True)", F, id="replace-bool-with-int-is-encoding"),
    pytest.param("orders['channel'] = orders['channel'].replace('Web ', 'web')", D,
                 id="neg-replace-text-with-text-stays-cleaning"),
])
def test_replacing_categories_by_codes_is_encoding(source: str, expected: Stage) -> None:
    classes = _after_load(source)
    assert classes[-1].stage is expected, classes[-1]


def test_model_input_built_alone_in_its_cell_is_featurization() -> None:
    # before: x_train = ... alone (its y two cells above) fell to data-prep by its neighbours
    classes = _after_load("labels_tr = orders['churned']",
                          "x_train = orders.drop(columns=['id', 'churned', 'notes'])")
    assert classes[-1].stage is F and classes[-1].reasons[0].startswith("builds x_train"), classes[-1]


@pytest.mark.parametrize(("source", "expected"), [
    # the fitted model's metrics on its training rows, in a cell after the fit (an overfitting
    # check): the corpus labels all 11 such cells evaluation (was: training, a hand rule)
    pytest.param("fpr, tpr, _ = roc_curve(y_train, train_scores)\nprint(roc_auc_score(y_train, train_scores))", V,
                 id="auc-on-training-labels-after-the-fit-is-evaluation"),
    pytest.param("fpr, tpr, _ = roc_curve(y_test, test_scores)\nprint(roc_auc_score(y_test, test_scores))", V,
                 id="auc-on-held-out-labels-is-evaluation"),
])
def test_metrics_after_the_fit_cell_are_evaluation(source: str, expected: Stage) -> None:
    classes = _after_load("X = orders.drop(columns='y')\ny = orders['y']",
                          "X_train, X_test, y_train, y_test = train_test_split(X, y)",
                          "clf = RandomForestClassifier().fit(X_train, y_train)",
                          "train_scores = clf.predict_proba(X_train)[:, 1]\ntest_scores = clf.predict_proba(X_test)[:, 1]",
                          source)
    assert classes[-1].stage is expected, classes[-1]


def test_reading_the_sample_submission_with_the_training_data_is_data_prep() -> None:
    # before: the sample_submission file name made the loading cell "prepare new data for scoring",
    # and every df.head() after it followed into prediction
    classes, _ = classify((PRELUDE,
                           "df = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')\n"
                           "submission = pd.read_csv('sample_submission.csv')",
                           "df.head()",
                           "df.target.value_counts()"))
    assert [c.stage for c in classes[1:]] == [D, E, E], classes


@pytest.mark.parametrize(("scored", "expected"), [
    pytest.param("te_x", P, id="rows-derived-from-test-csv-are-new-data"),
    pytest.param("X_hold", V, id="neg-rows-derived-from-the-split-are-held-out"),
])
def test_where_the_scored_rows_come_from_decides_evaluation_or_prediction(scored: str, expected: Stage) -> None:
    # neither name says "new" or "test" clearly; the cells that built them do
    classes, _ = classify((PRELUDE + "from scipy.sparse import hstack",
                           "tr = pd.read_csv('train.csv')\nte = pd.read_csv('test.csv')",
                           "tr_vec = vec.fit_transform(tr.text)\nte_vec = vec.transform(te.text)",
                           "tr_x = hstack((tr_vec, tr[['n']]))\nte_x = hstack((te_vec, te[['n']]))",
                           "X_fit, X_hold, y_fit, y_hold = train_test_split(tr_x, tr.y)",
                           "clf = RandomForestClassifier().fit(X_fit, y_fit)",
                           f"out = clf.predict({scored})"))
    assert classes[-1].stage is expected, classes[-1]


def test_rows_scaled_in_one_chain_keep_being_new_data() -> None:
    # before: x_te = StandardScaler().fit(x_te).transform(x_te) made x_te look like a transformer
    classes, _ = classify((PRELUDE + "from sklearn import preprocessing",
                           "df_tr = pd.read_csv('train.csv')\ndf_te = pd.read_csv('test.csv')",
                           "x_tr = df_tr.drop(columns=['y'])\nx_te = df_te.copy()",
                           "x_te = preprocessing.StandardScaler().fit(x_te).transform(x_te)",
                           "clf = RandomForestClassifier().fit(x_tr, df_tr.y)",
                           "answer = clf.predict(x_te)"))
    assert classes[-1].stage is P, classes[-1]


def test_writing_a_frame_built_on_the_sample_submission_is_prediction() -> None:
    classes, _ = classify((PRELUDE,
                           "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')\nsub = pd.read_csv('sample.csv')",
                           "clf = RandomForestClassifier().fit(train[['a']], train.y)",
                           "out = {'y': clf.predict(test[['a']])}",
                           "res = pd.DataFrame(out)\nres['id'] = sub['id']\nres.to_csv('answer.csv', index=False)"))
    assert classes[-1].stage is P, classes[-1]


def test_helper_that_fits_and_scores_candidates_is_training() -> None:
    # before: its metric calls made every caller evaluation
    helper = ("def pick_forest(Xa, ya, Xb, yb):\n"
              "    best = None\n"
              "    for n in range(5, 15):\n"
              "        m = RandomForestClassifier(n_estimators=n).fit(Xa, ya)\n"
              "        s = roc_auc_score(yb, m.predict(Xb))\n"
              "        best = max(best or (m, s), (m, s), key=lambda t: t[1])\n"
              "    return best[0]")
    classes, _ = classify((PRELUDE, "X_train, X_test, y_train, y_test = train_test_split(X, y)", helper,
                           "forest = pick_forest(X_train, y_train, X_test, y_test)"))
    assert classes[3].stage is T, classes[3]
    assert classes[2].stage is T, classes[2]


def test_plotting_importances_through_a_helper_is_evaluation() -> None:
    helper = ("def plot_importances(model):\n"
              "    plt.barh(range(len(cols)), model.feature_importances_)\n"
              "    plt.yticks(range(len(cols)), cols)")
    classes, _ = classify((PRELUDE, "X_train, X_test, y_train, y_test = train_test_split(X, y)",
                           "gbm = RandomForestClassifier().fit(X_train, y_train)", helper,
                           "plot_importances(gbm)"))
    assert classes[4].stage is V, classes[4]


def test_residual_diagnostics_of_a_fitted_model_are_evaluation() -> None:
    classes, _ = classify((PRELUDE + "from statsmodels.tsa.statespace.sarimax import SARIMAX",
                           "series = pd.read_csv('sales.csv', index_col=0).sales",
                           "train, test = series[:80], series[80:]\nmodel = SARIMAX(train, order=(1, 1, 1)).fit()",
                           "model.plot_diagnostics(figsize=(10, 8))\nplt.show()"))
    assert classes[-1].stage is V, classes[-1]


def _kaggle_with_submission_section(prep_before_training: bool) -> tuple[Classification, ...]:
    test_prep = ("test['Age'] = test['Age'].fillna(test['Age'].mean())",
                 "test_df = test.drop(['Name', 'Cabin'], axis=1)")
    train_part = ("train['Age'] = train['Age'].fillna(train['Age'].mean())",
                  "X = train.drop(['Name', 'Cabin', 'Survived'], axis=1)\ny = train['Survived']",
                  "rfc = RandomForestClassifier().fit(X, y)")
    cells = (PRELUDE, "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')",
             *((*test_prep, *train_part) if prep_before_training else (*train_part, *test_prep)),
             "test_df.head()",
             "pred = rfc.predict(test_df)\npd.DataFrame({'id': test_df.index, 'y': pred}).to_csv('out.csv')")
    classes, _ = classify(cells)
    return classes


def test_cleaning_test_csv_after_training_only_for_scoring_is_prediction() -> None:
    classes = _kaggle_with_submission_section(prep_before_training=False)
    assert [c.stage for c in classes[5:9]] == [P, P, E, P], classes[5:9]  # the peek is eda
    assert classes[5].reasons[0].startswith("prepares new data `test`"), classes[5]


def test_neg_joint_cleaning_before_training_stays_data_prep() -> None:
    classes = _kaggle_with_submission_section(prep_before_training=True)
    assert classes[2].stage is D, classes[2]


def test_loop_over_train_and_test_that_adds_columns_is_not_a_printed_table() -> None:
    # before: the loop alias and the final print('done') made it look like a table only shown
    src = ("for data in (train, test):\n"
           "    data['n_words'] = data['text'].apply(lambda t: len(t.split()))\n"
           "print('done')")
    classes, _ = classify((PRELUDE, "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')", src,
                           "X = train[['n_words']]"))
    assert classes[2].stage is F, classes[2]


@pytest.mark.parametrize(("used_by", "expected"), [
    pytest.param("orders['amount'] = orders['amount'].fillna(amount_mean)", D, id="mean-used-by-cleaning-is-data-prep"),
    pytest.param("print(amount_mean)", E, id="neg-mean-only-printed-stays-eda"),
])
def test_value_computed_for_one_later_stage_belongs_to_it(used_by: str, expected: Stage) -> None:
    classes = _after_load("amount_mean = orders['amount'].mean()", used_by, "X = orders.drop(columns='y')")
    assert classes[3].stage is expected, classes[3]


def test_table_of_model_scores_is_evaluation() -> None:
    # before: a frame built from accuracies of earlier evaluation cells decoded as eda by context
    classes = _after_load("X = orders.drop(columns='y')\ny = orders['y']",
                          "X_train, X_test, y_train, y_test = train_test_split(X, y)",
                          "m1 = RandomForestClassifier().fit(X_train, y_train)",
                          "a1 = accuracy_score(y_test, m1.predict(X_test))",
                          "m2 = RandomForestClassifier(max_depth=3).fit(X_train, y_train)",
                          "a2 = accuracy_score(y_test, m2.predict(X_test))",
                          "names = ['forest', 'shallow forest']\nscores = [a1, a2]\ntable = pd.DataFrame({'model': names, 'acc': scores})",
                          "sns.barplot(x=scores, y=names)")
    assert classes[-2].stage is V and classes[-1].stage is V, classes[-2:]


def test_a_heading_alone_never_makes_a_cell_certain() -> None:
    classes, _ = classify((PRELUDE, "df = pd.read_csv('a.csv')", ("md", "## Model evaluation"),
                           "tmp = 3", "df2 = df"))
    for c in classes[3:]:
        if c.origin == "heading":
            assert c.confidence <= 0.7, c


def test_cutting_test_csv_rows_back_out_of_a_combined_frame_is_not_a_split() -> None:
    # X_test = full[n:] after concat([train, test.csv]) gives test.csv's rows back: featurization
    classes, _ = classify((PRELUDE,
                           "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')",
                           "full = pd.get_dummies(pd.concat([train.drop(columns='y'), test]))",
                           "X_train = full[:len(train)]\nX_test = full[len(train):]\ny = train.y"))
    assert classes[3].stage is F, classes[3]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("train_x = orders[['a', 'b']]\ntrain_x.head()", F, id="train_x-name-is-a-model-input"),
    pytest.param("numeric = ['amount', 'age']\ncategorical = ['plan', 'region']", F,
                 id="column-groups-for-a-column-transformer-are-featurization"),
])
def test_model_inputs_by_other_names(source: str, expected: Stage) -> None:
    classes = _after_load(source, "X_tr, X_te, y_tr, y_te = train_test_split(orders[['a']], orders.y)")
    assert classes[3].stage is expected, classes[3]


def test_heading_about_train_data_is_not_model_training() -> None:
    words = dict(stage_words("Working on Train data"))
    assert T not in words, words
    assert T in dict(stage_words("Train the model"))


# --- round 3: patterns seen in public notebooks (Kaggle kernels, Databricks exports) -------------
@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("orders.loc[orders['plan'] == 'gold', 'plan'] = 1\norders.loc[orders['plan'] == 'free', 'plan'] = 0",
                 F, id="category-replaced-by-number-through-loc-is-encoding"),
    pytest.param("orders.loc[orders.region == 'north', 'region'] = 2", F, id="attribute-mask-loc-encoding"),
    pytest.param("orders['plan'] = orders['plan'].astype('category').cat.codes", F, id="cat-codes-is-encoding"),
    pytest.param("orders.loc[orders['amount'].isnull(), 'amount'] = 0", D,
                 id="neg-loc-filling-nulls-stays-data-prep"),
])
def test_manual_encodings_are_featurization(source: str, expected: Stage) -> None:
    classes = _after_load(source)
    assert classes[3].stage is expected, classes[3]


def test_frame_scored_by_a_spark_udf_model_is_prediction_and_so_is_its_stream() -> None:
    classes, _ = classify((
        PRELUDE,
        "stream_df = spark.readStream.schema(schema).parquet('/mnt/incoming/')",
        "score_udf = mlflow.pyfunc.spark_udf(spark, 'models:/churn/Production')",
        "scored = stream_df.withColumn('prediction', score_udf(*stream_df.columns))",
        "scored.writeStream.format('delta').option('checkpointLocation', ckpt).start(out_path)",
    ))
    assert [c.stage for c in classes[2:]] == [P, P, P], classes[2:]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("BU = MODEL_URI.split('@')[0].split('.')[1]\nTABLE = f'models.{BU}.drift'", S,
                 id="constants-derived-from-constants-with-string-methods-are-setup"),
    pytest.param("SPEC = SPECS.get(KIND, DEFAULT_SPEC)", S, id="dict-get-on-constants-is-setup"),
    pytest.param("mlflow.set_registry_uri('databricks-uc')", S, id="registry-uri-is-configuration"),
    pytest.param("top = orders.amount.max()\nshown = str(top).split('.')[0]\nprint(shown)", E,
                 id="neg-string-methods-on-data-values-are-not-configuration"),
])
def test_configuration_cells(source: str, expected: Stage) -> None:
    classes = _after_load(source)
    assert classes[3].stage is expected, classes[3]


def test_held_out_rows_bound_in_the_scoring_cell_are_evaluation_not_new_data() -> None:
    # X_test and y_test are first bound in the cell that scores them: y_test is X_test's label
    # partner, so the rows are a held-out split even on the notebook's first label lookup.
    classes = _after_load(
        "model = RandomForestClassifier().fit(X_tr, y_tr)",
        "X_test = np.stack(held['feats'])\ny_test = held['y'].values\np = model.predict(X_test)\nprint(accuracy_score(y_test, p))",
    )
    assert classes[4].stage is V, classes[4]


def test_notebook_title_naming_the_task_is_not_a_prediction_section() -> None:
    cells = (
        ("md", "# Churn Prediction"),
        PRELUDE,
        "orders = pd.read_csv('orders.csv')",
        "model = RandomForestClassifier().fit(X_tr, y_tr)",
        "imp = pd.DataFrame({'f': X_tr.columns, 'w': model.feature_importances_})",
        "ranked = imp.sort_values('w')\nranked['rank'] = range(len(ranked))\nranked",
    )
    classes, _ = classify(cells)
    assert classes[5].stage is not P, classes[5]
    assert not any("Churn Prediction" in r for c in classes[2:] for r in c.reasons), classes
    # a title that names a stage still speaks for the cells under it
    assert P in dict(stage_words("Batch inference"))


def test_metrics_passed_as_values_are_evaluation() -> None:
    classes = _after_load(
        "model = RandomForestClassifier().fit(X_tr, y_tr)",
        "def score_all(m, metrics):\n    return [round(f(y_te, m.predict(X_te)), 2) for f in metrics]\n"
        "table = pd.DataFrame([score_all(model, [roc_auc_score, accuracy_score])])\ntable",
    )
    assert classes[4].stage is V, classes[4]


@pytest.mark.parametrize(("source", "capped"), [
    pytest.param("orders.loc[orders.discount > 100, 'discount'] = 100", True, id="capping-a-column-in-place-is-data-prep"),
    pytest.param("orders.loc[orders['discount'] > 100, 'flag'] = 1", False, id="neg-flag-from-another-column-is-not-a-cap"),
])
def test_capping_values_in_place(source: str, capped: bool) -> None:
    classes, _ = classify((
        PRELUDE,
        ("md", "# Exploratory data analysis"),
        "orders = pd.read_csv('orders.csv')",
        "orders.describe()",
        source,
        "X = orders.drop(columns=['y'])\ny = orders.y",
    ))
    assert (classes[4].stage is D) is capped, classes[4]
    assert any("caps" in r for r in classes[4].reasons) is capped, classes[4]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param('print("Catalog: " + catalogName)\nprint("Model: " + modelName)', S,
                 id="echoing-settings-from-a-run-notebook-is-setup"),
    pytest.param("print(orders.shape)", E, id="neg-printing-data-is-eda"),
    pytest.param("W.shape", E, id="neg-a-one-letter-capital-is-data-not-a-constant"),
])
def test_printing_configuration(source: str, expected: Stage) -> None:
    classes, _ = classify((
        "%run ./setup",
        PRELUDE,
        "orders = spark.table('main.raw.orders').toPandas()\nW = orders.values",
        source,
    ))
    assert classes[3].stage is expected, classes[3]


def test_waiting_on_and_stopping_the_scoring_stream_is_prediction() -> None:
    classes, _ = classify((
        PRELUDE,
        "score_udf = mlflow.pyfunc.spark_udf(spark, 'models:/churn/Production')",
        "def wait_for(name):\n    while not [q for q in spark.streams.active if q.name == name]:\n        time.sleep(5)\n"
        "    print('ready')",
        "scored = incoming.withColumn('prediction', score_udf(*incoming.columns))\n"
        "scored.writeStream.queryName('scoring').format('memory').start()",
        "wait_for('scoring')",
        "for q in spark.streams.active:\n    print(q.name)\n    q.stop()",
    ))
    assert [c.stage for c in classes[1:]] == [P, P, P, P, P], classes[1:]


def test_neg_stopping_streams_without_a_loaded_model_is_not_prediction() -> None:
    classes, _ = classify((
        PRELUDE,
        "raw = spark.readStream.format('json').load('/mnt/landing')",
        "raw.writeStream.format('delta').option('checkpointLocation', ckpt).toTable('bronze')",
        "for q in spark.streams.active:\n    q.stop()",
    ))
    assert classes[3].stage is not P, classes[3]


def test_metric_functions_imported_and_used_as_values_are_evaluation() -> None:
    classes = _after_load(
        "model = RandomForestClassifier().fit(X_tr, y_tr)",
        "from sklearn.metrics import recall_score, precision_score\nfuncs = [recall_score, precision_score]\n"
        "rows = [[f(y_te, model.predict(X_te)) for f in funcs]]\nsummary = pd.DataFrame(rows)\nsummary",
    )
    assert classes[4].stage is V, classes[4]


@pytest.mark.parametrize(("sql", "expected"), [
    pytest.param("%sql\nSELECT * FROM churn_predictions", P, id="showing-a-predictions-table-is-prediction"),
    pytest.param("%sql\nSELECT p.id, p.prediction AS prod, s.prediction AS staging FROM preds_prod p "
                 "JOIN preds_staging s ON p.id = s.id WHERE p.prediction <> s.prediction", V,
                 id="production-vs-staging-predictions-is-evaluation"),
    pytest.param("%sql\nSELECT plan, count(*) FROM customers GROUP BY plan", E, id="neg-summary-of-data-stays-eda"),
])
def test_sql_over_stored_predictions(sql: str, expected: Stage) -> None:
    classes, _ = classify((
        PRELUDE,
        "model = RandomForestClassifier().fit(X_tr, y_tr)",
        "print(accuracy_score(y_te, model.predict(X_te)))",
        Cell(0, "code", sql, language="sql"),
    ))
    assert classes[3].stage is expected, classes[3]


def test_fitting_a_performance_estimator_on_reference_data_is_monitoring() -> None:
    classes, _ = classify((
        PRELUDE + "import nannyml as nml",
        "reference = pd.read_parquet('reference.parquet')\nanalysis = pd.read_parquet('analysis.parquet')",
        "est = nml.CBPE(y_pred_proba='proba', y_pred='pred', y_true='label', metrics=['roc_auc'],"
        " problem_type='classification_binary')",
        "est.fit(reference)\nestimated = est.estimate(analysis)",
        "estimated.plot().show()",
    ))
    assert [c.stage for c in classes[2:]] == [M, M, M], classes[2:]


def test_neg_fitting_a_model_on_reference_named_data_is_still_training() -> None:
    classes, _ = classify((
        PRELUDE,
        "reference = pd.read_parquet('reference.parquet')",
        "reg = RandomForestClassifier(n_estimators=50)",
        "reg.fit(reference[features], reference['y'])",
    ))
    assert classes[3].stage is T, classes[3]


# --- round 4: dropping columns: tests/classify_cases/idioms/structure.txt ---------------------


# --- round 4: calibration of context-only and single-weak-signal cells ---------------------------
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


# --- feeds: frames cut only for a drift monitor are monitoring ----------------------------------
_NANNYML = (
    "import nannyml as nml\nimport pandas as pd",
    "data = pd.read_csv('car_loan_default_data.csv')",
    "reference = data.loc[data['partition'] == 'reference'].copy()\n"
    "analysis = data.loc[data['partition'] == 'analysis'].copy()",
    "reference.head()",
    "analysis.head()",
    "calc = nml.UnivariateDriftCalculator(column_names=['income'], timestamp_column_name='timestamp')",
    "calc.fit(reference)\nresults = calc.calculate(analysis)\nresults.to_df()",
)


def test_frames_cut_for_drift_monitor_are_monitoring() -> None:
    # Before: the split into reference/analysis followed the load as data-prep and the peeks at
    # them were eda. After: they exist only for the monitor, so they go to the monitoring notebook.
    classes, _ = classify(_NANNYML)
    assert [c.stage for c in classes[1:]] == [D, M, M, M, M, M]
    assert "for monitoring cells" in classes[2].reasons[0]
    assert "built by monitoring" in classes[3].reasons[0]


def test_frames_read_from_storage_for_monitor_stay_data_prep() -> None:
    # Reading the reference rows from storage is still data loading, even if only the monitor uses them.
    cells = list(_NANNYML)
    cells[2] = "reference = pd.read_parquet('reference.parquet')\nanalysis = pd.read_parquet('analysis.parquet')"
    classes, _ = classify(tuple(cells))
    assert classes[2].stage is D


def test_data_prep_feeding_training_is_not_moved() -> None:
    # Only monitoring pulls a data-prep cell: a cleaned frame that only training reads stays data-prep.
    classes, _ = classify((
        PRELUDE,
        "df = pd.read_csv('loans.csv')",
        "clean = df.dropna().copy()",
        "model = RandomForestClassifier()\nmodel.fit(clean[['a', 'b']], clean['y'])",
    ))
    assert classes[2].stage is D


def test_a_fully_commented_out_cell_is_classified_by_the_code_it_would_run() -> None:
    # LABELING: fully commented-out cells are labelled by what the code would do
    classes = _after_load("orders = orders.dropna()", "#orders.info()\n# orders.describe()")
    assert classes[-1].stage is E and "only displays data" in classes[-1].reasons, classes[-1]


def test_commented_prose_is_not_read_as_code() -> None:
    from nbsplit.classify import _uncomment_code

    cells = (Cell(0, "code", "# TODO"), Cell(1, "code", "# Load the data again"), Cell(2, "code", "#df.info()"))
    nb = Notebook(Path("x.ipynb"), "ipynb", cells)
    view, facts = _uncomment_code(nb, [analyze_source(c.source, c.index) for c in cells])
    assert [c.source for c in view.cells] == ["# TODO", "# Load the data again", "df.info()"]
    assert facts[2] is not None and facts[2].display_only
