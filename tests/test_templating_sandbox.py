"""User templates (``--templates DIR``) render in Jinja's sandbox: a template that reaches for
Python internals is a one-line error naming the template, and nothing it asked for runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nbsplit.errors import NbsplitError
from nbsplit.render.templating import render

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_notebooks" / "churn_pandas.ipynb"

ESCAPES = [
    pytest.param('{{ cycler.__init__.__globals__.os.system("touch {marker}") }}', id="cycler-globals"),
    pytest.param('{{ joiner.__init__.__globals__.os.system("touch {marker}") }}', id="joiner-globals"),
    pytest.param("{{ ''.__class__.__mro__[1].__subclasses__() }}{{ lipsum.__globals__.os.system('touch {marker}') }}",
                 id="str-mro"),
    pytest.param('{{ namespace.__init__.__globals__["os"].system("touch {marker}") }}', id="namespace-globals"),
]


def _user_templates(tmp_path: Path, body: str) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    folder = tmp_path / "templates" / "notebook"
    folder.mkdir(parents=True)
    (folder / "parameters.py.j2").write_text(body.replace("{marker}", str(marker)), encoding="utf-8")
    return folder.parent, marker


@pytest.mark.parametrize("body", ESCAPES)
def test_library_refuses_unsafe_template(tmp_path: Path, body: str) -> None:
    templates, marker = _user_templates(tmp_path, body)
    with pytest.raises(NbsplitError) as info:
        render("notebook/parameters.py.j2", {"parameters": {"x": 1}}, user_dir=templates)
    message = str(info.value)
    assert "parameters.py.j2:1" in message and "unsafe" in message and "\n" not in message
    assert not marker.exists()


def test_cli_refuses_unsafe_template_with_one_line(tmp_path: Path) -> None:
    templates, marker = _user_templates(tmp_path, ESCAPES[0].values[0])
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "nbsplit", "convert", str(SAMPLE), "--out", str(out),
                           "--templates", str(templates)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "parameters.py.j2:1" in lines[0] and "unsafe" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists() and not out.exists()


def test_safe_user_template_still_renders(tmp_path: Path) -> None:
    templates, _ = _user_templates(tmp_path, "{% for n, v in parameters.items() %}{{ n }} = {{ v | pyrepr }}\n{% endfor %}")
    assert render("notebook/parameters.py.j2", {"parameters": {"x": "a'b"}}, user_dir=templates) == "x = \"a'b\"\n"
