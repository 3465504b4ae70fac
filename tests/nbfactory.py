"""Small notebooks built with nbformat for tests that need a file on disk."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import v4


def write_tagged_nb(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    """Write code cells given as (source, tags) to ``path``."""
    nb = v4.new_notebook()
    for source, tags in cells:
        cell = v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


# Cell templates of a typical tabular ML notebook; {a}, {b}, {c} are frame/array names and {m}
# a model name, drawn per notebook so that sets of names differ from one notebook to the next.
_ML_SNIPPETS = (
    "import pandas as pd\nimport numpy as np",
    "from sklearn.model_selection import train_test_split\nfrom sklearn.metrics import accuracy_score, roc_auc_score",
    "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.linear_model import LogisticRegression",
    "SEED = 42\nnp.random.seed(SEED)",
    "{a} = pd.read_csv('train.csv')\n{b} = pd.read_csv('test.csv')",
    "{a}.head()",
    "{a}.describe()\n{a}.info()",
    "{a}['Age'] = {a}['Age'].fillna({a}['Age'].median())\n{b}['Age'] = {b}['Age'].fillna({b}['Age'].median())",
    "{a} = {a}.drop_duplicates()\n{a} = {a}.rename(columns={{'Sex': 'sex'}})",
    "{a}['sex'].value_counts()",
    "for df in [{a}, {b}]:\n    df['family'] = df['SibSp'] + df['Parch']\n    df['alone'] = (df['family'] == 0).astype(int)",
    "{a} = pd.get_dummies({a}, columns=['Embarked'])\n{b} = pd.get_dummies({b}, columns=['Embarked'])",
    "{c} = {a}.drop(columns=['Survived'])\ny = {a}['Survived']",
    "X_train, X_test, y_train, y_test = train_test_split({c}, y, test_size=0.2, random_state=SEED)",
    "{m} = RandomForestClassifier(n_estimators=50, random_state=SEED)\n{m}.fit(X_train, y_train)",
    "lr = LogisticRegression(max_iter=200)\nlr.fit(X_train, y_train)\nprint(lr.score(X_test, y_test))",
    "pred = {m}.predict(X_test)\nacc = accuracy_score(y_test, pred)\nprint(acc)",
    "auc = roc_auc_score(y_test, {m}.predict_proba(X_test)[:, 1])\nscores = {{'rf': acc, 'auc': auc}}",
    "importances = pd.Series({m}.feature_importances_, index={c}.columns).sort_values()\nimportances.plot.barh()",
    "submission = pd.DataFrame({{'PassengerId': {b}['PassengerId'], 'Survived': {m}.predict({b}[{c}.columns])}})\nsubmission.to_csv('submission.csv', index=False)",
    "drift = {{col: abs({a}[col].mean() - {b}[col].mean()) for col in ['Age', 'Fare']}}\nprint(drift)",
    "def clean(df):\n    return df.dropna(subset=['Fare'])\n{a} = clean({a})\n{b} = clean({b})",
    "{a}.groupby('Pclass')['Survived'].mean()",
    "print({m}.best_iteration, {m}.best_iteration_, {m}.feature_importances_, {m}.featureImportances)",
    "print(search.best_index_, search.bestModel, search.avgMetrics, search.best_value)",
    "import matplotlib.pyplot as plt\n{a}['Fare'].hist()\nplt.show()",
)
_ML_HEADINGS = ("# Titanic", "## Load data", "## Explore", "## Features", "## Train", "## Evaluate",
                "## Predict", "## Drift", "Some notes on the data.")
_ML_NAMES = ("train", "test", "df", "full", "data", "X", "features", "holdout", "raw", "tab")


def write_ml_notebook(path: Path, seed: int, n_cells: int = 24) -> Path:
    """A realistic-looking tabular ML notebook, the same for the same ``seed``: snippets in
    roughly pipeline order, some shuffled, with markdown headings between them."""
    import random

    rng = random.Random(seed)
    a, b, c = rng.sample(_ML_NAMES, 3)
    names = {"a": a, "b": b, "c": c, "m": rng.choice(("model", "rf", "clf", "est"))}
    picks = sorted(rng.sample(range(len(_ML_SNIPPETS)), min(n_cells, len(_ML_SNIPPETS))))
    for _ in range(rng.randint(0, 4)):  # a few cells out of place, as in real notebooks
        i, j = rng.randrange(len(picks)), rng.randrange(len(picks))
        picks[i], picks[j] = picks[j], picks[i]
    nb = v4.new_notebook()
    for k in picks:
        if rng.random() < 0.3:
            nb.cells.append(v4.new_markdown_cell(rng.choice(_ML_HEADINGS)))
        nb.cells.append(v4.new_code_cell(_ML_SNIPPETS[k].format(**names)))
    nbformat.write(nb, path)
    return path
