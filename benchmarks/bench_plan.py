"""How long `nbsplit plan` takes on a 1,000-cell notebook, stage by stage.

Run: python benchmarks/bench_plan.py [--cells 1000] [--repeat 3]

Prints a table: best-of-N seconds for read, analyze, classify, plan and the whole command in a
fresh process (what a user waits for, imports included). Goal: about a second for 1,000 cells.
Machines are shared and noisy: read the ratios, not single numbers.

The process is timed twice. "bytecode cached" runs it as an installed nbsplit runs (``pip``
compiles the modules at install; here ``PYTHONPYCACHEPREFIX`` in a temporary folder, warmed by one
untimed run, as ``run.py`` and ``bench_hook.py`` do), and nbsplit's own caches beside the
bytecode (``codecache``) are written. "environment as is" keeps this shell's settings: with
``PYTHONDONTWRITEBYTECODE`` set and an editable install (this machine), every process compiles
nbsplit's modules and libcst's dataclass methods from source, about a fifth of the process.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

# Cells in the shape real notebooks have: many short display cells, cleaning, plots, models.
CELL_POOL = [
    "import pandas as pd\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport seaborn as sns",
    "%matplotlib inline\nimport warnings\nwarnings.filterwarnings('ignore')",
    "df{i} = pd.read_csv('data/train.csv')\ndf{i}.head()",
    "df{i}.shape",
    "df{i}.info()",
    "df{i}.describe()",
    "df{i}['Age'].fillna(df{i}['Age'].median(), inplace=True)\ndf{i}.drop_duplicates(inplace=True)",
    "df{i} = df{i}.rename(columns=str.lower)\ndf{i}['date'] = pd.to_datetime(df{i}['date'])",
    "df{i}['target'].value_counts()",
    "plt.figure(figsize=(8, 4))\nsns.histplot(df{i}['age'], bins=30)\nplt.title('Age')\nplt.show()",
    "corr = df{i}.corr(numeric_only=True)\nsns.heatmap(corr, annot=True)",
    "df{i}.groupby('segment')['spend'].agg(['mean', 'count'])",
    "df{i}['ratio'] = df{i}['a'] / (df{i}['b'] + 1)\ndf{i} = pd.get_dummies(df{i}, columns=['city'])",
    "from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX{i} = scaler.fit_transform(df{i}.drop(columns=['target']))\ny{i} = df{i}['target']",
    "from sklearn.model_selection import train_test_split\nX_train, X_test, y_train, y_test = train_test_split(X{i}, y{i}, test_size=0.2, random_state=42)",
    "from sklearn.ensemble import RandomForestClassifier\nmodel = RandomForestClassifier(n_estimators=100, random_state=0)\nmodel.fit(X_train, y_train)\nprint(model.score(X_test, y_test))",
    "from sklearn.metrics import roc_auc_score, classification_report\npred = model.predict(X_test)\nprint(classification_report(y_test, pred))\nroc_auc_score(y_test, model.predict_proba(X_test)[:, 1])",
    "def clean_names(frame):\n    frame.columns = [c.strip().lower().replace(' ', '_') for c in frame.columns]\n    return frame",
    "new = pd.read_csv('data/new.csv')\nnew['score'] = model.predict_proba(scaler.transform(new))[:, 1]\nnew.to_csv('predictions.csv', index=False)",
    "from scipy.stats import ks_2samp\nfor col in ['age', 'spend']:\n    print(col, ks_2samp(df{i}[col], new[col]).pvalue)",
    "!ls data\n%time total = df{i}['spend'].sum()",
    "print 'python 2 cell'",
    "# just a note to self",
    "",
]
MD_POOL = ["## Data cleaning", "## Exploratory analysis", "## Feature engineering", "## Modelo",
           "## Avaliação do modelo", "Some prose about what we saw."]


def make_notebook(n: int, seed: int = 0) -> nbformat.NotebookNode:
    rng = random.Random(seed)
    nb = nbformat.v4.new_notebook()
    for i in range(n):
        if rng.random() < 0.15:
            nb.cells.append(nbformat.v4.new_markdown_cell(rng.choice(MD_POOL)))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(rng.choice(CELL_POOL).format(i=i // 40)))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    return nb


def _names(source: str) -> tuple[set[str], set[str]] | None:
    """(names a cell binds, names it reads from before it), or None if ``ast`` cannot parse it."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    stores: set[str] = set()
    loads: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)  # a parameter: bound inside its function (close enough here)
        elif isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).add(node.id)
    # ``df = df.rename(...)`` reads df from before the cell; ``for col in ...: col`` does not
    return stores, {n for n in loads if n not in stores or _assigned_from_itself(tree, n)}


