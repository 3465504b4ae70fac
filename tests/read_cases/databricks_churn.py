# Databricks notebook source
# MAGIC %md
# MAGIC # Churn model
# MAGIC
# MAGIC Trains a churn classifier on the bronze customer table.

# COMMAND ----------

# MAGIC %pip install mlflow>=3.1 scikit-learn==1.5.2

# COMMAND ----------

# MAGIC %run ./00_common

# COMMAND ----------

# DBTITLE 1,Parameters
dbutils.widgets.text("catalog", "dev_catalog")
catalog = dbutils.widgets.get("catalog")

# COMMAND ----------

# DBTITLE 1,Load data
df = spark.table(f"{catalog}.churn.customers").toPandas()
df.head()

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT plan, COUNT(*) AS n
# MAGIC FROM main.churn.customers
# MAGIC GROUP BY plan

# COMMAND ----------

# MAGIC %md-sandbox
# MAGIC <div style="color: red">Features</div>

# COMMAND ----------

# nbsplit: featurization
df["tenure_years"] = df["tenure_months"] / 12

# COMMAND ----------

# MAGIC %sh
# MAGIC ls /dbfs/tmp

# COMMAND ----------



# COMMAND ----------

# DBTITLE 0,Hidden title
# MAGIC %md
# MAGIC ## Training
# MAGIC
# MAGIC * fit a model

# COMMAND ----------

from sklearn.linear_model import LogisticRegression


model = LogisticRegression(max_iter=1000).fit(df[["tenure_years"]], df["churned"])
