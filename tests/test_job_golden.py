"""Golden job/bundle files for two samples.

Regenerate every golden file of the project (these and tests/golden) with one command:
    NBSPLIT_UPDATE_GOLDEN=1 python -m pytest tests/test_render_golden.py tests/test_job_golden.py -q
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from databricks.bundles.jobs import Job
from databricks.sdk.service.jobs import JobSettings

from tests.golden_job.regenerate import CASES, HERE, render_case, write_case

UPDATE = os.environ.get("NBSPLIT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    rendered = render_case(case)
    if UPDATE:
        write_case(case, rendered)
    expected = {p.relative_to(HERE / case).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted((HERE / case).rglob("*")) if p.is_file()}
    assert sorted(rendered) == sorted(expected)
    for name, text in expected.items():
        assert rendered[name] == text, f"{case}/{name} changed: NBSPLIT_UPDATE_GOLDEN=1 python -m pytest tests/test_job_golden.py"
    job = json.loads(expected["job.json"])
    assert Job.from_dict(job).as_dict() == job
    assert JobSettings.from_dict(job).as_dict() == job
    resource = next(yaml.safe_load(t) for n, t in expected.items() if n.startswith("resources/"))
    res_job = resource["resources"]["jobs"][job["name"]]
    assert [t["task_key"] for t in res_job["tasks"]] == [t["task_key"] for t in job["tasks"]]
