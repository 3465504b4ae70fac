from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
