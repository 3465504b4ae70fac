from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"

# Every local Spark session of the suite (a JVM per stage kernel, inherited through the
# environment) is short-lived: C1-only JIT and the serial GC start faster and burn far less CPU
# on a 2-core machine (spark_flights' run: 114 s -> 80 s). Spark's results do not change.
os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
