"""The CI/CD workflow of MLOps level 2 (``nbsplit convert --level 2 [--ci github|azure]``).

One workflow, from a Jinja template (``ci/github.yml.j2`` -> ``.github/workflows/<job>.yml``, or
``ci/azure-pipelines.yml.j2`` -> ``azure-pipelines.yml``), every value through the YAML filters:

1. ``check``: install nbsplit, ``nbsplit check`` the source notebook against this folder (tags,
   backward dependencies, and NBS107 when the stages are stale), the project's tests
   (``python -m pytest``), ``databricks bundle validate``;
2. deploy to the bundle's ``staging`` target (pushes to the main branch only);
3. deploy to ``prod`` after an approval: a GitHub environment with required reviewers, or an
   Azure Pipelines environment with an approval check.

The bundle (:mod:`nbsplit.render.bundle`) declares the matching ``staging`` target at level 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbsplit import __version__
from nbsplit.render.escape import sh_arg
from nbsplit.render.templating import render

__all__ = ["CI_TARGETS", "ci_files", "ci_file_name"]

CI_TARGETS = ("staging", "prod")  # deployed in this order; prod after an approval
BRANCH = "main"
PYTHON_VERSION = "3.11"
# nbsplit has no release yet: the workflow installs this pip requirement (a git URL works too).
NBSPLIT_PACKAGE = "nbsplit"
# The Databricks CLI's own installer (the CLI is a Go binary, not on PyPI).
CLI_INSTALL = "curl -fsSL https://raw.githubusercontent.com/databricks/setup-cli/main/install.sh | sh"


def ci_file_name(ci: str, job_key: str) -> str:
    return "azure-pipelines.yml" if ci == "azure" else f".github/workflows/{job_key}.yml"


def ci_files(ci: str, *, job_key: str, source_name: str, source_path: str,
             templates: Path | None = None) -> dict[str, str]:
    """``{file name: text}`` for the chosen CI system. ``source_path`` is the source notebook's
    path from the output folder (where the check runs)."""
    package_ref = "$(NBSPLIT_PACKAGE)" if ci == "azure" else "$NBSPLIT_PACKAGE"
    context: dict[str, Any] = {
        "version": __version__,
        "job_key": job_key,
        "source_name": source_name,
        "branch": BRANCH,
        "python_version": PYTHON_VERSION,
        "pipeline_dir": ".",
        "nbsplit_package": NBSPLIT_PACKAGE,
        # The variable stays unquoted inside double quotes: the shell expands it, one word.
        "install_command": f'python -m pip install "{package_ref}" pytest',
        "check_command": f"nbsplit check {sh_arg(source_path)} --stages .",
        # pytest exits 5 when a project has no tests: nothing to fail on.
        "test_command": "python -m pytest -q || test $? -eq 5",
        "cli_install": CLI_INSTALL,
        "targets": list(CI_TARGETS),
        "first_target": CI_TARGETS[0],
    }
    template = "ci/azure-pipelines.yml.j2" if ci == "azure" else "ci/github.yml.j2"
    return {ci_file_name(ci, job_key): render(template, context, user_dir=templates)}
