# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.16.4
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # House prices
#
# A regression on the Ames data.

# %%
import pandas as pd
from sklearn.model_selection import train_test_split

# %% Load tags=["nbsplit:data-prep"]
houses = pd.read_csv("train.csv")

# %% tags=["nbsplit:eda", "hide-input"]
houses.describe()

# %%

# %% [markdown] tags=["nbsplit:training"]
# ## Training

# %%
# %time
X_train, X_test = train_test_split(houses, test_size=0.2, random_state=0)

# %% [raw]
# a raw cell
