from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"

# Every local Spark session of the suite (a JVM per stage kernel, inherited through the
# environment) is short-lived: C1-only JIT and the serial GC start faster and burn far less CPU
# on a 2-core machine (spark_flights' run: 114 s -> 80 s). Spark's results do not change.
os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

# nbsplit's cache (the empty MLflow store every run's store is copied from) lives with the
# session, not in the user's ~/.cache: the first run of the suite makes it, the others copy it.
if "NBSPLIT_CACHE_DIR" not in os.environ:
    os.environ["NBSPLIT_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="nbsplit-cache-")
    atexit.register(shutil.rmtree, _CACHE, True)


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
