"""Write the faithfulness notebooks: small monoliths in the style of real public ones, each with
a way of writing notebooks that once made a split differ from its monolith (issue 9).

Usage: ``python tests/faithful_cases/build_cases.py [--execute] [--only NAME]`` (rewrites every
``*.ipynb`` here, or only ``NAME.ipynb``). The notebooks carry no stage tags, like the notebooks
people share: the classifier places them. Cells are separated by ``# ---``; a cell starting with
``md:`` is markdown.

``--execute`` stores each notebook executed, as people share them: a run in the environment of
``nbsplit run``'s source runs (stand-ins, the manifest's Spark configuration), in a scratch copy
of this folder, made twice and stored only when both runs agree on every cell. The test then
compares the split with the stored outputs and needs no source run of its own. A notebook whose pandas API on Spark cannot be imported stays unexecuted.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat import v4

HERE = Path(__file__).resolve().parent

NOTEBOOKS: dict[str, str] = {}

# Databricks style: the session is the runtime's; only data prep names `spark`, the feature,
# training and evaluation cells use Spark ML and functions on handed-off frames; a seeded
# randomSplit runs after the handoff, then first/limit/show on its output.
NOTEBOOKS["spark_ml_no_session"] = '''md:# Customer churn with Spark ML
Databricks notebook exported to Jupyter; `spark` comes from the runtime.
# ---
from pyspark.sql import functions as F
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
# ---
md:## Load and clean
# ---
data = spark.read.csv("data/customers.csv", header=True, inferSchema=True)
data = data.dropna().dropDuplicates(["customer_id"])
# ---
data.groupBy("plan").count().orderBy("plan").show()
# ---
md:## Features
# ---
indexer = StringIndexer(inputCol="plan", outputCol="plan_ix")
data = indexer.fit(data).transform(data)
data = data.withColumn("monthly_per_call", F.col("monthly") / (F.col("calls") + 1))
assembler = VectorAssembler(inputCols=["tenure", "monthly", "calls", "plan_ix", "monthly_per_call"],
                            outputCol="features")
data = assembler.transform(data).select("customer_id", "features", F.col("churn").cast("double").alias("label"))
# ---
md:## Train
# ---
train, test = data.randomSplit([0.7, 0.3], seed=42)
print(train.count(), test.count())
lr = LogisticRegression(maxIter=20, regParam=0.01)
model = lr.fit(train)
# ---
md:## Evaluate
# ---
preds = model.transform(test)
auc = BinaryClassificationEvaluator().evaluate(preds)
print(f"AUC {auc:.4f}")
print(preds.select("customer_id").first())
preds.select("customer_id", "prediction").limit(5).show()
'''

# A PySpark script-style notebook with its own session: a table made with CREATE TABLE and one
# with saveAsTable, read back by name in later sections; a groupBy shown without ordering; a
# seeded sample and randomSplit of a joined frame.
NOTEBOOKS["spark_tables"] = '''md:# Regional pricing with Spark tables
# ---
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.appName("pricing").getOrCreate()
# ---
md:## Data preparation
# ---
raw = spark.read.csv("data/customers.csv", header=True, inferSchema=True)
raw.createOrReplaceTempView("customers_raw")
spark.sql("DROP TABLE IF EXISTS customers_clean")
spark.sql("CREATE TABLE customers_clean USING parquet AS "
          "SELECT DISTINCT * FROM customers_raw WHERE monthly IS NOT NULL")
# ---
clean = spark.table("customers_clean")
by_region = clean.groupBy("region").agg(F.round(F.avg("monthly"), 2).alias("avg_monthly"), F.count("*").alias("n"))
by_region.write.mode("overwrite").saveAsTable("region_stats")
# ---
md:## Exploration
# ---
spark.sql("SELECT region, n FROM region_stats ORDER BY region").show()
# ---
clean.groupBy("plan").count().show()
# ---
md:## Features
# ---
features = (spark.table("customers_clean").join(spark.table("region_stats"), "region")
            .withColumn("above_avg", (F.col("monthly") > F.col("avg_monthly")).cast("int")))
# ---
md:## Train/test split
# ---
sample = features.sample(fraction=0.2, seed=7)
print(sample.count())
train, test = features.randomSplit([0.8, 0.2], seed=1)
print(train.count(), test.count(), test.first()["customer_id"])
'''

# pandas API on Spark, as in Databricks' Koalas-era notebooks; a display option set once, in
# the cell that loads the data, that every later frame's repr follows.
NOTEBOOKS["pandas_on_spark"] = '''md:# Churn with the pandas API on Spark
# ---
import pyspark.pandas as ps
from sklearn.linear_model import LogisticRegression
# ---
psdf = ps.read_csv("data/customers.csv")
psdf = psdf.dropna().drop_duplicates()
ps.set_option("display.max_rows", 8)
# ---
print(psdf.shape)
print(psdf["plan"].value_counts().sort_index())
print(psdf.sort_values("customer_id")[["customer_id", "plan", "monthly"]])
# ---
psdf["monthly_per_call"] = psdf["monthly"] / (psdf["calls"] + 1)
print(psdf.sort_values("customer_id")[["customer_id", "monthly_per_call"]])
pdf = psdf.sort_values("customer_id").to_pandas()
X = pdf[["tenure", "monthly", "calls", "monthly_per_call"]]
y = pdf["churn"]
# ---
model = LogisticRegression(max_iter=1000).fit(X, y)
print(round(model.score(X, y), 4))
'''

# Kaggle style: options and the plot theme set once, in the first cells that need them.
NOTEBOOKS["plots_config"] = '''md:# Churn: exploration and a baseline
# ---
import pandas as pd
import numpy as np
import matplotlib.pyplot as plt
import seaborn as sns
from sklearn.linear_model import LogisticRegression
# ---
df = pd.read_csv("data/customers.csv")
pd.set_option("display.precision", 2)
df = df.dropna().drop_duplicates()
# ---
sns.set_theme(style="whitegrid", context="talk")
plt.rcParams["figure.figsize"] = (9, 4)
np.set_printoptions(precision=3, suppress=True)
fig, ax = plt.subplots()
df["monthly"].hist(ax=ax)
print(fig.get_size_inches(), plt.rcParams["font.size"])
# ---
md:## Features
# ---
X = pd.get_dummies(df[["tenure", "monthly", "calls", "plan"]], columns=["plan"], dtype=float)
y = df["churn"]
print(X.describe())
# ---
md:## Model
# ---
model = LogisticRegression(max_iter=1000).fit(X, y)
coefs = pd.Series(model.coef_[0], index=X.columns)
print(coefs)
# ---
md:## Evaluation
# ---
fig, ax = plt.subplots()
coefs.plot.barh(ax=ax)
print(fig.get_size_inches(), plt.rcParams["font.size"], plt.rcParams["axes.facecolor"])
print(model.predict_proba(X.head(3)))
'''

# Seeded once at the top, then library randomness without random_state all the way down.
NOTEBOOKS["unseeded_search"] = '''md:# Random forest with a randomized search
# ---
import numpy as np
import pandas as pd
from scipy.stats import randint
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import RandomizedSearchCV, train_test_split
np.random.seed(42)
# ---
df = pd.read_csv("data/customers.csv").dropna().drop_duplicates()
df["noise"] = np.random.normal(size=len(df))
# ---
df.describe()
# ---
X = df[["tenure", "monthly", "calls", "noise"]]
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25)
# ---
search = RandomizedSearchCV(RandomForestClassifier(n_estimators=15),
                            {"max_depth": randint(2, 8), "min_samples_leaf": randint(1, 10)}, n_iter=4, cv=3)
search.fit(X_train, y_train)
print(search.best_params_)
# ---
print(round(search.score(X_test, y_test), 4))
'''

# A "copy" that is an alias: cleaning through one name changes the other.
NOTEBOOKS["aliasing"] = '''md:# Tenure and churn
# ---
import pandas as pd
from sklearn.linear_model import LinearRegression
# ---
raw = pd.read_csv("data/customers.csv")
df = raw
# ---
df.dropna(inplace=True)
df.drop_duplicates(inplace=True)
df["tenure_years"] = df["tenure"] / 12
# ---
print(len(raw), "tenure_years" in raw.columns)
# ---
feats = raw[["tenure_years", "monthly", "calls"]].copy()
a = feats
a["monthly_k"] = a["monthly"] / 1000
# ---
model = LinearRegression().fit(feats, raw["churn"])
print(model.coef_.round(4), feats.shape)
'''

# Shared helpers pulled in with %run inside the loading cell, as teams do.
NOTEBOOKS["run_magic"] = '''md:# Churn features from the team helpers
# ---
import pandas as pd
from sklearn.tree import DecisionTreeClassifier
# ---
%run ./data/prep_utils.py
df = clean_columns(pd.read_csv("data/customers.csv"))
print(df.shape)
# ---
X = add_ratios(df)[["tenure", "monthly", "calls", "calls_per_month"]]
y = df[CHURN_LABEL]
# ---
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
print(round(tree.score(X, y), 4))
'''


# "PyTorch step by step" style (corpus r57c): each step is a script the notebook writes with
# `%%writefile` and runs with `%run -i`, in the notebook's namespace. Read as magic lines, the
# `%run` cells looked like setup and were copied into every stage (the data-prep stage ran the
# training loop before anything it reads existed); they are the scripts' code (`run_scripts`),
# and each `%%writefile` goes with the stage that runs its file.
NOTEBOOKS["step_scripts"] = '''md:# Churn classifier, one script per step
# ---
import os
import numpy as np
import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
os.makedirs("steps", exist_ok=True)
# ---
df = pd.read_csv("data/customers.csv").drop_duplicates().dropna()
print(df.shape)
# ---
md:## Data preparation
# ---
%%writefile steps/data_preparation.py
features = ["tenure", "monthly", "calls"]
X_train, X_test, y_train, y_test = train_test_split(
    df[features].to_numpy(), df["churn"].to_numpy(), test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
# ---
%run -i steps/data_preparation.py
# ---
md:## Model configuration and training
# ---
%%writefile steps/model_configuration.py
model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01, random_state=0)
classes = np.unique(y_train)
n_epochs = 20
# ---
%run -i steps/model_configuration.py
# ---
%%writefile steps/model_training.py
losses = []
for epoch in range(n_epochs):
    model.partial_fit(X_train, y_train, classes=classes)
    losses.append(log_loss(y_train, model.predict_proba(X_train)))
# ---
%run -i steps/model_training.py
# ---
print(len(losses), round(losses[-1], 4))
# ---
md:## Evaluation
# ---
print("test accuracy", round(accuracy_score(y_test, model.predict(X_test)), 4))
'''


# What running strangers' notebooks with `nbsplit run --compare` broke on (issue 8 probe, 2026-12-04):
# the data folder named once and joined (the bundle must sync it); an import only there to
# enable an experimental scikit-learn estimator; an object column whose NaN a OneHotEncoder names
# (`region_nan`: pandas 2's parquet gave it back as None, the stage then named `region_None`); the
# last fold of a loop used after it (no "never defined" warning); a cell that rebuilds the encoder
# only when `"enc" not in globals()` (a later probe: the stage must hold the encoder the monolith
# had there, or it builds another one). Unexecuted: the test runs it with --compare, and CI's
# pandas<3 job runs it once more.
NOTEBOOKS["strangers_idioms"] = '''md:# Churn with imputation, one-hot regions and the last CV fold
# ---
import os
import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer
from sklearn.impute import IterativeImputer
from sklearn.preprocessing import OneHotEncoder
from sklearn.model_selection import StratifiedKFold
from sklearn.linear_model import LogisticRegression
DATA_DIR = "data/"
# ---
df = pd.read_csv(os.path.join(DATA_DIR, "customers.csv"))
df["region"] = df["region"].astype(object)
df.loc[df.index % 5 == 0, "region"] = np.nan
df.loc[df.index % 7 == 0, "tenure"] = np.nan
print(df.isna().sum())
# ---
md:## Features
# ---
enc = OneHotEncoder(sparse_output=False)
regions = pd.DataFrame(enc.fit_transform(df[["region"]]), columns=enc.get_feature_names_out(["region"]))
df = pd.concat([df.drop(columns=["region"]), regions], axis=1).drop(columns=["region_nan"])
imputer = IterativeImputer(random_state=0)
df[["tenure", "monthly", "calls"]] = imputer.fit_transform(df[["tenure", "monthly", "calls"]])
print(sorted(df.columns))
# ---
md:## Train
# ---
X = df.drop(columns=["customer_id", "plan", "churn"])
y = df["churn"]
skf = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
for tr, te in skf.split(X, y):
    X_train, X_test, y_train, y_test = X.iloc[tr], X.iloc[te], y.iloc[tr], y.iloc[te]
model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
print(round(model.score(X_test, y_test), 4))
# ---
md:## What the model learnt per region
# ---
# so that this part also runs on its own: rebuild what the parts above made
if "model" not in globals():
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
if "enc" not in globals():
    enc = OneHotEncoder(sparse_output=False).fit(df[["plan"]])
# ---
region_columns = [c for c in enc.get_feature_names_out() if c in X_train.columns]
print(region_columns, model.coef_[0][[list(X_train.columns).index(c) for c in region_columns]].round(3))
'''

# Helpers that change what they are given: a cleaning function that sets and drops columns of
# the frame passed to it, and a training function that fits the model passed to it, each called
# as a bare statement in a cell of its own (the call binds nothing and prints nothing).
NOTEBOOKS["helper_mutations"] = '''md:# Churn with helper functions
# ---
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
# ---
def add_spend_band(frame, column="monthly"):
    frame["high_spend"] = (frame[column] > frame[column].median()).astype(int)
    del frame["region"]


def fit_on(estimator, features, target):
    estimator.fit(features, target)
# ---
df = pd.read_csv("data/customers.csv").dropna().reset_index(drop=True)
# ---
add_spend_band(df)
# ---
df.head()
# ---
md:## Model
# ---
X = pd.get_dummies(df.drop(columns=["customer_id", "churn"]), columns=["plan"], dtype=int)
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
model = LogisticRegression(max_iter=2000)
# ---
fit_on(model, X_train, y_train)
# ---
print(sorted(X.columns))
print(round(model.score(X_test, y_test), 4))
'''


# The Titanic kernels' way: train and test kept in a list, every cleaning and feature step a loop
# over the list (``for dataset in combine:``) or over a literal list of both, changing the
# frames in place; the model and predictions then use the frames by their own names. Then a
# dict of models fitted in a loop over ``models.items()`` and compared in another section.
NOTEBOOKS["frame_lists"] = '''md:# Churn, train and test cleaned together
# ---
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.metrics import accuracy_score
# ---
customers = pd.read_csv("data/customers.csv")
train_df = customers[customers.customer_id % 4 != 0].copy()
test_df = customers[customers.customer_id % 4 == 0].drop(columns=["churn"])
combine = [train_df, test_df]
# ---
md:## Cleaning
# ---
for dataset in combine:
    dataset["monthly"] = dataset["monthly"].fillna(dataset["monthly"].median())
    dataset["region"] = dataset["region"].str.upper()
# ---
for df in [train_df, test_df]:
    df.drop(columns=["customer_id"], inplace=True)
# ---
pd.crosstab(train_df["plan"], train_df["churn"])
# ---
md:## Features
# ---
for dataset in combine:
    dataset["plan_code"] = dataset["plan"].map({"basic": 0, "plus": 1, "premium": 2})
    dataset["per_call"] = dataset["monthly"] / (dataset["calls"] + 1)
# ---
print(train_df[["plan_code", "per_call"]].describe().round(3))
# ---
md:## Train
# ---
features = ["tenure", "monthly", "calls", "plan_code", "per_call"]
model = LogisticRegression(max_iter=2000).fit(train_df[features], train_df["churn"])
print(round(model.score(train_df[features], train_df["churn"]), 4))
# ---
models = {"lr": LogisticRegression(max_iter=2000), "tree": DecisionTreeClassifier(max_depth=3, random_state=0)}
# ---
for name, clf in models.items():
    clf.fit(train_df[features], train_df["churn"])
# ---
md:## Evaluation
# ---
for name, clf in models.items():
    print(name, round(accuracy_score(train_df["churn"], clf.predict(train_df[features])), 4))
# ---
md:## Predict
# ---
test_df["churn_pred"] = model.predict(test_df[features])
print(test_df["churn_pred"].value_counts().sort_index())
print(test_df.columns.tolist())
'''


# A file as the handoff: the feature cell writes the encoded frame to a CSV and the next section
# reads it back to train, as many notebooks do before a modelling part. The repository also
# keeps an older export under that name (data/customers_features.csv, from make_data.py): a split
# that ran the reading cell before the writing one would train on that stale file.
NOTEBOOKS["file_handoff"] = '''md:# Churn from the exported features
# ---
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
# ---
raw = pd.read_csv("data/customers.csv")
raw = raw.drop_duplicates().dropna().reset_index(drop=True)
print(raw.shape)
# ---
md:## Features
# ---
features = pd.get_dummies(raw.drop(columns=["customer_id"]), columns=["plan", "region"], dtype=int)
features["spend_per_call"] = (features["monthly"] / (features["calls"] + 1)).round(4)
# ---
features.to_csv("data/customers_features.csv", index=False)
# ---
md:## Load the prepared data
# ---
df = pd.read_csv("data/customers_features.csv")
print(df.shape)
print(sorted(df.columns))
# ---
df.describe().round(3)
# ---
md:## Train
# ---
X = df.drop(columns=["churn"])
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(max_iter=2000).fit(X_train, y_train)
print(round(model.score(X_test, y_test), 4))
'''

# Modules written by ``%%writefile`` and imported by later cells, as notebooks do for a cleaning
# helper, a metrics helper, a training script or an app. The first is written and imported at
# the top (setup): a stage's generated imports cell runs before its copy of the writing cell,
# so the import must run where the notebook had it. The team tagged the cell that writes the
# second with the evaluation stage, but the training section already imports it: the split runs
# the writing cell in training (with a warning) so that the training stage finds the module.
# A helper whose default argument is a value a data-prep cell made (``def clean(text,
# stopwords=STOPWORDS)`` in the Made With ML course notebook): the default is evaluated when the
# function is defined, so a stage that copies the helper must load the value first.
NOTEBOOKS["header_default"] = '''md:# Churn with a feature helper whose default is a column list
# ---
import pandas as pd
from sklearn.linear_model import LogisticRegression
# ---
# nbsplit: data-prep
df = pd.read_csv("data/customers.csv").dropna().reset_index(drop=True)
DROP = ["customer_id", "plan", "region", "churn"]
# ---
# nbsplit: data-prep
def features(frame, drop=DROP):
    return frame.drop(columns=drop)
# ---
# nbsplit: data-prep
print(features(df).shape)
# ---
# nbsplit: training
model = LogisticRegression(max_iter=1000).fit(features(df), df["churn"])
print(round(model.score(features(df), df["churn"]), 4))
'''


NOTEBOOKS["module_writefile"] = '''md:# Churn model with its own helper modules
# ---
%%writefile prep_utils.py
import pandas as pd


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop repeated and incomplete rows."""
    return frame.drop_duplicates().dropna().reset_index(drop=True)
