# %%
import pandas as pd

# %%
from nbsplit_runtime import _nbs_path

df = pd.read_csv('data.csv')
