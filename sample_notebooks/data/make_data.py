"""Generate the small, synthetic CSV files the sample notebooks read.

Deterministic: every table comes from its own seeded ``numpy.random.Generator``, so running
``python data/make_data.py`` (from ``sample_notebooks/``, or from anywhere) rewrites byte-identical
files. The CSVs are committed, so the notebooks run without this script; it exists so the data
can be regenerated or changed on purpose.

The data is made to look like what people really get: missing values, a few duplicated rows,
numbers stored as text, inconsistent spellings and (for the sales file) messy column names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _write(df: pd.DataFrame, name: str) -> None:
    df.to_csv(HERE / name, index=False, lineterminator="\n")


# --------------------------------------------------------------------------- telecom churn
def _telco(rng: np.random.Generator, n: int, start_id: int, labelled: bool) -> pd.DataFrame:
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.20])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.35, 0.45, 0.20])
    tenure = np.where(
        contract == "Month-to-month", rng.integers(0, 40, n), rng.integers(6, 73, n)
    )
    base = np.select([internet == "Fiber optic", internet == "DSL"], [75.0, 50.0], 22.0)
    monthly = np.round(base + rng.normal(0, 12, n).clip(-15, 40), 2)
    total = np.round(monthly * tenure + rng.normal(0, 20, n).clip(-30, 30), 2).clip(0)
    calls = rng.poisson(1.2 + (internet == "Fiber optic") * 0.8, n).astype(float)
    df = pd.DataFrame(
        {
            "customerID": [f"{7000 + start_id + i:04d}-{chr(65 + i % 26)}{chr(65 + (i * 7) % 26)}" for i in range(n)],
            "gender": rng.choice(["Female", "Male"], n),
            "SeniorCitizen": rng.choice([0, 1], n, p=[0.84, 0.16]),
            "Partner": rng.choice(["Yes", "No"], n),
            "Dependents": rng.choice(["Yes", "No"], n, p=[0.3, 0.7]),
            "tenure": tenure,
            "PhoneService": rng.choice(["Yes", "No"], n, p=[0.9, 0.1]),
            "InternetService": internet,
            "Contract": contract,
            "PaperlessBilling": rng.choice(["Yes", "No"], n, p=[0.6, 0.4]),
            "PaymentMethod": rng.choice(
                ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
                n,
                p=[0.34, 0.22, 0.22, 0.22],
            ),
            "MonthlyCharges": monthly,
            "TotalCharges": total.astype(str),
            "NumSupportCalls": calls,
        }
    )
    # New customers have no history yet: the raw export leaves TotalCharges blank.
    df.loc[df["tenure"] == 0, "TotalCharges"] = " "
    df.loc[rng.random(n) < 0.04, "NumSupportCalls"] = np.nan
    df.loc[rng.random(n) < 0.02, "PaymentMethod"] = np.nan
    if labelled:
        z = (
            -1.2
            + 1.4 * (contract == "Month-to-month")
            - 0.9 * (contract == "Two year")
            - 0.045 * tenure
            + 0.018 * (monthly - 60)
            + 0.55 * (internet == "Fiber optic")
            + 0.35 * calls
            + 0.4 * (df["PaymentMethod"] == "Electronic check").to_numpy()
            + 0.3 * df["SeniorCitizen"].to_numpy()
        )
        df["Churn"] = np.where(rng.random(n) < _sigmoid(z), "Yes", "No")
    return df


def make_churn() -> None:
    rng = np.random.default_rng(20240101)
    df = _telco(rng, 2600, 0, labelled=True)
    dups = df.sample(25, random_state=1)
    df = pd.concat([df, dups]).sample(frac=1, random_state=2).reset_index(drop=True)
    _write(df, "telco_churn.csv")
    _write(_telco(np.random.default_rng(20240202), 300, 5000, labelled=False), "churn_new_customers.csv")


# --------------------------------------------------------------------------- flights
AIRPORTS = {"ATL": 0, "ORD": 1, "DFW": 2, "DEN": 3, "LAX": 4, "JFK": 5, "SEA": 6, "SFO": 7}
CARRIERS = {"AA": 0.1, "DL": -0.3, "UA": 0.2, "WN": 0.0, "B6": 0.45, "AS": -0.4}


def _flights(rng: np.random.Generator, n: int, months: list[int], labelled: bool) -> pd.DataFrame:
    month = rng.choice(months, n)
    day = rng.integers(1, 29, n)
    dates = pd.to_datetime({"year": 2024, "month": month, "day": day})
    origin = rng.choice(list(AIRPORTS), n)
    dest = np.array([rng.choice([a for a in AIRPORTS if a != o]) for o in origin])
    carrier = rng.choice(list(CARRIERS), n, p=[0.2, 0.2, 0.18, 0.22, 0.1, 0.1])
    dep_hour = rng.integers(5, 23, n)
    distance = rng.integers(300, 2600, n)
    weather = (origin == "ORD") * 0.5 + (origin == "JFK") * 0.4 + np.isin(month, [1, 2, 7]) * 0.3
    dep_delay = np.round(
        rng.gamma(1.3, 9, n) - 8 + 1.4 * (dep_hour - 12).clip(0) + 14 * weather
        + 10 * np.array([CARRIERS[c] for c in carrier]),
        0,
    )
    df = pd.DataFrame(
        {
            "fl_date": dates.dt.strftime("%Y-%m-%d"),
            "carrier": carrier,
            "flight_num": rng.integers(100, 3000, n),
            "origin": origin,
            "dest": dest,
            "dep_hour": dep_hour,
            "distance": distance,
            "dep_delay": dep_delay,
        }
    )
    cancelled = rng.random(n) < 0.02
    df["cancelled"] = cancelled.astype(int)
    if labelled:
        arr = np.round(dep_delay + rng.normal(-4, 9, n) + distance / 400, 0)
        df["arr_delay"] = arr.astype(object)
        df.loc[cancelled, ["dep_delay", "arr_delay"]] = np.nan
        # the source system writes "NA" for a few diverted flights
        df.loc[(rng.random(n) < 0.01) & ~cancelled, "arr_delay"] = "NA"
    else:
        df.loc[cancelled, "dep_delay"] = np.nan
    df.loc[rng.random(n) < 0.01, "carrier"] = df["carrier"].str.lower()
    return df


def make_flights() -> None:
    _write(_flights(np.random.default_rng(7), 3500, [1, 2, 3, 4, 5, 6], True), "flights_2024h1.csv")
    _write(_flights(np.random.default_rng(8), 600, [7], False), "flights_july.csv")


# --------------------------------------------------------------------------- housing
def _housing(rng: np.random.Generator, n: int, labelled: bool) -> pd.DataFrame:
    lat = np.round(rng.uniform(32.6, 41.9, n), 2)
    lon = np.round(-124.3 + (41.9 - lat) * 0.9 + rng.normal(0, 0.8, n), 2)
    income = np.round(rng.lognormal(1.25, 0.45, n).clip(0.5, 15), 4)
    age = rng.integers(1, 53, n)
    rooms = np.round(rng.normal(5.3, 1.1, n).clip(1.5, 12), 3)
    bedrooms = np.round(rooms * rng.normal(0.21, 0.02, n), 3)
    pop = rng.integers(80, 4200, n)
    occup = np.round(rng.normal(2.9, 0.6, n).clip(1, 7), 3)
    ocean = rng.choice(["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"], n, p=[0.44, 0.32, 0.13, 0.105, 0.005])
    df = pd.DataFrame(
        {
            "district_id": np.arange(1, n + 1) + (0 if labelled else 90000),
            "median_income": income,
            "housing_median_age": age,
            "avg_rooms": rooms,
            "avg_bedrooms": bedrooms,
            "population": pop,
            "avg_occupancy": occup,
            "latitude": lat,
            "longitude": lon,
            "ocean_proximity": ocean,
        }
    )
    if labelled:
        value = (
            0.45 + 0.42 * income + 0.006 * age
            + np.select([ocean == "INLAND", ocean == "NEAR BAY", ocean == "ISLAND"], [-0.6, 0.35, 1.2], 0.2)
            - 0.08 * (occup - 2.9) + rng.normal(0, 0.35, n)
        )
        df["median_house_value"] = np.round(value.clip(0.15, 5.0) * 100000, -2)
    df.loc[rng.random(n) < 0.015, "avg_bedrooms"] = np.nan
    return df


def make_housing() -> None:
    _write(_housing(np.random.default_rng(31), 2000, True), "housing.csv")
    _write(_housing(np.random.default_rng(32), 250, False), "housing_new_districts.csv")


# --------------------------------------------------------------------------- store sales (messy)
def _sales(rng: np.random.Generator, weeks: pd.DatetimeIndex, labelled: bool) -> pd.DataFrame:
    stores = np.arange(1, 41)
    size = dict(zip(stores, rng.integers(8, 60, len(stores)) * 1000))
    region = dict(zip(stores, rng.choice(["North", "South", "East", "West"], len(stores))))
    rows = []
    for w in weeks:
        week_no = w.isocalendar().week
        holiday = int(week_no in (1, 22, 27, 36, 47, 48, 51, 52))
        temp = 55 + 25 * np.sin((week_no - 15) / 52 * 2 * np.pi)
        fuel = 3.2 + 0.3 * np.sin(week_no / 9)
        for s in stores:
            promo = int(rng.random() < 0.25)
            t = round(float(temp + rng.normal(0, 6)), 1)
            rows.append([s, w.strftime("%Y-%m-%d"), region[s], size[s], "Y" if promo else "N", holiday, t,
                         round(float(fuel + rng.normal(0, 0.05)), 3), round(float(rng.uniform(0.3, 15)), 1), promo])
    df = pd.DataFrame(rows, columns=["Store ID", "Week Start", "Region ", "Store Size (sqft)", "Promo?",
                                     "Holiday Week", "Avg Temp (F)", "Fuel Price", "Competitor Dist (km)", "_promo"])
    if labelled:
        reg = df["Region "].map({"North": 0.95, "South": 1.05, "East": 1.1, "West": 1.0})
        sales = (
            df["Store Size (sqft)"] * 0.55 * reg * (1 + 0.18 * df["_promo"] + 0.25 * df["Holiday Week"])
            * (1 + 0.004 * (df["Avg Temp (F)"] - 55)) + 900 * np.log1p(df["Competitor Dist (km)"])
            + rng.normal(0, 1500, len(df))
        )
        df["Weekly Sales"] = sales.round(2)
    df = df.drop(columns="_promo")
    n = len(df)
    df.loc[rng.random(n) < 0.03, "Avg Temp (F)"] = np.nan
    df.loc[rng.random(n) < 0.02, "Competitor Dist (km)"] = np.nan
    # the POS export writes the promo flag in three spellings
    df.loc[rng.random(n) < 0.05, "Promo?"] = df["Promo?"].map({"Y": "yes", "N": "no"})
    return df


def make_sales() -> None:
    rng = np.random.default_rng(99)
    df = _sales(rng, pd.date_range("2023-01-02", periods=60, freq="7D"), True)
    dups = df.sample(18, random_state=3)
    df = pd.concat([df, dups]).reset_index(drop=True)
    df.loc[rng.random(len(df)) < 0.004, "Weekly Sales"] = np.nan
    _write(df, "store_sales_2023.csv")
    _write(_sales(np.random.default_rng(100), pd.date_range("2024-02-26", periods=4, freq="7D"), False),
           "store_sales_next4w.csv")


# --------------------------------------------------------------------------- crédito (pt-BR)
UFS = ["SP", "RJ", "MG", "RS", "PR", "BA", "PE", "SC", "GO", "CE"]


def _credito(rng: np.random.Generator, n: int, start: int, labelled: bool, shift: float = 0.0) -> pd.DataFrame:
    idade = rng.integers(19, 75, n)
    renda = np.round(rng.lognormal(8.0 + shift, 0.55, n), 2)
    valor = np.round(renda * rng.uniform(1.5, 12, n), 2)
    prazo = rng.choice([12, 24, 36, 48, 60], n, p=[0.2, 0.3, 0.25, 0.15, 0.1])
    score = rng.normal(620 - 40 * shift, 110, n).clip(150, 990).round(0)
    atrasos = rng.poisson(np.where(score < 500, 2.2, 0.5), n)
    emprego = np.round(rng.exponential(5, n).clip(0, 40), 1)
    df = pd.DataFrame(
        {
            "id_cliente": np.arange(start, start + n),
            "data_contratacao": pd.to_datetime("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 365 if labelled else 60, n) + (0 if labelled else 365), unit="D"),
            "idade": idade,
            "uf": rng.choice(UFS, n, p=[0.3, 0.12, 0.12, 0.08, 0.08, 0.07, 0.06, 0.06, 0.06, 0.05]),
            "estado_civil": rng.choice(["solteiro", "casado", "divorciado", "viuvo"], n, p=[0.42, 0.4, 0.13, 0.05]),
            "escolaridade": rng.choice(["fundamental", "medio", "superior", "pos"], n, p=[0.15, 0.45, 0.3, 0.1]),
            "tipo_residencia": rng.choice(["propria", "alugada", "familia"], n, p=[0.45, 0.4, 0.15]),
            "renda_mensal": renda,
            "valor_emprestimo": valor,
            "prazo_meses": prazo,
            "score_credito": score,
            "qtd_atrasos_12m": atrasos,
            "tempo_emprego_anos": emprego,
            "possui_veiculo": rng.choice(["sim", "nao", "Sim", "NAO"], n, p=[0.38, 0.52, 0.05, 0.05]),
        }
    )
    df["data_contratacao"] = df["data_contratacao"].dt.strftime("%d/%m/%Y")
    df.loc[rng.random(n) < 0.05, "renda_mensal"] = np.nan
    df.loc[rng.random(n) < 0.03, "tempo_emprego_anos"] = np.nan
    df.loc[rng.random(n) < 0.02, "escolaridade"] = np.nan
    if labelled:
        parcela = valor / prazo
        z = (
            -2.1 - 0.007 * (score - 620) + 0.45 * atrasos + 2.2 * (parcela / renda - 0.1)
            - 0.015 * (idade - 40) + 0.3 * (df["tipo_residencia"] == "alugada").to_numpy() - 0.03 * emprego
        )
        df["inadimplente"] = (rng.random(n) < _sigmoid(z)).astype(int)
    return df


def make_credito() -> None:
    df = _credito(np.random.default_rng(55), 3000, 100000, True)
    dups = df.sample(20, random_state=4)
    df = pd.concat([df, dups]).reset_index(drop=True)
    # valor_emprestimo chega com vírgula decimal em parte do arquivo
    df["valor_emprestimo"] = df["valor_emprestimo"].astype(str)
    idx = df.index[np.random.default_rng(56).random(len(df)) < 0.1]
    df.loc[idx, "valor_emprestimo"] = df.loc[idx, "valor_emprestimo"].str.replace(".", ",", regex=False)
    _write(df, "credito_historico.csv")
    _write(_credito(np.random.default_rng(57), 400, 200000, False, shift=0.15), "credito_novos_clientes.csv")


# --------------------------------------------------------------------------- card transactions (monitoring)
MCC = ["grocery", "fuel", "restaurants", "travel", "electronics", "online_retail", "pharmacy"]


def _transactions(rng: np.random.Generator, start: str, days: int, n: int, drift: float) -> pd.DataFrame:
    ts = pd.to_datetime(start) + pd.to_timedelta(np.sort(rng.integers(0, days * 24 * 60, n)), unit="min")
    p = np.array([0.25, 0.14, 0.2, 0.06, 0.08, 0.2, 0.07])
    # over the current period online retail and electronics grow
    p = p + drift * np.array([-0.08, -0.04, -0.03, 0.0, 0.05, 0.12, -0.02])
    mcc = rng.choice(MCC, n, p=p / p.sum())
    amount = np.round(rng.lognormal(3.6 + 0.35 * drift + 0.6 * np.isin(mcc, ["travel", "electronics"]), 0.9, n), 2)
    hour = ts.hour.to_numpy()
    dist = np.round(rng.exponential(12 + 25 * drift, n), 1)
    n24 = rng.poisson(2.5 + 1.5 * drift, n)
    age_days = rng.integers(5, 3650, n)
    foreign = (rng.random(n) < 0.05 + 0.06 * drift).astype(int)
    z = (
        -3.9 + 0.7 * np.log(amount / 40) + 1.2 * foreign + 0.035 * dist + 0.25 * n24
        + 1.2 * ((hour < 6) | (hour > 22)) - 0.0006 * age_days + 0.9 * (mcc == "electronics")
        # the fraud pattern shifts too: online retail fraud the model never saw
        + drift * 2.2 * (mcc == "online_retail")
    )
    df = pd.DataFrame(
        {
            "transaction_id": [f"T{start[:7].replace('-', '')}{i:05d}" for i in range(n)],
            "event_time": ts.strftime("%Y-%m-%d %H:%M"),
            "amount": amount,
            "merchant_category": mcc,
            "hour": hour,
            "distance_from_home_km": dist,
            "n_tx_last_24h": n24,
            "account_age_days": age_days,
            "is_foreign": foreign,
            "is_fraud": (rng.random(n) < _sigmoid(z)).astype(int),
        }
    )
    return df


def make_transactions() -> None:
    ref = _transactions(np.random.default_rng(11), "2024-01-01", 91, 3000, 0.0)
    _write(ref, "transactions_q1.csv")
    weeks = []
    rng = np.random.default_rng(12)
    for k in range(8):
        start = (pd.Timestamp("2024-04-01") + pd.Timedelta(weeks=k)).strftime("%Y-%m-%d")
        weeks.append(_transactions(rng, start, 7, 300, drift=k / 7))
    cur = pd.concat(weeks).reset_index(drop=True)
    cur["transaction_id"] = [f"T2404{i:05d}" for i in range(len(cur))]
    # a broken upstream feed in the last week: missing amounts and negative distances
    last = cur.index[-300:]
    cur.loc[last[rng.random(300) < 0.08], "amount"] = np.nan
    cur.loc[last[rng.random(300) < 0.03], "distance_from_home_km"] = -1.0
    _write(cur, "transactions_apr_may.csv")


def main() -> None:
    make_churn()
    make_flights()
    make_housing()
    make_sales()
    make_credito()
    make_transactions()
    for p in sorted(HERE.glob("*.csv")):
        print(f"{p.name:32s} {p.stat().st_size / 1024:7.1f} KB")


if __name__ == "__main__":
    main()