def _assigned_from_itself(tree: object, name: str) -> bool:
    import ast

    for node in ast.walk(tree):  # type: ignore[arg-type]
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            value_names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if name in value_names:
                return True
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name \
                and isinstance(node.ctx, ast.Load):
            targets = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name
                       and isinstance(n.ctx, ast.Store)]
            if not targets:
                return True
    return False


def make_runnable_notebook(n: int, seed: int = 0) -> nbformat.NotebookNode:
    """Like ``make_notebook`` (same pools), but every code cell parses with ``ast`` and reads
    only names earlier cells bound, so the notebook runs top to bottom as far as names go:
    what soorgeon requires ("ensure that your notebook executes from top-to-bottom")."""
    import builtins

    rng = random.Random(seed)
    nb = nbformat.v4.new_notebook()
    bound = set(dir(builtins))
    sections = 0
    for i in range(n):
        if i == 0 or i > 1 and rng.random() < 0.15:
            # soorgeon splits at H2 headings, drops what comes before the first one and names a
            # task after its heading: the notebook opens with one, and headings are numbered
            sections += 1
            heading = "## Setup" if i == 0 else rng.choice([m for m in MD_POOL if m.startswith("## ")])
            nb.cells.append(nbformat.v4.new_markdown_cell(f"{heading} {sections}"))
            continue
        # the first cell of each block of 40 loads that block's frame, so most draws can follow
        candidates = [CELL_POOL[0]] if i == 1 else [CELL_POOL[2]] if i % 40 == 0 else CELL_POOL
        for _ in range(200):
            source = rng.choice(candidates).format(i=i // 40)
            names = _names(source)
            if names is not None and source.strip() and names[1] <= bound:
                break
        else:
            source = "df{i}.shape".format(i=i // 40)
            names = _names(source)
        assert names is not None
        bound |= names[0]
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    return nb


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from nbsplit.analyze import analyze_notebook
    from nbsplit.classify import classify_notebook
    from nbsplit.config import Config
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.ipynb"
        nbformat.write(make_notebook(args.cells), path)
        t_read, nb = best(lambda: read_notebook(path), args.repeat)
        t_analyze, facts = best(lambda: analyze_notebook(nb), args.repeat)
        t_classify, (cls, diags) = best(lambda: classify_notebook(nb, facts, Config()), args.repeat)
        t_plan, _ = best(lambda: build_plan(nb, facts, cls, diags), args.repeat)
        plan_cmd = [sys.executable, "-m", "nbsplit", "plan", str(path), "--format", "json"]
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        # never the repository as cwd: `python -m` puts the cwd first on sys.path
        subprocess.run(plan_cmd, capture_output=True, check=False, env=cached, cwd=tmp)  # warm the caches
        t_cli, _ = best(lambda: subprocess.run(plan_cmd, capture_output=True, check=False, env=cached, cwd=tmp),
                        args.repeat)
        t_cli_as_is, _ = best(lambda: subprocess.run(plan_cmd, capture_output=True, check=False, cwd=tmp),
                              args.repeat)
        t_startup, _ = best(lambda: subprocess.run([sys.executable, "-m", "nbsplit", "--version"],
                                                   capture_output=True, check=False, env=cached, cwd=tmp),
                            args.repeat)

    total = t_read + t_analyze + t_classify + t_plan
    rows = [("read", t_read), ("analyze", t_analyze), ("classify", t_classify), ("plan", t_plan),
            ("library total", total), ("`nbsplit --version` (startup)", t_startup),
            ("`nbsplit plan` process, bytecode cached", t_cli),
            ("  the same, environment as is", t_cli_as_is)]
    print(f"nbsplit plan on {args.cells} cells, best of {args.repeat}")
    print(f"{'step':<42}{'seconds':>10}{'ms/cell':>10}")
    for name, secs in rows:
        print(f"{name:<42}{secs:>10.3f}{secs * 1000 / args.cells:>10.3f}")


if __name__ == "__main__":
    main()
