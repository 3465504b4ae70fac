"""Every ``.py`` nbsplit writes (Databricks source, Jupytext percent) reads back to exactly the
cells written: same kinds, sources and titles (and tags, in percent), whatever the cells hold:
separator and marker lines inside strings, ``# MAGIC``/``# DBTITLE`` look-alikes, magics,
``%%`` lines in Markdown, quotes, line breaks in titles.

Normalisations are the formats' own and are spelled out here: a code cell's leading and trailing
blank lines belong to the separator (both formats), and a Databricks title is one line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.model import Cell
from nbsplit.read.databricks import databricks_title, dump_databricks, read_databricks, trim_blank_lines
from nbsplit.read.percent import dump_percent, read_percent

# Lines that are, or nearly are, cell boundaries or escapes in one of the formats.
HOSTILE_LINES = [
    "# COMMAND ----------", "#COMMAND ---------------", "  # COMMAND ----------  ", "# MAGIC %sh rm -rf /",
    "# MAGIC", "# DBTITLE 1,owned", "# DBTITLE 0,x", "%python", "%md", "%md-sandbox", "%sql", "%sh ls",
    "%pip install x", "%%sql", "%%timeit", "%matplotlib inline", "!pip install x", "?x",
    "# %%", "# %% [markdown]", "#%%", "# %% title tags=[\"a\"]", "## %% nested", "#  %time x", "# # %%",
    "%%", "%% latex comment", "  %% x", "\\%% escaped", "\\\\%%", "# %matplotlib", "# !ls", "#", "# ",
    "'''", '"""', "x = '''", "'''  # end", "s = \"# COMMAND ----------\"", "", " ", "\t", "\x0c", "pass",
    "x = 1", "# ---", "---", "print('\u2028')", "a\x85b", "é 😀", "[markdown]", "tags=[\"x\"]",
]
LINES = st.one_of(st.sampled_from(HOSTILE_LINES),
                  st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12))
# The first line decides a lot (magic cell? title?), so it is a hostile one more often.
SOURCES = st.one_of(
    st.lists(LINES, max_size=6).map("\n".join),
    st.tuples(st.sampled_from(HOSTILE_LINES), st.lists(LINES, max_size=5)).map(lambda t: "\n".join([t[0], *t[1]])),
)
TITLES = st.one_of(st.none(), st.lists(st.one_of(st.sampled_from(
    ["\n", "\r\n", " ", "[markdown]", "[raw]", "a=1", "tags=[\"x\"]", "# COMMAND ----------", "%sh",
     "# MAGIC", "'", '"', "=", "[", "]", "\u2028", "\x85"]), st.text(max_size=5)), max_size=5).map("".join))
# Tags nbsplit accepts (read/validate.py refuses empty ones, commas and control characters);
# hostile ones for a marker line still among them.
TAGS = st.lists(st.one_of(st.sampled_from(["nbsplit:eda", "a [raw] b", "x=1", "[markdown]", "tags=[\"y\"]"]),
                          st.text(max_size=6)).filter(
                    lambda t: t.strip() and "," not in t and not any(ord(c) < 32 or ord(c) == 127 for c in t)),
                max_size=3, unique=True).map(tuple)


@st.composite
def cells(draw: st.DrawFn, with_tags: bool) -> tuple[Cell, ...]:
    out = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["code", "markdown"]))
        out.append(Cell(index=i, kind=kind, source=draw(SOURCES), title=draw(TITLES),
                        language="md" if kind == "markdown" else "python",
                        tags=draw(TAGS) if with_tags else ()))
    return tuple(out)


def _expected_source(cell: Cell) -> str:
    return trim_blank_lines(cell.source) if cell.kind == "code" else cell.source


@settings(max_examples=300, deadline=None)
@given(cells(with_tags=False))
def test_databricks_source_reads_back_the_cells_written(written: tuple[Cell, ...]) -> None:
    text = dump_databricks(written)
    back = read_databricks(text, "x.py").cells
    assert [c.kind for c in back] == [c.kind for c in written], text
    assert [c.source for c in back] == [_expected_source(c) for c in written], text
    assert [c.title for c in back] == [None if c.title is None else databricks_title(c.title) for c in written], text
    assert dump_databricks(back) == text  # and writing what was read changes nothing


@settings(max_examples=300, deadline=None)
@given(cells(with_tags=True))
def test_percent_reads_back_the_cells_written(written: tuple[Cell, ...]) -> None:
    text = dump_percent(written, {"kernelspec": {"name": "python3", "language": "python"}})
    back = read_percent(text, "x.py").cells
    assert [c.kind for c in back] == [c.kind for c in written], text
    assert [c.source for c in back] == [_expected_source(c) for c in written], text
    assert [c.title for c in back] == [c.title for c in written], text
    assert [c.tags for c in back] == [c.tags for c in written], text
    assert dump_percent(back, {"kernelspec": {"name": "python3", "language": "python"}}) == text
