# Databricks notebook source
# MAGIC %md
# MAGIC # California districts: median house value
# MAGIC
# MAGIC Regression of the median house value of a district from census features
# MAGIC (`data/housing.csv`, a small extract kept next to the notebook).
# MAGIC
# MAGIC The model is tracked with MLflow, registered, given the `champion` alias, and the champion
# MAGIC then scores the new districts in `data/housing_new_districts.csv`.
# MAGIC
# MAGIC Widgets: `model_name` (registered model), `experiment_name`, `min_r2` (quality gate).

# COMMAND ----------

# MAGIC %pip install mlflow>=3.1 scikit-learn>=1.4

# COMMAND ----------

# DBTITLE 1,Imports
# nbsplit: setup
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient

from pyspark.sql import functions as F

from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_squared_error, mean_absolute_error, r2_score

plt.rcParams["figure.dpi"] = 60

# COMMAND ----------

# DBTITLE 1,Parameters
# nbsplit: setup
dbutils.widgets.text("model_name", "housing_value_gbr")
dbutils.widgets.text("experiment_name", "/Shared/housing-value")
dbutils.widgets.text("min_r2", "0.6")

model_name = dbutils.widgets.get("model_name")
experiment_name = dbutils.widgets.get("experiment_name")
min_r2 = float(dbutils.widgets.get("min_r2"))

SEED = 2024
print(model_name, experiment_name, min_r2)

# COMMAND ----------

# DBTITLE 1,Helpers
# nbsplit: setup
def add_ratios(pdf):
    """Per-household ratios; applied to the training data and to the districts we score."""
    pdf = pdf.copy()
    pdf["rooms_per_person"] = pdf["avg_rooms"] / pdf["avg_occupancy"]
    pdf["bedroom_ratio"] = pdf["avg_bedrooms"] / pdf["avg_rooms"]
    pdf["log_population"] = np.log1p(pdf["population"])
    return pdf

# COMMAND ----------

# MAGIC %md
# MAGIC ## Load and clean

# COMMAND ----------

# DBTITLE 1,Read the extract into Spark
# nbsplit: data-prep
raw_pdf = pd.read_csv("data/housing.csv")
housing_raw = spark.createDataFrame(raw_pdf)
print(housing_raw.count(), len(housing_raw.columns))

# COMMAND ----------

# nbsplit: eda
housing_raw.printSchema()

# COMMAND ----------

# DBTITLE 1,Clean
# nbsplit: data-prep
# values are top-coded at 500,000 in the census extract: drop those districts
housing = (
    housing_raw
    .dropna(subset=["median_house_value", "median_income"])
    .dropDuplicates(["district_id"])
    .filter(F.col("median_house_value") < 500000)
    .withColumn("median_house_value", F.col("median_house_value").cast("double"))
    .withColumn("ocean_proximity", F.trim(F.col("ocean_proximity")))
)
housing.createOrReplaceTempView("housing")
print(housing.count(), "districts after cleaning")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Explore

# COMMAND ----------

# nbsplit: eda
display(housing.orderBy("district_id").limit(20))

# COMMAND ----------

# DBTITLE 1,Value by distance to the ocean
# MAGIC %sql
# MAGIC -- nbsplit: eda
# MAGIC SELECT ocean_proximity,
# MAGIC        COUNT(*)                            AS districts,
# MAGIC        ROUND(AVG(median_house_value), 0)   AS avg_value,
# MAGIC        ROUND(AVG(median_income), 2)        AS avg_income
# MAGIC FROM housing
# MAGIC GROUP BY ocean_proximity
# MAGIC ORDER BY avg_value DESC

# COMMAND ----------

# MAGIC %sql
# MAGIC -- nbsplit: eda
# MAGIC SELECT FLOOR(median_income) AS income_band,
# MAGIC        COUNT(*) AS districts,
# MAGIC        ROUND(PERCENTILE(median_house_value, 0.5), 0) AS median_value
# MAGIC FROM housing
# MAGIC GROUP BY FLOOR(median_income)
# MAGIC ORDER BY income_band

# COMMAND ----------

# nbsplit: eda
display(housing.select("median_income", "housing_median_age", "avg_rooms", "median_house_value").describe())

# COMMAND ----------

