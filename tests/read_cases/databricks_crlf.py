# Databricks notebook source
# MAGIC %md
# MAGIC # Title

# COMMAND ----------

x = 1


# COMMAND ----------
# MAGIC %sql
# MAGIC SELECT 1