# ---
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
from prep_utils import clean
# ---
raw = clean(pd.read_csv("data/customers.csv"))
print(raw.shape)
# ---
features = pd.get_dummies(raw.drop(columns=["customer_id"]), columns=["plan", "region"], dtype=int)
X = features.drop(columns=["churn"])
y = features["churn"]
# ---
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(max_iter=2000).fit(X_train, y_train)
# ---
tags:nbsplit:evaluation
%%writefile churn_report.py
from sklearn.metrics import accuracy_score, f1_score


def report(model, X, y):
    """Accuracy and F1 of a fitted classifier on a labelled set."""
    predicted = model.predict(X)
    return {"accuracy": round(accuracy_score(y, predicted), 4), "f1": round(f1_score(y, predicted), 4)}
# ---
# nbsplit: training
from churn_report import report
print(report(model, X_train, y_train))
# ---
md:## Evaluation
# ---
print(report(model, X_test, y_test))
'''


def cells(text: str) -> list:
    """``# ---`` separates cells; ``md:`` starts a markdown cell, ``tags:a,b`` on a code cell's
    first line gives it those cell tags (for cells whose first line must stay a cell magic)."""
    out = []
    for chunk in text.split("# ---\n"):
        chunk = chunk.rstrip("\n")
        if chunk.startswith("md:"):
            out.append(v4.new_markdown_cell(chunk[3:]))
            continue
        tags = []
        if chunk.startswith("tags:"):
            first, _, chunk = chunk.partition("\n")
            tags = first[5:].split(",")
        cell = v4.new_code_cell(chunk)
        if tags:
            cell.metadata["tags"] = tags
        out.append(cell)
    return out


def execute(path: Path) -> nbformat.NotebookNode:
    """``path`` executed twice like a source run of ``nbsplit run --compare``; stored only when
    both runs give the same text output in every cell (the test compares with it alone)."""
    from nbsplit.run import _text_outputs

    first, second = execute_once(path), execute_once(path)
    varying = [i for i, (a, b) in enumerate(zip(first.cells, second.cells)) if _text_outputs(a) != _text_outputs(b)]
    if varying:
        raise SystemExit(f"{path.name}: cells {varying} differ between two runs of the monolith; make them "
                         "deterministic (seed them) before storing")
    return second


def execute_once(path: Path) -> nbformat.NotebookNode:
    """``path`` executed like a source run of ``nbsplit run --compare``, in a scratch project."""
    from nbsplit.convert import convert_notebook
    from nbsplit.execute import execute_notebook
    from nbsplit.run import STATE_DIR, kernel_env, spark_env
    from nbsplit.standins import ENV_TASK_KEY

    with tempfile.TemporaryDirectory(prefix="nbsplit-faithful-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        shutil.copy(path, project)
        shutil.copytree(HERE / "data", project / "data")
        convert_notebook(project / path.name, Path(tmp) / "split", force=True)
        manifest = json.loads((Path(tmp) / "split" / "nbsplit-manifest.json").read_text(encoding="utf-8"))
        state = Path(tmp) / STATE_DIR
        params = {k: str(v) for k, v in (manifest.get("parameters") or {}).items()}
        params["handoff_dir"] = str(state / "handoffs")
        env = kernel_env(state, params) | {ENV_TASK_KEY: "source", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
                                           "PYSPARK_PYTHON": sys.executable} | spark_env(manifest, None)
        nb = execute_notebook(project / path.name, project, env=env)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    # the JVM's own log lines carry timestamps and host names: keep the stored files reproducible
    sys.path.insert(0, str(HERE.parents[1] / "sample_notebooks"))
    from execute_samples import drop_jvm_noise, merge_streams

    drop_jvm_noise(nb)
    merge_streams(nb)
    return nb


def main(argv: list[str]) -> None:
    only = argv[argv.index("--only") + 1] if "--only" in argv else None
    for name, text in NOTEBOOKS.items():
        if only is not None and name != only:
            continue
        nb = v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = cells(text)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name[:20]}-{i}"
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, path)
        if "--execute" in argv:
            if name == "pandas_on_spark":
                try:
                    import pyspark.pandas  # noqa: F401
                except ImportError:
                    continue
            nbformat.write(execute(path), path)


if __name__ == "__main__":
    main(sys.argv[1:])
