"""How fast is ``nbsplit.analyze`` compared with libcst's bare parse?

    python benchmarks/bench_analyze.py [--cells 1000] [--repeat 3]

Builds a notebook of typical data-science cells (imports, reading, cleaning in place, summaries,
plots, features, fit/predict/metrics, helpers, magics, a few broken cells) and prints the time of
``analyze_notebook`` next to the time libcst alone needs to parse the same (masked) cells. The
target is an analysis at most twice the bare parse.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import libcst as cst

from nbsplit.analyze import analyze_notebook
from nbsplit.analyze_text import mask_ipython
from nbsplit.model import Cell, Notebook

TEMPLATES: tuple[str, ...] = (
    "import pandas as pd\nimport numpy as np\nimport matplotlib.pyplot as plt\n"
    "import seaborn as sns\n%matplotlib inline",
    "from sklearn.model_selection import train_test_split, GridSearchCV\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import accuracy_score, roc_auc_score, classification_report",
    "df{i} = pd.read_csv('data/train_{i}.csv', parse_dates=['date'])\ndf{i}.head()",
    "df{i}.dropna(subset=['target'], inplace=True)\n"
    "df{i}['age'] = df{i}['age'].fillna(df{i}['age'].median())\n"
    "df{i}.drop(columns=['id', 'name'], inplace=True)\n"
    "df{i} = df{i}.drop_duplicates()\nprint(df{i}.shape)",
    "df{i}.describe()",
    "df{i}.groupby('segment')['amount'].agg(['mean', 'sum', 'count']).sort_values('sum')",
    "fig, ax = plt.subplots(1, 2, figsize=(12, 4))\n"
    "sns.histplot(df{i}['age'], ax=ax[0])\nsns.boxplot(x='segment', y='amount', data=df{i}, "
    "ax=ax[1])\nax[0].set_title('Age')\nplt.tight_layout()\nplt.show()",
    "df{i}['log_amount'] = np.log1p(df{i}['amount'])\n"
    "df{i}['is_weekend'] = df{i}['date'].dt.dayofweek >= 5\n"
    "df{i} = pd.get_dummies(df{i}, columns=['segment'], drop_first=True)\n"
    "features = [c for c in df{i}.columns if c not in ('target', 'date')]\n"
    "X, y = df{i}[features], df{i}['target']",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42,"
    " stratify=y)",
    "%%time\nmodel{i} = RandomForestClassifier(n_estimators=200, max_depth=8, n_jobs=-1)\n"
    "model{i}.fit(X_train, y_train)",
    "preds = model{i}.predict(X_test)\nproba = model{i}.predict_proba(X_test)[:, 1]\n"
    "print(f'accuracy {{accuracy_score(y_test, preds):.3f}} auc "
    "{{roc_auc_score(y_test, proba):.3f}}')\nprint(classification_report(y_test, preds))",
    "def clean_text(s, stop=STOPWORDS):\n    \"\"\"Lower-case and strip punctuation.\"\"\"\n"
    "    s = s.lower().strip()\n    words = [w for w in s.split() if w not in stop]\n"
    "    return ' '.join(words)\n\n"
    "df{i}['text_clean'] = df{i}['text'].apply(clean_text)",
    "param_grid = {{'n_estimators': [100, 200], 'max_depth': [4, 8, None]}}\n"
    "grid = GridSearchCV(RandomForestClassifier(), param_grid, cv=5, scoring='roc_auc')\n"
    "grid.fit(X_train, y_train)\nprint(grid.best_params_, grid.best_score_)",
    "importances = pd.Series(model{i}.feature_importances_, index=features)\n"
    "importances.sort_values(ascending=False).head(20).plot.barh()\nplt.show()",
    "!pip install -q lightgbm\n%load_ext autoreload\n%autoreload 2",
    "results = []\nfor name, m in models.items():\n    m.fit(X_train, y_train)\n"
    "    score = m.score(X_test, y_test)\n    results.append((name, score))\n"
    "    print(f'{{name}}: {{score:.4f}}')",
    "sub = pd.DataFrame({{'id': test['id'], 'target': model{i}.predict(test[features])}})\n"
    "sub.to_csv('submission_{i}.csv', index=False)",
    "class Stats:\n    def __init__(self, frame):\n        self.frame = frame\n\n"
    "    def summary(self):\n        return self.frame.agg(['mean', 'std']).T\n\n"
    "Stats(df{i}).summary()",
    "with open('config_{i}.json') as fh:\n    cfg = json.load(fh)\nSEED = cfg.get('seed', 42)\n"
    "np.random.seed(SEED)",
    "corr = df{i}.corr(numeric_only=True)\nplt.figure(figsize=(10, 8))\n"
    "sns.heatmap(corr, annot=True, fmt='.2f', cmap='coolwarm')\nplt.show()",
    "try:\n    import xgboost as xgb\nexcept ImportError:\n    xgb = None\n"
    "if xgb is not None:\n    booster = xgb.XGBClassifier(n_estimators=300)\n"
    "    booster.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)",
    "df{i}.info()",
    "print 'legacy python 2 cell', df{i}.shape",
    "spark_df = spark.read.format('csv').option('header', 'true').load(path_{i})\n"
    "spark_df.write.mode('overwrite').saveAsTable('bronze_{i}')",
    "%timeit df{i}.groupby('segment').size()",
)


def build_notebook(n_cells: int) -> Notebook:
    cells = []
    for i in range(n_cells):
        template = TEMPLATES[i % len(TEMPLATES)]
        cells.append(Cell(index=i, kind="code", source=template.format(i=i)))
    return Notebook(path=Path("bench.ipynb"), format="ipynb", cells=tuple(cells))


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()

    nb = build_notebook(opts.cells)
    sources = [c.source for c in nb.cells]
    masked = [mask_ipython(s).source for s in sources]

    def bare_parse() -> None:
        for src in masked:
            try:
                cst.parse_module(src)
            except cst.ParserSyntaxError:
                pass

    def masking() -> None:
        for src in sources:
            mask_ipython(src)

    analyze_notebook(nb)  # warm up imports and caches
    t_parse = best_of(opts.repeat, bare_parse)
    t_mask = best_of(opts.repeat, masking)
    t_analyze = best_of(opts.repeat, lambda: analyze_notebook(nb))
    facts = analyze_notebook(nb)
    fallback = sum(1 for f in facts if f is not None and not f.parsed)

    n = len(sources)
    rows = [
        ("libcst parse (bare)", t_parse),
        ("IPython masking", t_mask),
        ("analyze_notebook", t_analyze),
    ]
    print(f"{n} cells, {len(TEMPLATES)} templates, {fallback} cells on the text fallback, "
          f"best of {opts.repeat}")
    print(f"{'step':<22} {'total ms':>10} {'per cell us':>12} {'x parse':>8}")
    for label, seconds in rows:
        print(f"{label:<22} {seconds * 1000:>10.1f} {seconds / n * 1e6:>12.1f} "
              f"{seconds / t_parse:>8.2f}")
    ratio = t_analyze / t_parse
    print(f"analysis / bare parse = {ratio:.2f} (target <= 2.00): "
          f"{'OK' if ratio <= 2.0 else 'OVER'}")


if __name__ == "__main__":
    main()
