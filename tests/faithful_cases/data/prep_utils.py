# Helpers the run_magic notebook loads with %run, as teams share them between notebooks.
import pandas as pd


def clean_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop_duplicates("customer_id").dropna()
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame.reset_index(drop=True)


def add_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["calls_per_month"] = out["calls"] / out["tenure"]
    return out


CHURN_LABEL = "churn"
