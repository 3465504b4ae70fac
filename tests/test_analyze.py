"""Behaviour of nbsplit.analyze: one cell's source in, CellFacts out.

Each case names only the fields it is about; ``calls`` lists Calls that must be present (with
their receiver/args/keywords), ``call_names`` the exact names in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.analyze import analyze_cell, analyze_notebook, analyze_source
from nbsplit.analyze_text import mask_ipython
from nbsplit.model import Call, Cell, CellFacts, Notebook

SETS = ("defines", "reads", "mutates", "attributes")


def check(facts: CellFacts, expected: dict[str, Any]) -> None:
    for key, want in expected.items():
        if key in SETS:
            assert getattr(facts, key) == frozenset(want), key
        elif key == "reads_include":
            assert set(want) <= facts.reads, key
        elif key == "reads_exclude":
            assert not set(want) & facts.reads, key
        elif key == "attributes_include":
            assert set(want) <= facts.attributes
        elif key == "calls":
            for call in want:
                assert call in facts.calls, f"{call} not in {facts.calls}"
        elif key == "call_names":
            assert [c.name for c in facts.calls] == list(want)
        elif key == "functions":
            assert {f.name: (set(f.free_names), f.is_class) for f in facts.functions} == want
        else:
            assert getattr(facts, key) == want, key


def case(source: str, id: str, **expected: Any) -> Any:
    return pytest.param(source, expected, id=id)


NAME_CASES = [
    case("df = df.dropna()", "rebind-reads-and-defines",
         defines={"df"}, reads={"df"}, mutates=set()),
    case("for i in range(3):\n    total += i", "augassign-in-loop",
         defines={"i"}, reads={"total"}, mutates={"total"}),
    case("x = 1; print(x)", "bound-before-read", defines={"x"}, reads=set()),
    case("y = [a for a in items]", "comprehension-locals", defines={"y"}, reads={"items"}),
    case("m = {k: v * w for k, v in pairs.items() if k in keep}", "dictcomp",
         defines={"m"}, reads={"pairs", "w", "keep"}),
    case("g = (x + off for row in rows for x in row)", "nested-for-genexp",
         reads={"rows", "off"}, defines={"g"}),
    case("def f():\n    return g(df)", "def-free-names",
         defines={"f"}, reads=set(), functions={"f": ({"g", "df"}, False)}),
    case("f()", "call-reads-helper", reads={"f"}),
    case("def f(a, *rest, k=default, **kw):\n    b = a + k\n    return helper(b, rest, kw)",
         "def-params-are-local", reads={"default"},
         functions={"f": ({"helper"}, False)}),
    case("def f():\n    global counter\n    counter = counter + 1", "global-in-function",
         reads=set(), functions={"f": ({"counter"}, False)}),
    case("def outer():\n    def inner():\n        return x + y\n    y = 1\n    return inner",
         "nested-closure", functions={"outer": ({"x"}, False)}),
    case("class Model(Base):\n    scale = 2\n    def fit(self, X):\n        return scale * X\n",
         "class-body-not-enclosing", reads={"Base"}, defines={"Model"},
         functions={"Model": ({"scale"}, True)}),
    case("with open(p) as fh:\n    text = fh.read()", "with-as",
         defines={"fh", "text"}, reads={"p"}),
    case("if (n := len(xs)) > 3:\n    print(n)", "walrus", defines={"n"}, reads={"xs"}),
    case("ys = [z for x in xs if (z := f(x))]\nprint(z)", "walrus-in-comprehension",
         defines={"ys", "z"}, reads={"xs", "f"}),
    case("X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)",
         "tuple-unpacking", defines={"X_train", "X_test", "y_train", "y_test"},
         reads={"train_test_split", "X", "y"}),
    case("first, *rest = items", "starred-target", defines={"first", "rest"}),
    case("del x", "del-name", mutates={"x"}, reads={"x"}, defines=set()),
    case("x = 1\ndel x", "del-local", mutates={"x"}, reads=set(), defines={"x"}),
    case("del df['tmp']", "del-item", mutates={"df"}, reads={"df"}),
    case("n = 0\nn += 1", "augassign-after-define", defines={"n"}, mutates={"n"}, reads=set()),
    case("df.loc[mask, 'a'] = 0", "loc-assignment", mutates={"df"}, reads={"df", "mask"},
         defines=set()),
    case("df['c'] = df['a'] * 2", "column-assignment", mutates={"df"}, reads={"df"}),
    case("obj.attr = 1", "attribute-assignment", mutates={"obj"}, reads={"obj"}),
    case("import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 60", "module-config",
         mutates=set(), defines={"plt"}),
    case("df = load()\ndf['c'] = 1", "mutate-local-not-read",
         mutates={"df"}, reads={"load"}, defines={"df"}),
    case("if cond:\n    x = 1\nprint(x)", "conditional-binding-still-read",
         defines={"x"}, reads={"cond", "x"}),
    case("if cond:\n    x = 1\nelse:\n    x = 2\nprint(x)", "if-else-binds-definitely",
         defines={"x"}, reads={"cond"}),
    case("for row in rows:\n    last = row\nprint(last)", "loop-binding-possibly-unbound",
         reads={"rows", "last"}, defines={"row", "last"}),
    case("try:\n    import xgboost as xgb\nexcept ImportError as err:\n    xgb = None\n"
         "print(xgb)", "try-except-both-bind", defines={"xgb"}, reads=set(),
         imports=(("xgb", "xgboost"),)),
    case("try:\n    risky()\nexcept Exception as e:\n    print(e)", "except-name-is-local",
         reads={"risky"}, defines=set()),
    case("print(len(df), display, id)", "builtins-excluded", reads={"df"}),
    case("fn = lambda r: r.x + offset", "lambda-free-names-read",
         defines={"fn"}, reads={"offset"}),
    case("match cmd:\n    case {'op': op, **rest}:\n        run(op, rest)", "match-pattern",
         reads={"cmd", "run"}, defines={"op", "rest"}),
    case("x: int = compute()\ny: str", "annotated", defines={"x"}, reads={"compute"}),
]

IMPORT_CASES = [
    case("import pandas as pd", "import-as", imports=(("pd", "pandas"),), defines={"pd"}),
    case("import matplotlib.pyplot as plt", "dotted-import-as",
         imports=(("plt", "matplotlib.pyplot"),)),
    case("import os.path", "dotted-import-binds-top", imports=(("os", "os"),), defines={"os"}),
    case("from sklearn.model_selection import train_test_split as tts, KFold",
         "from-import", imports=(("tts", "sklearn.model_selection.train_test_split"),
                                 ("KFold", "sklearn.model_selection.KFold"))),
    case("from x import *", "star-import", imports=(("*", "x"),), defines=set()),
    case("from . import utils\nfrom ..pkg.mod import helper", "relative-imports",
         imports=(("utils", ".utils"), ("helper", "..pkg.mod.helper"))),
    case("from sklearn import (\n    metrics,\n    svm,\n)", "parenthesised-from",
         imports=(("metrics", "sklearn.metrics"), ("svm", "sklearn.svm"))),
]

CALL_CASES = [
    case("import pandas as pd\ndf = pd.read_csv('train.csv')", "resolved-through-import",
         calls=[Call("pandas.read_csv")], strings=("train.csv",)),
    case("from sklearn.model_selection import train_test_split\n"
         "X_tr, X_te, y_tr, y_te = train_test_split(X, y)", "from-import-call",
         calls=[Call("sklearn.model_selection.train_test_split", args=("X", "y"))]),
    case("df.groupby('a').agg({'b': 'sum'})", "chained-call",
         call_names=["df.groupby", "df.groupby().agg"],
         calls=[Call("df.groupby", receiver="df"), Call("df.groupby().agg", receiver="df")]),
    case("model.fit(X_train, y_train)", "method-with-args",
         calls=[Call("model.fit", receiver="model", args=("X_train", "y_train"))],
         mutates={"model"}, display_only=False),
    case("spark.read.format('csv').load(p)", "spark-chain",
         calls=[Call("spark.read.format", receiver="spark"),
                Call("spark.read.format().load", receiver="spark", args=("p",))]),
    case("from sklearn.ensemble import RandomForestClassifier\n"
         "clf = RandomForestClassifier(n_estimators=10)", "constructor-keywords",
         calls=[Call("sklearn.ensemble.RandomForestClassifier", keywords=("n_estimators",))]),
    case("df.dropna(inplace=True)", "inplace-mutates",
         calls=[Call("df.dropna", receiver="df", keywords=("inplace",))], mutates={"df"},
         display_only=False),
    case("df.dropna(inplace=False)", "inplace-false-does-not-mutate", mutates=set(),
         display_only=True),
    case("df['age'].fillna(0, inplace=True)", "inplace-on-column",
         calls=[Call("df[].fillna", receiver="df", keywords=("inplace",))], mutates={"df"}),
    case("print(df.head())", "nested-call-included", call_names=["df.head", "print"],
         calls=[Call("print", args=("df",))]),
    case("results.append(score)", "list-append", mutates={"results"}),
    case("cfg.update(extra)", "dict-update", mutates={"cfg"}),
    case("seen.add(x)", "set-add", mutates={"seen"}),
    case("df.insert(0, 'id', ids)", "df-insert", mutates={"df"}),
    case("X2 = scaler.fit_transform(X)", "fit-transform-mutates-estimator",
         mutates={"scaler"}, defines={"X2"}),
    case("df.copy().sort_values('a', inplace=True)", "temporary-is-not-mutated",
         mutates=set()),
    case("pipe.named_steps['clf'].fit(X, y)", "nested-estimator", mutates={"pipe"}),
    case("preds = [m.predict(X) for m in models]", "call-in-comprehension",
         calls=[Call("m.predict", args=("X",))], mutates=set(), reads={"models", "X"}),
    case("def train(X, y):\n    model = LogisticRegression()\n    model.fit(X, y)\n"
         "    return model", "calls-in-def-go-to-function", call_names=[], mutates=set(),
         functions={"train": ({"LogisticRegression"}, False)}),
    case("', '.join(names)", "string-method", call_names=["str.join"]),
    case("import numpy as np\nnp.log(df['x'])", "import-alias-not-an-arg",
         calls=[Call("numpy.log", args=("df",))]),
    case("get_ipython().run_line_magic('matplotlib', 'inline')", "get-ipython-is-python",
         call_names=["get_ipython", "get_ipython().run_line_magic"], reads=set(),
         display_only=False),
]

MISC_CASES = [
    case("df.shape\ngrid.best_params_", "attributes",
         attributes={"shape", "best_params_"}, display_only=True),
    case("path = f'data/{name}.csv'\nsql = 'SELECT 1' 'FROM t'", "strings-and-fstrings",
         strings=("data/", ".csv", "SELECT 1", "FROM t")),
    case("s = r'C:\\data\\x.csv'\nb = b'\\x00'", "raw-and-bytes",
         strings=("C:\\data\\x.csv", "\x00")),
    case("df.head()", "display-head", display_only=True),
    case("df.describe()\nprint(df.shape)\ndisplay(df)", "display-several", display_only=True),
    case("plt.plot(x, y)\nplt.show()", "plot-is-display", display_only=True),
    case("df.to_csv('out.csv')", "write-is-not-display", display_only=False),
    case("plt.savefig('fig.png')", "savefig-is-not-display", display_only=False),
    case("mlflow.log_metric('auc', auc)", "mlflow-log-not-display", display_only=False),
    case("np.random.seed(42)", "seed-not-display", display_only=False),
    case("spark.sql('DROP TABLE IF EXISTS t')", "sql-ddl-not-display", display_only=False),
    case("spark.sql('SELECT * FROM t').show()", "sql-query-display", display_only=True),
    case("x = 1", "assignment-not-display", display_only=False),
    case("dbutils.widgets.text('env', 'dev')", "widget-not-display", display_only=False),
    case("dbutils.widgets.get('env')", "widget-get-display", display_only=True),
    case("dbutils.fs.ls('/mnt/raw')", "fs-ls-display", display_only=True),
    case("", "empty-cell", display_only=False, defines=set(), parsed=True),
    case("# just a comment", "comment-only", display_only=False, parsed=True),
    case("'''a docstring'''\n", "string-expression", display_only=True),
]

MAGIC_CASES = [
    case("%matplotlib inline\nimport numpy as np", "line-magic",
         magics=("%matplotlib inline",), imports=(("np", "numpy"),), parsed=True),
    case("%time x = f()", "time-code-analysed", magics=("%time x = f()",),
         defines={"x"}, reads={"f"}, call_names=["f"]),
    case("%timeit -n 10 -r 3 f(x)", "timeit-options-stripped",
         reads={"f", "x"}, call_names=["f"], display_only=True),
    case("%%time\nmodel.fit(X, y)", "cell-magic-time",
         magics=("%%time",), mutates={"model"}, reads={"model", "X", "y"}),
    case("%%capture out\n!pip install lightgbm\nimport lightgbm", "capture-binds",
         defines={"out", "lightgbm"}, magics=("%%capture out", "!pip install lightgbm")),
    case("%%writefile train.py\nimport sys\nprint sys.argv", "writefile-not-python",
         magics=("%%writefile train.py",), defines=set(), parsed=True, strings=("train.py",)),
    case("%%sql\nSELECT a, b FROM t WHERE a > 1", "ipython-sql-cell",
         strings=("SELECT a, b FROM t WHERE a > 1",), parsed=True, defines=set()),
    case("%%bash\nls -la\nfor f in *; do echo $f; done", "bash-cell",
         magics=("%%bash",), defines=set(), reads=set(), parsed=True),
    case("!pip install pandas\nimport pandas as pd", "shell-line",
         magics=("!pip install pandas",), defines={"pd"}, display_only=False),
    case("files = !ls data", "shell-assignment", defines={"files"},
         magics=("files = !ls data",)),
    case("!cp {src} {dst}", "shell-interpolation-reads", reads={"src", "dst"}),
    case("df.merge?", "help-suffix", magics=("df.merge?",), reads={"df"}),
    case("??pd.read_csv", "help-prefix", magics=("??pd.read_csv",), reads={"pd"}),
    case("for f in files:\n    %time process(f)\n    !echo done", "indented-magics",
         reads={"files", "process"}, magics=("%time process(f)", "!echo done")),
    case("%load_ext autoreload \\\n    --quiet\nx = 1", "magic-continuation",
         magics=("%load_ext autoreload \\",), defines={"x"}, parsed=True),
    case("x = (a\n     % b)\ny = x % 2", "modulo-not-a-magic",
         defines={"x", "y"}, reads={"a", "b"}, magics=()),
    case("q = '''\n%s rows\n!important\n''' % n", "magic-like-text-in-string",
         magics=(), reads={"n"}, defines={"q"}),
    case("%pip install scikit-learn", "pip-line-magic", magics=("%pip install scikit-learn",),
         display_only=False),
    case("%run ./helpers.ipynb", "run-line-magic", magics=("%run ./helpers.ipynb",)),
    case("rows = %sql SELECT * FROM t", "line-sql-assignment", defines={"rows"},
         strings=("SELECT * FROM t",)),
    case("if True:\n    !ls\n", "magic-alone-in-block", parsed=True),
    case("x = 1\r\ny = x + z\r\n%matplotlib inline\r\n", "crlf",
         defines={"x", "y"}, reads={"z"}, magics=("%matplotlib inline",)),
    case("if a:\n\tb = 1\n\t!ls\n", "tab-indented-shell", defines={"b"}, parsed=True),
    case("%%capture --no-stderr cap\nmodel.fit(X)", "capture-options",
         defines={"cap"}, mutates={"model"}),
    case("%%timeit x = setup()\nrun(x)", "timeit-cell-setup-line",
         defines={"x"}, reads={"run", "setup"}),
    case("%%sql out <<\nSELECT 1", "ipython-sql-binds", defines={"out"}, display_only=False),
    case("import numpy as np\nnp.*load*?", "wildcard-help", magics=("np.*load*?",), parsed=True),
    case("print(x)  # what?", "question-in-comment", magics=(), display_only=True),
    case("%python\nx = 1", "databricks-python-magic", defines={"x"}, parsed=True),
    case("%md ## Title\nmore text", "databricks-md-one-liner", magics=("%md ## Title",),
         parsed=True, defines=set()),
    # IPython's automagic: ``cd``/``ls`` and a path are the magic and the shell alias
    case("cd ../data\ndf = load()", "automagic-cd", magics=("%cd ../data",), defines={"df"},
         reads={"load"}, parsed=True),
    case('cd "/content/drive/My Drive/x"', "automagic-cd-quoted", magics=('%cd "/content/drive/My Drive/x"',),
         parsed=True),
    case("ls $out/artifacts/", "automagic-ls-expansion", magics=("%ls $out/artifacts/",), parsed=True),
    case("cd = 3\nls - cd", "cd-ls-as-names", magics=(), defines={"cd"}, reads={"ls"}, parsed=True),
]

FALLBACK_CASES = [
    case("import pandas as pd\ndf = pd.read_csv('a.csv')\nprint 'rows', len(df)",
         "python2-print", parsed=False, defines={"pd", "df"}, imports=(("pd", "pandas"),),
         calls=[Call("pandas.read_csv")], strings=("a.csv", "rows")),
    case("model = build(\nmodel.fit(X", "half-written", parsed=False,
         reads_include={"build", "X"}),
    case("<<<<<<< HEAD\nx = 1\n=======\nx = 2\n>>>>>>> branch", "merge-conflict",
         parsed=False, defines={"x"}),
    case("df.dropna(inplace=True)\nprint 'ok'", "fallback-inplace", parsed=False,
         mutates={"df"}, reads_include={"df"}),
]


@pytest.mark.parametrize("source,expected", NAME_CASES + IMPORT_CASES + CALL_CASES
                         + MISC_CASES + MAGIC_CASES + FALLBACK_CASES)
def test_cell(source: str, expected: dict[str, Any]) -> None:
    check(analyze_source(source, 3), expected)


def test_fallback_error_is_one_line_with_line_number() -> None:
    facts = analyze_source("x = 1\nprint 'hello'\n", 7)
    assert facts.index == 7
    assert not facts.parsed
    assert facts.error is not None and "\n" not in facts.error
    assert facts.error.startswith("line 2")


def test_magic_lines_keep_line_numbers_for_errors() -> None:
    facts = analyze_source("%matplotlib inline\n!ls\nx = (\n")
    assert not facts.parsed
    assert facts.error is not None and facts.error.startswith("line 4")
    assert facts.magics == ("%matplotlib inline", "!ls")


@pytest.mark.parametrize("line,magic", [
    ("pip install xgboost scikit-learn", "%pip install xgboost scikit-learn"),
    ("conda install -c conda-forge lightgbm", "%conda install -c conda-forge lightgbm"),
    ("matplotlib inline", "%matplotlib inline"),
])
def test_automagic_lines_are_magics_not_python(line: str, magic: str) -> None:
    """IPython runs ``pip install x`` without the ``%`` (automagic); read as Python the words
    became reads of ``pip``, ``install``, ``xgboost`` ("never defined" warnings in 12 strangers'
    notebooks) and the cell fell back to the text-level analysis."""
    facts = analyze_source(f"{line}\nimport pandas as pd\ndf = pd.read_csv('x.csv')")
    assert facts.parsed and facts.magics == (magic,)
    assert facts.reads == frozenset() and facts.defines == {"pd", "df"}


def test_names_like_the_automagics_stay_python() -> None:
    facts = analyze_source("pipeline = make_pipeline(pip)\nconda = 1\nmatplotlib.use('Agg')")
    assert facts.magics == () and {"pip", "make_pipeline", "matplotlib"} <= facts.reads


def test_parsed_cells_have_no_error() -> None:
    facts = analyze_source("x = 1")
    assert facts.parsed and facts.error is None


@pytest.mark.parametrize("source,hostile", [
    ("(" * 400 + ")" * 400, "deep-nesting"),
    ("\x00\x01 garbage \udcff", "binary"),
    ("def f(:\n  pass\n" * 50, "repeated-errors"),
    ("x = '''unterminated", "unterminated-string"),
])
def test_never_raises(source: str, hostile: str) -> None:
    facts = analyze_source(source, 1)
    assert facts.index == 1


@pytest.mark.parametrize("language,source,expected", [
    pytest.param("sql", "%sql\nSELECT * FROM sales WHERE year = 2024",
                 {"magics": ("%sql",), "strings": ("SELECT * FROM sales WHERE year = 2024",),
                  "parsed": True, "display_only": True, "defines": {"_sqldf"}}, id="sql"),
    pytest.param("sql", "%sql\nCREATE TABLE t AS SELECT 1",
                 {"display_only": False, "strings": ("CREATE TABLE t AS SELECT 1",)},
                 id="sql-ddl"),
    pytest.param("sh", "%sh\nls /dbfs/tmp", {"magics": ("%sh",), "strings": (),
                                             "parsed": True, "reads": set()}, id="sh"),
    pytest.param("pip", "%pip install xgboost", {"magics": ("%pip install xgboost",),
                                                 "calls": []}, id="pip"),
    pytest.param("run", "%run ./setup", {"magics": ("%run ./setup",)}, id="run"),
    pytest.param("scala", "%scala\nval x = 1", {"defines": set(), "parsed": True}, id="scala"),
    pytest.param("md", "%md\n# Title", {"magics": ("%md",)}, id="md"),
])
def test_databricks_magic_cells(language: str, source: str, expected: dict[str, Any]) -> None:
    facts = analyze_cell(Cell(index=2, kind="code", source=source, language=language))
    assert facts.index == 2
    check(facts, expected)


def test_databricks_sql_in_python_cell_of_an_ipynb_export() -> None:
    facts = analyze_source("%sql\nSELECT count(*) FROM t")
    assert facts.magics == ("%sql",)
    assert facts.strings == ("SELECT count(*) FROM t",)


def _notebook(*sources: str, markdown_at: tuple[int, ...] = ()) -> Notebook:
    cells = []
    for i, src in enumerate(sources):
        kind = "markdown" if i in markdown_at else "code"
        cells.append(Cell(index=i, kind=kind, source=src))
    return Notebook(path=Path("nb.ipynb"), format="ipynb", cells=tuple(cells))


def test_imports_propagate_through_the_notebook() -> None:
    nb = _notebook(
        "import pandas as pd\nfrom sklearn.metrics import roc_auc_score",
        "# Load",
        "df = pd.read_csv('x.csv')",
        "auc = roc_auc_score(y_test, proba)",
        "metrics = {}\nmetrics.update(a=1)",
        markdown_at=(1,),
    )
    facts = analyze_notebook(nb)
    assert len(facts) == 5 and facts[1] is None
    assert facts[2] is not None and facts[2].calls == (Call("pandas.read_csv"),)
    assert facts[3] is not None
    assert facts[3].calls == (Call("sklearn.metrics.roc_auc_score", args=("y_test", "proba")),)
    # a name rebound as a variable is no longer the import
    assert facts[4] is not None
    assert facts[4].calls == (Call("metrics.update", receiver="metrics", keywords=("a",)),)


def test_import_rebound_in_a_later_cell_stops_resolving() -> None:
    nb = _notebook("from sklearn import metrics", "metrics = {'auc': 0.9}", "metrics.get('auc')")
    facts = analyze_notebook(nb)
    assert facts[2] is not None and facts[2].calls[0] == Call("metrics.get", receiver="metrics")


def test_analyze_cell_matches_notebook_for_a_single_cell() -> None:
    cell = Cell(index=4, kind="code", source="import numpy as np\nnp.mean(x)")
    assert analyze_cell(cell) == analyze_notebook(
        Notebook(path=Path("n.ipynb"), format="ipynb", cells=(cell,)))[0]


def test_markdown_cell_gives_empty_facts() -> None:
    assert analyze_cell(Cell(index=1, kind="markdown", source="# x = 1")) == CellFacts(index=1)


def test_builtin_shadowed_by_an_earlier_cell_is_read() -> None:
    nb = _notebook("id = test['Id']", "sub = pd.DataFrame({'Id': id})")
    facts = analyze_notebook(nb)
    assert facts[1] is not None and "id" in facts[1].reads


def test_a_run_of_a_script_the_notebook_wrote_is_read_as_the_script() -> None:
    nb = _notebook(
        "%%writefile steps/train.py\nlosses = []\nfor epoch in range(n_epochs):\n    model.partial_fit(X, y)\n",
        "%run -i steps/train.py",
        "%run -i ./steps/train.py  # again",
        "%%writefile -a steps/train.py\nscore = model.score(X, y)",
        "%run steps/train.py",
        "%run -m steps.train",
        "%run other.py",
    )
    facts = analyze_notebook(nb)
    run = facts[1]
    assert run is not None and run.defines >= {"losses", "epoch"}
    assert {"n_epochs", "model", "X", "y"} <= run.reads and "model" in run.mutates
    assert run.magics == ()  # no magic line left: the plan does not copy it as configuration
    assert facts[2] is not None and facts[2].defines == run.defines  # ./ and a comment: the same file
    # ``-a`` appends to the body the later run executes
    assert facts[4] is not None and "score" in facts[4].defines and "losses" in facts[4].defines
    # a module, or a file the notebook did not write, stays a magic line
    assert facts[5] is not None and facts[5].magics == ("%run -m steps.train",) and not facts[5].defines
    assert facts[6] is not None and facts[6].magics == ("%run other.py",) and not facts[6].defines
    # the written cell itself runs nothing
    assert facts[0] is not None and not facts[0].defines and not facts[0].reads


def test_string_caps() -> None:
    src = "\n".join(f"s{i} = '{'x' * 300}'" for i in range(80))
    facts = analyze_source(src)
    assert len(facts.strings) == 50
    assert all(len(s) == 200 for s in facts.strings)


@pytest.mark.parametrize("source,expected", [
    case("type Frame = dict[str, Column]", "type-alias", defines={"Frame"}, reads={"Column"}),
    case("msg = t'{user} logged in'", "template-string", defines={"msg"}, reads={"user"}),
    case("async def main():\n    async with session() as s:\n        await fetch(s, url)",
         "async-def", functions={"main": ({"session", "fetch", "url"}, False)}),
    case("d = {**base, 'k': v}\nz = m[1:2, ::step]", "dict-unpack-and-slices",
         reads={"base", "v", "m", "step"}, defines={"d", "z"}),
    case("@register(name)\ndef f():\n    pass", "decorator-runs-at-definition",
         reads={"register", "name"}, call_names=["register"]),
])
def test_other_syntax(source: str, expected: dict[str, Any]) -> None:
    check(analyze_source(source), expected)


# Lines real cells are made of, valid and not, so that random cells mix magics, strings that
# look like magics, open brackets and broken code.
_FRAGMENTS = [
    "import pandas as pd", "df = pd.read_csv('a.csv')", "df.head()", "%matplotlib inline",
    "%time x = f(df)", "!pip install x", "files = !ls", "df.merge?", "%%time", "%%bash",
    "x = (1 +", "     2)", "y = x % 3", "s = '''", "%not a magic inside a string", "'''",
    "if x:", "    z = 1", "    %time g()", "else:", "    pass", "print 'py2'", "<<<<<<< HEAD",
    "def f(a):", "    return a.b(c)", "class K:", "    attr = [i for i in r]", "# comment?",
    "q = f'{a}' \\", "  + 'b'", "del q", "for i in range(3): total += i", "\t!echo {x}",
    "", "    ", "??np.mean", "lambda: (", ")", "\"unterminated", "x = %sql SELECT 1",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12))
def test_any_cell_is_analysed_without_raising(lines: list[str]) -> None:
    source = "\n".join(lines)
    facts = analyze_source(source, 5)
    assert facts.index == 5
    assert (facts.error is None) == facts.parsed or not source.strip()
    assert mask_ipython(source).source.count("\n") == source.count("\n")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12))
def test_masking_leaves_valid_python_alone(lines: list[str]) -> None:
    source = "\n".join(lines)
    try:
        libcst.parse_module(source)
    except libcst.ParserSyntaxError:
        return
    assert mask_ipython(source).source == source


def test_throwaway_underscore_is_never_a_read() -> None:
    nb = _notebook("fpr, tpr, _ = roc_curve(y, p)", "for _ in range(3):\n    pass\nprint(_)")
    facts = analyze_notebook(nb)
    assert facts[0] is not None and "_" in facts[0].defines
    assert facts[1] is not None and "_" not in facts[1].reads


COLUMN_CASES = [
    # cleaning an existing column: the value reads the column it replaces
    ('df["Age"] = df["Age"].fillna(df["Age"].median())', [("df", "Age", True, False, "fillna")], ()),
    ("df['fare'] = df.fare.astype(float)", [("df", "fare", True, False, "astype")], ()),
    ('df["n"] += 1', [("df", "n", True, False, "const")], ()),
    ('df.loc[df.grad > 100, "grad"] = 100', [("df", "grad", False, True, "const")], ()),
    ('df.loc[:, "x"] = 0', [("df", "x", False, False, "const")], ()),
    ('df[["a", "b"]] = df[["a", "b"]].astype(int)', [("df", "a", True, False, "astype"),
                                                     ("df", "b", True, False, "astype")], ()),
    # loops over columns: the key is a variable, read in the value
    ("for c in cats:\n    df[c] = le.fit_transform(df[c])", [("df", "", True, False, "fit_transform")], ()),
    # deriving a new column from others (``.dt.year`` is not column "year")
    ('df["ratio"] = df["a"] / df.b', [("df", "ratio", False, False, "op")], ()),
    ('train["year"] = train["datetime"].dt.year', [("train", "year", False, False, "")], ()),
    ('df = df.withColumn("age", F.col("age").cast("int")).withColumn("flag", F.lit(1))',
     [("df", "age", True, False, "cast"), ("df", "flag", False, False, "lit")], ()),
    ("df = df.assign(r=df.x * 2)", [("df", "r", False, False, "op")], ()),
    # subsets, not column writes
    ("df = df[df.age > 0]", [], (("df", "rows"),)),
    ("df = df.loc[df['x'].isin([1, 2])]", [], (("df", "rows"),)),
    ("head = df[:100]", [], (("head", "rows"),)),
    ('X = df[["a", "b"]]', [], (("X", "columns"),)),
    ('y = df["target"]', [], ()),
    # helper bodies are not the cell's own writes
    ('def add(d):\n    d["x"] = 1\n    return d', [], ()),
]


@pytest.mark.parametrize("source, writes, subsets", COLUMN_CASES)
def test_column_writes_and_subsets(source: str, writes: list[tuple], subsets: tuple) -> None:
    facts = analyze_source(source)
    assert [(w.frame, w.column, w.reads_itself, w.rows, w.via) for w in facts.column_writes] == writes
    assert facts.subsets == subsets


VALUE_SHAPE_CASES = [
    # (source, kind, refs, attrs, arith, codes, a word that must be among the value's words)
    ('df["fam"] = df["sib"] + df.parch + 1', "subscript", {"sib"}, {"parch"}, True, False, "df"),
    ('df["sex"] = df["sex"].map({"male": 0, "female": 1})', "subscript", {"sex"}, set(), False, True, "map"),
    ('df["sex"] = df["sex"].map({"male": "m"})', "subscript", {"sex"}, set(), False, False, "map"),
    ('df["g"] = df["g"].str.lower().map(g_map)', "subscript", {"g"}, set(), False, True, "str"),
    ('df["g"] = df["g"].map(mapping)', "subscript", {"g"}, set(), False, False, "map"),  # as the old regex: from the 2nd letter
    ('df["y"] = np.where(df["a"].dt.year > 2000, 1, 0)', "subscript", {"a"}, {"year"}, True, False, "where"),
    ('df["r"] = df["a"] & df["b"]', "subscript", {"a", "b"}, set(), False, False, "df"),
    ('s = s.withColumn("d", F.when(F.col("z") > 1, 1))', "withColumn", {"z"}, set(), True, False, "when"),
    ('df = df.assign(r=df.x * 2)', "assign", set(), {"x"}, True, False, "x"),
]


@pytest.mark.parametrize("source, kind, refs, attrs, arith, codes, word", VALUE_SHAPE_CASES)
def test_column_write_value_shape(source: str, kind: str, refs: set[str], attrs: set[str], arith: bool,
                                  codes: bool, word: str) -> None:
    (w,) = analyze_source(source).column_writes
    assert (w.kind, set(w.refs), set(w.attrs), w.arith, w.codes) == (kind, refs, attrs, arith, codes)
    assert word in w.words


def _helper(source: str) -> Any:
    (fi,) = analyze_source(source, 0).functions
    return fi


@pytest.mark.parametrize("source, params, globals_", [
    ("def f(df):\n    df['a'] = 1", {"df"}, set()),
    ("def f(df, cols):\n    df.drop(columns=cols, inplace=True)", {"df"}, set()),
    ("def f(m, X, y):\n    m.fit(X, y)", {"m"}, set()),
    ("def f(df):\n    del df['a']\n    df.b = 2", {"df"}, set()),
    # a copy is the body's own object; so is a parameter rebound before the change
    ("def f(df):\n    out = df.copy()\n    out['a'] = 1\n    return out", set(), set()),
    ("def f(df):\n    df = df.copy()\n    df['a'] = 1\n    return df", set(), set()),
    # globals: changed in place, or assigned under `global`
    ("def f():\n    results.append(1)\n    df['a'] = 0", set(), {"results", "df"}),
    ("def f():\n    global best\n    best = 3", set(), {"best"}),
    # locals of nested scopes and module configuration are not the caller's
    ("def f(rows):\n    g = lambda r: r.append(1)\n    return [x.update() for x in rows]",
     set(), set()),
    ("def f():\n    import matplotlib.pyplot as plt\n    plt.rcParams['a'] = 1", set(), set()),
    ("def f(df, *, inplace):\n    df.x.fillna(0, inplace=inplace)", {"df"}, set()),
], ids=["subscript", "inplace", "fit", "del-and-attr", "copy", "rebound", "globals",
        "global-stmt", "nested-locals", "import-config", "kwonly-chain"])
def test_helper_records_what_its_body_changes(source: str, params: set[str],
                                             globals_: set[str]) -> None:
    fi = _helper(source)
    assert set(fi.changed_params) == params
    assert set(fi.changed_globals) == globals_


def test_plain_name_calls_record_the_variables_passed() -> None:
    facts = analyze_source("clean(train, 3, cols=c, inplace=True)\nf(*parts, df)\ndf.fillna(x)", 0)
    assert [c.passed for c in facts.calls] == [((0, "train"), ("cols", "c")), (), ()]


def test_a_bare_call_of_a_helper_changing_its_argument_changes_that_variable() -> None:
    nb = _notebook(
        "def add_band(frame, col='m'):\n    frame['band'] = frame[col] > 1\n\n"
        "def fit_on(est, X, y):\n    est.fit(X, y)\n\ndef prepare(d):\n    add_band(d)\n",
        "df = pd.read_csv('x.csv')",
        "add_band(df)",
        "fit_on(model, X_train, y_train)",
        "prepare(col='z', d=test)",
        "print(add_band)\nother(df)",
    )
    facts = analyze_notebook(nb)
    band, fit, nested, shown = facts[2], facts[3], facts[4], facts[5]
    assert band is not None and band.mutates == {"df"} and "df" in band.reads
    assert not band.display_only
    assert fit is not None and fit.mutates == {"model"}
    assert nested is not None and nested.mutates == {"test"}
    assert shown is not None and shown.mutates == frozenset()


def test_a_helper_redefined_later_changes_only_what_the_definition_in_force_changes() -> None:
    nb = _notebook(
        "def f(df):\n    df['a'] = 1",
        "f(train)",
        "def f(df):\n    return df.assign(a=1)",
        "f(test)",
    )
    facts = analyze_notebook(nb)
    assert facts[1] is not None and facts[1].mutates == {"train"}
    assert facts[3] is not None and facts[3].mutates == frozenset() and facts[3].display_only


def test_lists_of_variables_and_loops_over_them_are_recorded() -> None:
    facts = analyze_source(
        "combine = [train_df, test_df]\npair = (a, b)\nmixed = [a, 1]\nsets = {'tr': a, 'te': b}\n"
        "for d in combine:\n    d['x'] = 1\nfor df in [train_df, test_df]:\n    print(df.shape)\n"
        "if ok:\n    later = [a]\n", 0)
    assert facts.containers == (("combine", ("train_df", "test_df")), ("pair", ("a", "b")),
                                ("sets", ("a", "b")))
    assert facts.loops == ((("d",), ("combine",), ()), (("df",), (), ("train_df", "test_df")))
    loops = analyze_source(
        "for name, model in models.items():\n    model.fit(X, y)\n"
        "for i, (a, b) in enumerate(zip(xs, [p, q])):\n    pass\n"
        "for k in d.keys():\n    pass\nfor c in range(3):\n    pass", 0).loops
    assert loops == ((("name", "model"), ("models",), ()), (("i", "a", "b"), ("xs",), ("p", "q")))


def test_a_loop_changing_its_variable_changes_the_frames_it_runs_over() -> None:
    nb = _notebook(
        "train_df = pd.read_csv('a.csv')\ntest_df = pd.read_csv('b.csv')\ncombine = [train_df, test_df]",
        "for dataset in combine:\n    dataset['Title'] = dataset.Name.str.extract('(Mr)')",
        "for df in [train_df, test_df]:\n    df.drop(columns=['Name'], inplace=True)",
        "for df in [train_df, test_df]:\n    print(df.shape)",
        "def clean(frame):\n    frame.dropna(inplace=True)",
        "for d in dfs:\n    clean(d)",
        "train_df = train_df.drop(columns=['A'])",
        "for dataset in combine:\n    dataset['B'] = 0",
    )
    facts = analyze_notebook(nb)
    assert facts[1] is not None and facts[1].mutates == {"dataset", "combine", "train_df", "test_df"}
    assert {"combine", "train_df", "test_df"} <= facts[1].reads
    assert facts[2] is not None and facts[2].mutates == {"df", "train_df", "test_df"}
    assert facts[3] is not None and facts[3].mutates == frozenset()
    # a list nobody here built: the list itself is what changes
    assert facts[5] is not None and facts[5].mutates == {"d", "dfs"}
    # after train_df is rebound, the list still holds the old frame, not the new train_df
    assert facts[7] is not None and facts[7].mutates == {"dataset", "combine", "test_df"}


def test_fitting_the_models_of_a_dict_in_a_loop_changes_the_dict() -> None:
    nb = _notebook(
        "models = {'lr': LogisticRegression(), 'dt': DecisionTreeClassifier()}",
        "for name, model in models.items():\n    model.fit(X_train, y_train)",
        "for name, model in models.items():\n    print(name, model.score(X_test, y_test))",
        "for m in models.values():\n    m.set_params(C=2)",
        "frames = {'train': train, 'test': test}",
        "for key, frame in frames.items():\n    frame.fillna(0, inplace=True)",
    )
    facts = analyze_notebook(nb)
    assert facts[1] is not None and facts[1].mutates == {"model", "models"}
    assert facts[2] is not None and facts[2].mutates == frozenset()
    assert facts[3] is not None and facts[3].mutates == {"m", "models"}
    assert facts[5] is not None and facts[5].mutates == {"frame", "frames", "train", "test"}


@pytest.mark.parametrize("source, changed", [
    ("import numpy as np\nnp.random.shuffle(X)", {"X"}),
    ("import random\nrandom.shuffle(items)", {"items"}),
    ("rng.shuffle(idx)", {"idx"}),
    ("model.train()", {"model"}),
    ("optimizer.zero_grad()\nloss.backward()\noptimizer.step()", {"optimizer"}),
    ("m.add_regressor('temp')", {"m"}),
    ("booster.load_model('model.json')", {"booster"}),
    ("import mlflow\nloaded = mlflow.pyfunc.load_model(uri)", set()),
    ("import numpy as np\nnp.random.permutation(X)", set()),
], ids=["np-shuffle", "random-shuffle", "generator-shuffle", "torch-train", "optimizer",
        "prophet-regressor", "booster-load", "mlflow-load", "permutation"])
def test_calls_that_change_an_object_in_place(source: str, changed: set[str]) -> None:
    facts = analyze_source(source, 0)
    assert facts.mutates == frozenset(changed)
    assert not facts.display_only or not changed


def test_helpers_calling_each_other_in_a_cycle_change_what_either_changes() -> None:
    nb = _notebook(
        "def a(df, n):\n    df['a'] = n\n    if n:\n        b(df, n - 1)\n\n"
        "def b(frame, n):\n    a(frame, n)\n    log.append(n)\n",
        "b(train, 3)",
        # thirty helpers each calling all the others: followed once each
        "\n".join(f"def h{i}(x):\n    " + "; ".join(f"h{j}(x)" for j in range(30)) + "\n" for i in range(30))
        + "def h30(x):\n    x.fit()\n",
        "h0(model)",
    )
    facts = analyze_notebook(nb)
    assert facts[1] is not None and facts[1].mutates == {"train", "log"}
    assert facts[3] is not None and facts[3].mutates == frozenset()


def test_a_helper_in_a_cycle_changes_the_same_whichever_helper_a_cell_calls_first() -> None:
    # b reaches c only through a: b's changes must include c's even when a was followed first
    defs = ("def a(x):\n    b(x)\n    c(x)\n\n"
            "def b(y):\n    a(y)\n\n"
            "def c(z):\n    z['k'] = 1\n")
    for first, second in (("a", "b"), ("b", "a")):
        facts = analyze_notebook(_notebook(defs, f"{first}(t1)", f"{second}(t2)"))
        assert facts[1] is not None and facts[1].mutates == {"t1"}, first
        assert facts[2] is not None and facts[2].mutates == {"t2"}, first


# A cell indented as a whole (a stray space pasted in front of every line) runs in Jupyter: the
# kernel's first input transform (IPython's ``leading_indent``) removes the first line's
# indentation from every line that starts with it. The analysis reads it the same way.
_INDENTED_CELLS = [
    " df.info()",
    " df['a']=df['a'].astype(float)\n df['b']=df['b'].astype(float)",
    "\n\n   x = 1\ny = x",
    "  # a comment first\ndef f(a):\n    if a:\n        return a\n    return 0",
    "\tq = load()\n\tr = q.copy()",
    " import numpy as np \nnums = df.select_dtypes(include=[np.number])",
    "  def evaluate_model(model, X):\n    # predict\n    return model.predict(X)\n",
    "    \n  a = 1\n  b = [a,\n1]",
]


def test_an_indented_cell_defines_and_reads_its_names() -> None:
    facts = analyze_source(" import pandas as pd\n df = pd.read_csv('data/sales.csv')\n df.head()", 3)
    assert facts.parsed
    assert facts.defines == {"df", "pd"}
    assert ("pd", "pandas") in facts.imports
    later = analyze_source(" clean = df.dropna()\n clean.describe()", 4)
    assert later.parsed and later.reads == {"df"} and later.defines == {"clean"}


# IPython's call escapes at the start of a statement (``EscapedCommand``, on whatever autocall
# says): ``/f a b`` runs ``f(a, b)``, ``,f a b`` runs ``f("a", "b")``, ``;f a b`` runs ``f("a b")``.
_ESCAPED_CALLS = [
    "/print df",
    ",describe train test",
    ";print hello world",
    "import os\n;os.listdir data/raw\nfiles = 1",
    "for c in cols:\n    /plot_hist df c",
    "  ;display.max_rows",
]


@pytest.mark.parametrize("source", _INDENTED_CELLS + _ESCAPED_CALLS)
def test_a_cell_is_read_as_the_kernel_runs_it(source: str) -> None:
    import ast

    transforms = pytest.importorskip("IPython.core.inputtransformer2")
    as_run = ast.dump(ast.parse(transforms.TransformerManager().transform_cell(source)))
    masked = mask_ipython(source).source
    assert masked.count("\n") == source.count("\n")
    assert ast.dump(ast.parse(masked)) == as_run
    facts = analyze_source(source, 0)
    assert facts.parsed and facts.error is None


def test_a_semicolon_alone_that_hides_a_plots_value_is_nothing() -> None:
    # IPython runs a lone ';' as ("") (the line after train.hist(...) that hides its repr)
    facts = analyze_source("sns.set()\ntrain.hist(bins=60)\n;", 5)
    assert facts.parsed and facts.reads == {"sns", "train"}
    assert mask_ipython("train.hist(bins=60)\n;  \n").source == "train.hist(bins=60)\npass\n"


def test_an_escaped_call_reads_its_names_and_a_continuation_comma_stays_code() -> None:
    facts = analyze_source("/plot_hist df 'Age'", 2)
    assert facts.parsed and facts.reads >= {"plot_hist", "df"}
    quoted = analyze_source(",plot_hist df Age", 3)
    assert quoted.parsed and quoted.reads == {"plot_hist"}  # the words are strings
    # a line that starts with a comma inside brackets is Python, not an escape
    source = "cols = [\n    'a'\n    ,'b']"
    assert mask_ipython(source).source == source and analyze_source(source, 4).parsed


def test_only_the_first_lines_indentation_is_removed() -> None:
    # IPython keeps a line that does not start with the first line's indentation as it is, so a
    # cell whose later line is less indented stays a syntax error, in the kernel and here.
    source = "    a = 1\n  b = 2"
    assert mask_ipython(source).source == "a = 1\n  b = 2"
    assert not analyze_source(source, 0).parsed


@pytest.mark.parametrize("source, name", [
    ('if "preprocessor" not in globals():\n    preprocessor = build()', "preprocessor"),
    ("if 'train_df' not in locals():\n    train_df = load()\nprint(train_df.shape)", "train_df"),
    ('model = globals().get("best_model")', "best_model"),
    ('ready = "X_train" in dir() and "y_train" in vars()', "X_train"),
    ('def restore():\n    if "scaler" not in globals():\n        return None\n    return 1', "scaler"),
])
def test_a_presence_check_of_a_name_reads_it(source: str, name: str) -> None:
    """The cell acts on whether an earlier cell bound the name: a stage must hold what the
    monolith held there (a stage that lacked it rebuilt the preprocessor differently)."""
    facts = analyze_source(source)
    if source.startswith("def"):
        assert name in facts.functions[0].free_names
    else:
        assert name in facts.reads


def test_a_presence_check_of_what_the_cell_then_binds_is_no_undefined_read() -> None:
    facts = analyze_source('if "df" not in globals():\n    df = load()')
    assert "df" in facts.reads and "df" in facts.self_bound_reads


@pytest.mark.parametrize("source", [
    'flag = "churn" in columns',
    'if "region" in df.columns:\n    df = df.drop(columns="region")',
    'if "not a name" in globals():\n    pass',
    'if "class" in globals():\n    pass',
])
def test_other_membership_tests_read_no_name_from_a_string(source: str) -> None:
    facts = analyze_source(source)
    assert not facts.reads & {"churn", "region", "class", "not a name"}


@pytest.mark.parametrize("source,defines,reads", [
    ("%store -r df model\nprint(df.shape)", {"df", "model"}, set()),
    ("%store df\n%store -d old\n%store -r\n%store -z", set(), {"df"}),
    ("%store report >report.txt", set(), {"report"}),
    ("for name in names:\n    %store -r cache\n    use(cache, name)", {"name", "cache"}, {"names", "use"}),
])
def test_store_magic_restores_and_saves_names(source: str, defines: set[str], reads: set[str]) -> None:
    """``%store -r df`` binds ``df`` (from IPython's database: a strangers' notebook restores what
    another notebook stored), so a later stage is handed it instead of finding it never defined;
    ``%store df`` saves, a read of ``df``."""
    facts = analyze_source(source)
    assert facts.parsed and facts.defines == defines and facts.reads == reads
    assert not facts.display_only


@pytest.mark.parametrize("source,defines,reads", [
    ('globals()["df"] = load()', {"df"}, {"load"}),
    ('vars()["x"] = 1\nprint(x)', {"x"}, set()),
    ("globals()[name] = 1", set(), {"name"}),  # a computed name: nothing to follow
    ('d = {}\nd["k"] = 1', {"d"}, set()),
])
def test_an_assignment_through_globals_binds_the_name(source: str, defines: set[str], reads: set[str]) -> None:
    facts = analyze_source(source)
    assert facts.defines == defines and facts.reads == reads


def test_an_assignment_through_globals_in_a_function_changes_that_global() -> None:
    via_globals = analyze_source('def f():\n    globals()["model"] = fit()\nf()').functions[0]
    via_statement = analyze_source("def f():\n    global model\n    model = fit()\nf()").functions[0]
    assert via_globals.changed_globals == via_statement.changed_globals == {"model"}
