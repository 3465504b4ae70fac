"""Input text reaching an output file is escaped for that file's language (nbsplit.render.escape):
each function's output parses back, in its language, to exactly the input value and nothing else;
a hostile notebook name, title or option cannot add YAML/JSON keys or Python lines."""

from __future__ import annotations

import ast
import io
import json
import shlex
import tokenize
from pathlib import Path

import nbformat
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.convert import convert_notebook
from nbsplit.errors import NbsplitError
from nbsplit.read import read_notebook
from nbsplit.render import escape
from nbsplit.render.job import JobOptions

# Text that has broken out of quoting somewhere: line breaks of every kind, quotes, YAML and
# Jinja syntax, bundle interpolation, surrogates an undecodable file name decodes to.
NASTY = st.lists(st.one_of(
    st.sampled_from(["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x00", "\t", "\x7f",
                     "'", '"', "\\", "`", "```", ": ", "#", "- ", "{{", "}}", "${", "%", "\udc80", "\ufeff",
                     "\U000e0001", "\U0001f600", "é", " "]),
    st.characters(codec="utf-8")), max_size=20).map("".join)
FAST = settings(max_examples=150, deadline=None)

HOSTILE = 'evil\npermissions:\n  - user_name: "attacker@example.com"\n    level: CAN_MANAGE\n# {{ x }} ${var.catalog}: `'


@FAST
@given(NASTY)
def test_yaml_scalar_reads_back_verbatim(text: str) -> None:
    document = yaml.safe_load(f"a.b: {escape.yaml_scalar(text)}\n{escape.yaml_key(text)}: 1\nc.d: 2\n")
    assert document == {"a.b": text, text: 1, "c.d": 2}


@FAST
@given(NASTY)
def test_yaml_comment_stays_a_comment(text: str) -> None:
    assert yaml.safe_load(f"# {escape.yaml_comment(text)}\nkey: 1\n") == {"key": 1}


@FAST
@given(NASTY)
def test_json_text_reads_back_verbatim(text: str) -> None:
    encoded = escape.json_text({"name": text, "list": [text]}, indent=2)
    assert json.loads(encoded) == {"name": text, "list": [text]}
    assert escape.json_text(text).isprintable()
    encoded.encode("utf-8")  # no lone surrogate reaches the file


@FAST
@given(st.lists(NASTY, max_size=4), st.sampled_from([None, 1, 2]))
def test_json_text_escapes_exactly_the_non_printables_outside_line_breaks(texts: list[str], indent: int | None) -> None:
    # the definition, character by character (json_text works line by line for speed)
    plain = json.dumps({t: texts for t in texts}, indent=indent, ensure_ascii=False)
    expected = "".join(ch if ch == "\n" else escape._json_escape(ch) for ch in plain)
    assert escape.json_text({t: texts for t in texts}, indent=indent) == expected


@FAST
@given(NASTY)
def test_python_literal_and_comment(text: str) -> None:
    source = f"x = {escape.py_literal(text)}  # {escape.py_comment(text)}\ny = {escape.py_literal([text, {text: 1}])}\n"
    tree = ast.parse(source)
    assert len(tree.body) == 2
    assert ast.literal_eval(tree.body[0].value) == text
    assert ast.literal_eval(tree.body[1].value) == [text, {text: 1}]
    comments = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    assert len(comments) == 1


@FAST
@given(NASTY)
def test_shell_word_and_markdown_code_are_one_line(text: str) -> None:
    word = escape.sh_arg(text)
    assert word.isprintable()
    if text.isprintable():
        assert shlex.split(word) == [text]
    span = escape.md_code(text)
    assert span.isprintable() and span.startswith("`") and span.endswith("`")


@pytest.mark.parametrize("name", ["a b", "x\ny", "os.system('x')", "class", "1a", ""])
def test_python_identifier_refuses_code(name: str) -> None:
    with pytest.raises(NbsplitError):
        escape.py_identifier(name)


def test_python_literal_refuses_objects() -> None:
    with pytest.raises(NbsplitError):
        escape.py_literal(object())
    assert escape.py_literal(float("inf")) == "float('inf')"
    assert escape.py_literal((1,)) == "(1,)"


def _hostile_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('data.csv')"),
        nbformat.v4.new_code_cell("df.describe()"),
    ]
    nb.cells[1].metadata["title"] = "load\nimport os; os.system('touch pwned')"
    nb.cells[2].metadata["application/vnd.databricks.v1+cell"] = {"title": "look\n# COMMAND ----------\n%sh rm -rf /"}
    path = folder / (HOSTILE + ".ipynb")
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("fmt", ["ipynb", "databricks", "percent"])
def test_hostile_names_and_titles_add_no_keys(tmp_path: Path, fmt: str) -> None:
    source = _hostile_notebook(tmp_path)
    out = tmp_path / "out"
    convert_notebook(source, out, fmt=fmt, job_options=JobOptions(catalog=HOSTILE, schema=HOSTILE,
                                                                     workspace_dir="/" + HOSTILE))
    bundle = yaml.safe_load((out / "databricks.yml").read_text(encoding="utf-8"))
    assert set(bundle) == {"bundle", "include", "sync", "variables", "targets"}
    assert bundle["variables"]["catalog"]["default"] == HOSTILE
    assert bundle["variables"]["schema"]["default"] == HOSTILE
    resources = list((out / "resources").glob("*.yml"))
    assert len(resources) == 1
    job_resource = yaml.safe_load(resources[0].read_text(encoding="utf-8"))
    assert set(job_resource) == {"resources"} and list(job_resource["resources"]) == ["volumes", "jobs"]
    job = json.loads((out / "job.json").read_text(encoding="utf-8"))
    assert set(job) == {"name", "description", "tags", "max_concurrent_runs", "queue", "parameters",
                        "job_clusters", "tasks", "schedule"}
    assert HOSTILE in job["description"]
    parameters = {p["name"]: p["default"] for p in job["parameters"]}
    assert parameters["catalog"] == HOSTILE and parameters["schema"] == HOSTILE
    assert all(t["notebook_task"]["notebook_path"].startswith("/" + HOSTILE + "/") for t in job["tasks"])
    manifest = json.loads((out / "nbsplit-manifest.json").read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert not any(line.startswith(("permissions", "  - user_name", "# {{")) for line in readme.splitlines())
    titles: set[str | None] = set()
    for stage in sorted(out.glob("0*")):
        text = stage.read_text(encoding="utf-8")
        for line in text.splitlines():  # the titles' payloads stay inside comments
            assert not line.startswith(("import os; os.system", "%sh", "permissions")), (stage.name, line)
        cells = read_notebook(stage).cells
        assert not any(c.source.startswith("%sh") for c in cells)
        titles |= {c.title or c.metadata.get("title") for c in cells}
    if fmt == "percent":  # percent keeps a title exactly, line breaks included
        assert {"load\nimport os; os.system('touch pwned')", "look\n# COMMAND ----------\n%sh rm -rf /"} <= titles
    if fmt == "databricks":  # a Databricks title is one line
        assert "look # COMMAND ---------- %sh rm -rf /" in titles
