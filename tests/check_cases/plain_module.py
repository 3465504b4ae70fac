"""An ordinary module next to the notebooks: pre-commit hands it to the hook too."""

from __future__ import annotations

import pandas as pd


def load(path: str) -> pd.DataFrame:
    # a plain module: no "# %%" cell markers, no Databricks header
    return pd.read_csv(path)


if __name__ == "__main__":
    print(load("data.csv").head())
