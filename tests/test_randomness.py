"""Randomness the split carries (numpy/random global state) and the one it only warns about."""

from __future__ import annotations

from nbsplit.model import Stage
from nbsplit.plan import RNG_STATE
from tests.test_plan import plan_of, stage


def test_torch_seeded_in_one_stage_and_drawn_in_another_is_warned() -> None:
    plan = plan_of(
        ("setup", "import torch"),
        ("data-prep", "torch.manual_seed(0)\nx = torch.rand(10)"),
        ("training", "w = torch.randn(3)\nprint(w)"),
    )
    [d] = [d for d in plan.diagnostics if "global generator" in d.message]
    assert d.cell == 2 and "cell 1 (data-prep)" in d.message and "torch.manual_seed" in d.message


def test_torch_seeded_in_setup_copied_to_every_stage_is_not_warned() -> None:
    plan = plan_of(
        ("setup", "import torch\ntorch.manual_seed(0)"),
        ("training", "w = torch.randn(3)"),
    )
    assert not [d for d in plan.diagnostics if "global generator" in d.message]


def test_unseeded_search_after_a_global_seed_loads_the_generator_state() -> None:
    plan = plan_of(
        ("setup", "import numpy as np\nfrom sklearn.model_selection import RandomizedSearchCV, train_test_split\nnp.random.seed(42)"),
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf['noise'] = np.random.normal(size=len(df))"),
        ("featurization", "X_train, X_test, y_train, y_test = train_test_split(df, df['y'])"),
        ("training", "search = RandomizedSearchCV(est, grid, n_iter=3)\nsearch.fit(X_train, y_train)"),
    )
    featurization, training = stage(plan, Stage.FEATURIZATION), stage(plan, Stage.TRAINING)
    assert featurization.loads[RNG_STATE] is Stage.DATA_PREP
    assert training.loads[RNG_STATE] is Stage.FEATURIZATION


def test_torch_seed_in_a_setup_cell_every_stage_runs_is_not_warned() -> None:
    plan = plan_of(
        ("setup", "import torch\ntorch.manual_seed(0)"),
        ("data-prep", "x = torch.rand(10)"),
        ("training", "w = torch.randn(3) + x"),
    )
    assert not [d for d in plan.diagnostics if "global generator" in d.message]
