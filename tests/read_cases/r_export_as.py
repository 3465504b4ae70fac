# Databricks notebook source
library(SparkR)

# COMMAND ----------

df <- read.df("x")
