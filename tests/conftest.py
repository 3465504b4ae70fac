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


# Under pytest-xdist (`-n 2 --dist loadgroup`, the README's test command) a module's tests stay on
# one worker (its module-scoped fixtures are made once), except the sample pipelines: each sample
# is its own group (one pipeline run each, 2-4 minutes under load), and those groups are queued
# first so that the two workers end together instead of one finishing every pipeline alone.
HEAVY_FIRST = ("tests/test_pipeline_samples.py", "tests/test_faithful_cases.py")


# tryfirst: xdist's own hook turns the xdist_group marks into scopes, so it must see them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # xdist's workers see dist "no" and the flag "loadgroup"; the controller sees dist "loadgroup"
    if not (getattr(config.option, "loadgroup", False) or getattr(config.option, "dist", "no") == "loadgroup"):
        return
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        callspec = getattr(item, "callspec", None)
        group = module
        if module in HEAVY_FIRST and callspec is not None:
            # no "]" in a group name: xdist reads the part after the last "@" as the group
            # only when no "]" follows it (else every test becomes a scope of its own)
            group = f"{module}:{callspec.id.split('-')[0]}"
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in HEAVY_FIRST)
