"""Global library configuration set once (rcParams, themes, print options, warning filters) is
state every later cell of the monolith runs under: later stages get the statement like setup."""

from __future__ import annotations

import pytest

from nbsplit.dataflow import config_statements
from nbsplit.model import Stage
from nbsplit.reserved import VIEW_PREFIX
from nbsplit.sparkuse import spark_stages
from tests.test_plan import plan_of, stage

ALIASES = {"plt": "matplotlib.pyplot", "sns": "seaborn", "pd": "pandas", "np": "numpy",
           "warnings": "warnings", "mpl": "matplotlib", "rcParams": "matplotlib.rcParams",
           "ps": "pyspark.pandas"}


@pytest.mark.parametrize("source", [
    pytest.param('plt.rcParams["figure.figsize"] = (10, 6)', id="rcparams-item"),
    pytest.param("plt.rcParams.update({'font.size': 9})", id="rcparams-update"),
    pytest.param("rcParams['axes.grid'] = True", id="from-import-rcparams"),
    pytest.param("mpl.rc('axes', titlesize=12)", id="matplotlib-rc"),
    pytest.param("plt.style.use('ggplot')", id="style"),
    pytest.param("sns.set_theme(style='whitegrid')", id="seaborn-theme"),
    pytest.param("sns.set(font_scale=1.2)", id="seaborn-set"),
    pytest.param("pd.set_option('display.max_columns', 50)", id="pandas-option"),
    pytest.param("pd.options.display.float_format = '{:.2f}'.format", id="pandas-options-attr"),
    pytest.param("np.set_printoptions(precision=3)", id="numpy-print"),
    pytest.param("warnings.filterwarnings('ignore')", id="warnings"),
    pytest.param("spark.conf.set('spark.sql.shuffle.partitions', 8)", id="spark-conf"),
    pytest.param("ps.set_option('display.max_rows', 8)", id="pandas-on-spark-option"),
    pytest.param("ps.options.compute.default_index_type = 'distributed'", id="pandas-on-spark-options-attr"),
    pytest.param("ps.reset_option('compute.ops_on_diff_frames')", id="pandas-on-spark-reset"),
])
def test_configuration_statements_are_found(source: str) -> None:
    found = config_statements("x = 1\n" + source + "\nprint(x)", ALIASES)
    assert [(pos, text) for pos, text, _ in found] == [(1, source)]


@pytest.mark.parametrize("source", [
    pytest.param("df.set_index('a')", id="frame-method"),
    pytest.param("plt.plot([1, 2])", id="plot"),
    pytest.param("settings = {'rc': 1}", id="plain-dict"),
    pytest.param("np.random.seed(0)", id="seed-is-rng-not-config"),
    pytest.param("ax.set_title('x')", id="axes-set"),
    pytest.param("n = ps.get_option('compute.max_rows')", id="pandas-on-spark-get-option"),
])
def test_other_statements_are_not_configuration(source: str) -> None:
    assert config_statements(source, ALIASES) == []


def test_rcparams_set_in_a_stage_reach_every_later_stage_with_their_import() -> None:
    plan = plan_of(
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')"),
        ("eda", 'import matplotlib.pyplot as plt\nimport seaborn as sns\nplt.rcParams["figure.figsize"] = (10, 6)\nsns.set_theme(style="whitegrid")\ndf.plot()'),
        ("training", "m = df.mean()\nplt.plot(m)"),
        ("evaluation", "print(m)"),
    )
    training = stage(plan, Stage.TRAINING).imports
    assert 'plt.rcParams["figure.figsize"] = (10, 6)' in training
    assert 'sns.set_theme(style="whitegrid")' in training
    assert "import seaborn as sns" in training and "import matplotlib.pyplot as plt" in training
    assert training.index("import matplotlib.pyplot as plt") < training.index('plt.rcParams["figure.figsize"] = (10, 6)')
    assert 'sns.set_theme(style="whitegrid")' in stage(plan, Stage.EVALUATION).imports
    # the stage before the setting runs without it, as the monolith's earlier cells did
    assert not any("rcParams" in t for t in stage(plan, Stage.DATA_PREP).imports)
    eda = stage(plan, Stage.EDA).imports
    assert not any("rcParams" in t for t in eda)  # it is in eda's own cell


