# %%
import pandas as pd

# %% tags=["nbsplit:eda", "nbsplit:eda"]
x = 1
