# %%
import pandas as pd

# %% tags=[5]
x = 1
