# %%
import pandas as pd

# %% tags=[""]
x = 1