def test_pandas_on_spark_options_set_in_a_stage_reach_the_later_spark_stages() -> None:
    # ps keeps its options in the session's conf: a stage's fresh session lacks them unless the
    # statement runs there too (display.max_rows changes every frame's repr, the index type its values)
    plan = plan_of(
        ("setup", "import pyspark.pandas as ps"),
        ("data-prep", "psdf = ps.read_csv('a.csv').dropna()\nps.set_option('display.max_rows', 8)\n"
                      "ps.options.compute.default_index_type = 'distributed'"),
        ("eda", "print(psdf.sort_values('id'))"),
        ("featurization", "psdf['r'] = psdf['a'] / psdf['b']"),
    )
    for s in (Stage.EDA, Stage.FEATURIZATION):
        imports = stage(plan, s).imports
        assert imports == ("import pyspark.pandas as ps", "ps.set_option('display.max_rows', 8)",
                           "ps.options.compute.default_index_type = 'distributed'"), s
    assert stage(plan, Stage.DATA_PREP).imports == ("import pyspark.pandas as ps",)  # in its own cell
    assert {Stage.EDA, Stage.FEATURIZATION} <= set(spark_stages(plan))  # where a session holds them


def test_run_magic_in_a_stage_cell_reruns_in_later_stages() -> None:
    plan = plan_of(
        ("data-prep", "%run ./prep_utils.py\nimport pandas as pd\ndf = clean_columns(pd.read_csv('a.csv'))"),
        ("featurization", "X = add_ratios(df)"),
    )
    assert "%run ./prep_utils.py" in stage(plan, Stage.FEATURIZATION).imports
    assert not any("%run" in t for t in stage(plan, Stage.DATA_PREP).imports)


@pytest.mark.parametrize("write", [
    pytest.param("clean.write.mode('overwrite').saveAsTable('flights_clean')", id="saveAsTable"),
    pytest.param("spark.sql('CREATE OR REPLACE TABLE flights_clean AS SELECT * FROM raw_v')", id="create-table"),
])
def test_tables_cross_stages_like_temp_views(write: str) -> None:
    plan = plan_of(
        ("data-prep", "raw = spark.read.csv('f.csv')\nraw.createOrReplaceTempView('raw_v')\nclean = raw.dropna()"),
        ("data-prep", write),
        ("featurization", "feats = spark.table('flights_clean').select('a')"),
        ("training", "n = spark.sql('SELECT COUNT(*) FROM flights_clean').first()[0]"),
    )
    assert [h.name for h in stage(plan, Stage.FEATURIZATION).handoffs_in] == [VIEW_PREFIX + "flights_clean"]
    assert [h.name for h in stage(plan, Stage.TRAINING).handoffs_in] == [VIEW_PREFIX + "flights_clean"]


def test_a_qualified_table_is_left_to_the_metastore() -> None:
    plan = plan_of(
        ("data-prep", "df = spark.range(3)\ndf.write.saveAsTable('main.sales.clean')"),
        ("training", "n = spark.table('main.sales.clean').count()"),
    )
    assert not any(h.name.startswith(VIEW_PREFIX) for h in stage(plan, Stage.TRAINING).handoffs_in)


def test_in_place_change_through_an_alias_is_a_new_version_of_both_names() -> None:
    plan = plan_of(
        ("data-prep", "import pandas as pd\nraw = pd.read_csv('a.csv')\ndf = raw"),
        ("data-prep", "df.dropna(inplace=True)"),
        ("featurization", "feats = raw[['a']]"),
    )
    [h] = [h for h in stage(plan, Stage.FEATURIZATION).handoffs_in if h.name == "raw"]
    assert h.version == 1  # saved after the dropna, not after read_csv


