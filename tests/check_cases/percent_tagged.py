# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # House prices
#
# A first look at the districts.

# %% tags=["nbsplit:setup"]
import pandas as pd

# %% tags=["nbsplit:data-prep"]
df = pd.read_csv("housing.csv").dropna()

# %% tags=["nbsplit:eda"]
df.describe()
