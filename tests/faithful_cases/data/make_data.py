"""Write customers.csv, the small synthetic data every faithfulness notebook reads (and the stale
customers_features.csv of file_handoff).

Deterministic (a private generator, seed 2024): rerunning gives the same file byte for byte.
A few missing values and duplicated ids, as real exports have them."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = random.Random(2024)
    rows = []
    for i in range(1, 361):
        plan = rng.choice(["basic", "plus", "premium"])
        tenure = rng.randint(1, 72)
        monthly = round(rng.uniform(15, 120) + (25 if plan == "premium" else 0), 2)
        calls = rng.randint(0, 12)
        region = rng.choice(["north", "south", "east", "west"])
        risk = 0.6 * (calls > 6) + 0.5 * (tenure < 12) + 0.3 * (plan == "basic") - 0.004 * monthly
        churn = int(risk + rng.uniform(-0.35, 0.35) > 0.45)
        rows.append([i, plan, tenure, "" if i % 47 == 0 else monthly, calls, region, churn])
    rows += [rows[9], rows[99]]  # duplicated exports
    with open(HERE / "customers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["customer_id", "plan", "tenure", "monthly", "calls", "region", "churn"])
        writer.writerows(rows)
    # an older export of file_handoff's features, as a repository commits it: fewer rows and
    # columns than the notebook writes (a split reading it instead of the fresh file differs)
    with open(HERE / "customers_features.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["tenure", "monthly", "calls", "churn"])
        writer.writerows([[r[2], r[3] or 0, r[4], r[6]] for r in rows[:40]])


if __name__ == "__main__":
    main()