# DBTITLE 1,Income vs value
# nbsplit: eda
sample_pdf = housing.select("median_income", "median_house_value", "ocean_proximity").toPandas()
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, grp in sample_pdf.groupby("ocean_proximity"):
    ax.scatter(grp["median_income"], grp["median_house_value"], s=4, label=name)
ax.set_xlabel("median income (10k$)")
ax.set_ylabel("median house value")
ax.legend(fontsize=7)
display(fig)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Features
# MAGIC
# MAGIC Ratios per household plus one-hot `ocean_proximity`, inside a scikit-learn pipeline so the
# MAGIC registered model takes raw columns.

# COMMAND ----------

# nbsplit: featurization
pdf = add_ratios(housing.toPandas())

numeric_features = ["median_income", "housing_median_age", "avg_rooms", "avg_bedrooms", "avg_occupancy",
                    "latitude", "longitude", "rooms_per_person", "bedroom_ratio", "log_population"]
categorical_features = ["ocean_proximity"]

preprocess = ColumnTransformer([
    ("num", SimpleImputer(strategy="median"), numeric_features),
    ("cat", OneHotEncoder(handle_unknown="ignore"), categorical_features),
])

X = pdf[numeric_features + categorical_features]
y = pdf["median_house_value"]
print(X.shape)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Train, track and register

# COMMAND ----------

# DBTITLE 1,Split
# nbsplit: training
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
print(len(X_train), len(X_test))

# COMMAND ----------

# DBTITLE 1,Fit and log with MLflow
# nbsplit: training
params = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8}

mlflow.set_experiment(experiment_name)
with mlflow.start_run(run_name="gbr") as run:
    model = Pipeline([
        ("preprocess", preprocess),
        ("gbr", GradientBoostingRegressor(random_state=SEED, **params)),
    ])
    model.fit(X_train, y_train)
    mlflow.log_params(params)
    mlflow.log_metric("test_rmse", mean_squared_error(y_test, model.predict(X_test)) ** 0.5)
    model_info = mlflow.sklearn.log_model(
        model,
        name="model",
        input_example=X_train.head(5),
        skops_trusted_types=["numpy.dtype", "sklearn.tree._tree.Tree"],
    )

# COMMAND ----------

# DBTITLE 1,Register and promote
# nbsplit: training
version = mlflow.register_model(model_info.model_uri, model_name)
MlflowClient().set_registered_model_alias(model_name, "champion", version.version)
print(f"{model_name} version {version.version} -> @champion")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Evaluate

# COMMAND ----------

# nbsplit: evaluation
y_pred = model.predict(X_test)
metrics = {
    "rmse": mean_squared_error(y_test, y_pred) ** 0.5,
    "mae": mean_absolute_error(y_test, y_pred),
    "r2": r2_score(y_test, y_pred),
}
print({k: round(v, 3) for k, v in metrics.items()})

# COMMAND ----------

# DBTITLE 1,Residuals
# nbsplit: evaluation
fig, ax = plt.subplots(figsize=(5, 3))
ax.scatter(y_test, y_test - y_pred, s=4)
ax.axhline(0, color="k", lw=1)
ax.set_xlabel("actual")
ax.set_ylabel("residual")
display(fig)

# COMMAND ----------

# nbsplit: evaluation
feature_names = model.named_steps["preprocess"].get_feature_names_out()
importance = pd.Series(model.named_steps["gbr"].feature_importances_, index=feature_names)
display(importance.sort_values(ascending=False).round(4).rename("importance").reset_index())

# COMMAND ----------

# DBTITLE 1,Quality gate
# nbsplit: evaluation
if metrics["r2"] < min_r2:
    raise ValueError(f"r2 {metrics['r2']:.3f} below the gate {min_r2}")
print("gate passed")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Batch prediction with the champion

# COMMAND ----------

# DBTITLE 1,Load the champion
# nbsplit: prediction
champion = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
new_sdf = spark.createDataFrame(pd.read_csv("data/housing_new_districts.csv"))
new_pdf = add_ratios(new_sdf.toPandas())
new_pdf["predicted_value"] = np.round(champion.predict(new_pdf[X.columns]), -2)

# COMMAND ----------

# DBTITLE 1,Write predictions
# nbsplit: prediction
scored = spark.createDataFrame(new_pdf[["district_id", "ocean_proximity", "predicted_value"]])
scored.write.mode("overwrite").parquet("predictions/housing_value_predictions")
display(scored.orderBy(F.desc("predicted_value")).limit(10))