def test_alias_made_and_changed_in_one_cell() -> None:
    plan = plan_of(
        ("data-prep", "import pandas as pd\nraw = pd.read_csv('a.csv')"),
        ("data-prep", "df = raw\ndf['x'] = 1"),
        ("featurization", "feats = raw[['x']]"),
    )
    [h] = [h for h in stage(plan, Stage.FEATURIZATION).handoffs_in if h.name == "raw"]
    assert h.version == 1


def test_rebinding_ends_the_alias() -> None:
    plan = plan_of(
        ("data-prep", "import pandas as pd\nraw = pd.read_csv('a.csv')\ndf = raw\ndf = df.copy()"),
        ("data-prep", "df.dropna(inplace=True)"),
        ("featurization", "feats = raw[['a']]"),
    )
    [h] = [h for h in stage(plan, Stage.FEATURIZATION).handoffs_in if h.name == "raw"]
    assert h.version == 0


def test_alias_changed_in_a_stage_that_does_not_hold_the_other_name_is_warned() -> None:
    """Strict (nothing moves): the change through ``df`` is lost to stages reading ``raw``, and
    the plan says so. Lenient: the placement keeps the two cells in one stage instead."""
    cells = (
        ("data-prep", "import pandas as pd\nraw = pd.read_csv('a.csv')\ndf = raw"),
        ("featurization", "df['x'] = 1"),
        ("training", "m = raw['x'].mean()"),
    )
    strict = plan_of(*cells, strict=True)
    assert any("same object as `raw`" in d.message and d.cell == 1 for d in strict.diagnostics)
    lenient = plan_of(*cells)
    by_cell = {i: sp.stage for sp in lenient.stages for i in sp.cells}
    assert by_cell[0] is by_cell[1]
    assert not any("same object" in d.message for d in lenient.diagnostics)


def test_the_notebooks_own_session_builder_is_carried_with_its_import() -> None:
    plan = plan_of(
        ("data-prep", "from pyspark.sql import SparkSession\nspark = (SparkSession.builder.master('local[1]')\n"
                      "         .config('spark.sql.shuffle.partitions', '2').getOrCreate())\n"
                      "spark.sparkContext.setLogLevel('ERROR')\ndf = spark.read.csv('a.csv')"),
        ("featurization", "from pyspark.ml.feature import StringIndexer\nix = StringIndexer(inputCol='a', outputCol='b').fit(df)\n"
                          "n = spark.range(3).count()"),
    )
    assert "spark" not in stage(plan, Stage.FEATURIZATION).loads  # built there, not loaded
    assert "spark" not in stage(plan, Stage.DATA_PREP).saves
    assert not [d for d in plan.diagnostics if "cannot be saved" in d.message]
    imports = stage(plan, Stage.FEATURIZATION).imports
    assert "from pyspark.sql import SparkSession" in imports
    assert any(t.startswith("spark = (SparkSession.builder.master('local[1]')") for t in imports)
    assert "spark.sparkContext.setLogLevel('ERROR')" in imports


def test_a_setting_made_after_some_of_a_stages_cells_comes_right_before_its_later_ones() -> None:
    # Kaggle house-prices kernel: a training plot, then an evaluation cell resizes figures, then
    # more training. The first training plot must keep the default size, as in the monolith.
    plan = plan_of(
        ("data-prep", "import pandas as pd\nimport matplotlib\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('a.csv')"),
        ("training", "cv = df.mean()\ncv.plot(title='Validation')"),
        ("evaluation", "matplotlib.rcParams['figure.figsize'] = (8.0, 10.0)\ncv.plot(kind='barh')"),
        ("training", "m2 = df.median()\nm2.plot()"),
    )
    training = stage(plan, Stage.TRAINING)
    assert "matplotlib.rcParams['figure.figsize'] = (8.0, 10.0)" not in training.imports
    assert training.inline == ((3, "matplotlib.rcParams['figure.figsize'] = (8.0, 10.0)"),)
    assert "import matplotlib" in training.imports
