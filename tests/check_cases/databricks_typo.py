# Databricks notebook source
# MAGIC %md
# MAGIC # Churn model
# MAGIC
# MAGIC Reads the feature table, trains a forest, logs it to MLflow.

# COMMAND ----------

# nbsplit: setup
import mlflow
from sklearn.ensemble import RandomForestClassifier

# COMMAND ----------

# DBTITLE 1,Load the features
# nbsplit: data-prep
df = spark.table("main.churn.features").toPandas()
df = df.dropna()

# COMMAND ----------

# nbsplit: trainig
with mlflow.start_run():
    model = RandomForestClassifier(n_estimators=100).fit(df.drop(columns=["churn"]), df["churn"])
    mlflow.sklearn.log_model(model, "model")
