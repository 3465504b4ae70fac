"""Text-level helpers of ``nbsplit.analyze``: IPython masking and the regex fallback.

``mask_ipython`` turns a cell that uses IPython syntax (``%magic``, ``%%cell_magic``, ``!shell``,
``obj?``) into plain Python with the SAME number of lines, so libcst can parse it and every line
number the parser reports still points at the notebook cell. ``fallback_facts`` is what we say
about a cell libcst cannot parse (Python 2, half-written code, merge conflict markers): regexes,
never an exception.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import warnings
from dataclasses import dataclass, field
from typing import Mapping

from nbsplit.model import Call, CellFacts
from nbsplit.languages import DATABRICKS_MAGICS

# IPython/Jupyter names that behave like builtins in a notebook: reading them never needs an
# earlier cell. Databricks' ``spark``/``dbutils``/``sc`` are deliberately NOT here: a notebook may
# create ``spark`` in a setup cell, so the plan decides which names are ambient.
NOTEBOOK_BUILTINS: frozenset[str] = frozenset(
    {"display", "displayHTML", "get_ipython", "In", "Out", "_", "__", "___", "_i", "_ii", "_iii",
     "_ih", "_oh", "_dh", "exit", "quit"}
)
BUILTIN_NAMES: frozenset[str] = frozenset(dir(builtins)) | NOTEBOOK_BUILTINS

STRING_CAP = 50  # literals kept per cell
STRING_LEN = 200  # characters kept per literal
SQL_LEN = 4000  # a %sql cell's text is the whole signal, so it gets a longer cap

# Cell magics whose body is Python (analysed); any other cell magic's body is not Python.
PY_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit",
                                 "python", "python3", "cache", "skip_if", "spark", "pyspark"})
# Databricks cell languages (first line ``%sql`` alone) that are not Python.
DATABRICKS_LANGS = DATABRICKS_MAGICS

_TIMEIT_OPTS = re.compile(r"^(?:-[nrp]\s*\S+\s+|-[tcqo]\s+|-[tcqo]$)*")
_CAPTURE_OPTS = re.compile(r"--no-(?:stdout|stderr|display)")
# ``^[ \t]*[\w, ]+=`` written so the two runs cannot trade spaces (quadratic on a long blank
# line); the second branch keeps the old pattern's all-space name part (``"   = !ls"``).
_CANDIDATE = re.compile(
    r"^[ \t]*+[%!?]|^[ \t]*(?:[\w,][\w, ]*+=|(?<= )=)[ \t]*+[!%]|\?[ \t]*+\r?$"
    r"|^[ \t]*+(?:pip|conda|mamba|matplotlib|cd|ls)[ \t]|^[ \t]*+[/,;](?:[A-Za-z_]|[ \t]*+\r?$)", re.MULTILINE
)
# IPython's call escapes at a statement's start: ``/f a b`` is ``f(a, b)``, ``,f a b`` is
# ``f("a", "b")`` and ``;f a b`` is ``f("a b")`` (``EscapedCommand``, whatever autocall says).
_ESCAPED_CALL = re.compile(r"([/,;])([A-Za-z_][\w.]*+)(?:[ \t](.*))?")
# IPython's automagic runs ``pip install x`` and ``matplotlib inline`` without the ``%``; as
# Python the two words side by side are a syntax error, so such a line is always the magic.
# ``cd``/``ls`` followed by a path (``cd ../data``, ``cd /content/drive/MyDrive``, ``ls $out``) are
# the magic and the shell alias too: nobody divides a variable named ``cd`` by ``content``.
_AUTOMAGIC = re.compile(r"(?:(?:pip|conda|mamba)[ \t]+(?:install|uninstall|freeze|list|show|download|update|remove)"
                        r"|matplotlib[ \t]+(?:inline|notebook|widget|ipympl|agg|qt|tk))\b"
                        r"|(?:cd|ls)[ \t]++(?!(?:and|or|in|is|not|if|else|for)\b)"
                        r"(?:[\w~.\"'$\\]|[/-](?![ \t=]))")
_LINE_MAGIC = re.compile(r"%(\w+)[ \t]*(.*)$", re.DOTALL)
_ASSIGN_MAGIC = re.compile(
    r"^((?:[A-Za-z_]\w*[ \t]*,[ \t]*)*[A-Za-z_]\w*)[ \t]*=[ \t]*(!|%{1,2})(.*)$", re.DOTALL
)
_HELP = re.compile(r"^(\?{1,2})?([A-Za-z_][\w.]*)(?:\(\))?[ \t]*(\?{1,2})?[ \t]*$")
_BRACE_NAME = re.compile(r"\{([A-Za-z_]\w*)\}")
_TOKEN = re.compile(r"""(?P<q>'''|\"\"\"|'|")|(?P<c>\#)|(?P<o>[(\[{])|(?P<x>[)\]}])""")
_CLOSERS = {q: re.compile(r"\\.|" + re.escape(q), re.DOTALL) for q in ("'''", '"""', "'", '"')}


@dataclass
class Masked:
    """The Python to parse plus what masking learnt about the IPython lines."""

    source: str
    magics: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)  # SQL of %sql lines, %%writefile targets
    shell_reads: list[str] = field(default_factory=list)  # {name} interpolated in ! lines
    defines: list[str] = field(default_factory=list)  # %%capture out, %%sql out <<
    python_body: bool = True  # False for %%bash, %%sql, %%writefile ...: nothing to parse
    quiet: bool = True  # only %time/%timeit/%matplotlib/help: a display cell stays display-only


@dataclass
class _ScanState:
    quote: str | None = None  # open triple quote carried to the next line
    depth: int = 0  # open brackets
    cont: bool = False  # the previous line ended with a backslash


def _find_close(line: str, start: int, quote: str) -> int:
    """Index just after the closing ``quote`` at or after ``start``, -1 if the line has none."""
    for m in _CLOSERS[quote].finditer(line, start):
        if m.group() == quote:
            return m.end()
    return -1


def _scan(line: str, st: _ScanState) -> None:
    """Advance the bracket/string state over one physical line of Python."""
    i = 0
    if st.quote is not None:
        j = _find_close(line, 0, st.quote)
        if j < 0:
            return
        st.quote, i = None, j
    comment = False
    while True:
        m = _TOKEN.search(line, i)
        if m is None:
            break
        kind = m.lastgroup
        if kind == "q":
            q = m.group()
            j = _find_close(line, m.end(), q)
            if j < 0:
                if len(q) == 3:
                    st.quote = q
                    st.cont = False
                    return
                break  # unterminated one-line string: the parser will report it
            i = j
            continue
        if kind == "c":
            comment = True
            break
        if kind == "o":
            st.depth += 1
        else:
            st.depth = max(0, st.depth - 1)
        i = m.end()
    st.cont = not comment and line.rstrip("\r").endswith("\\")


def _timeit_code(rest: str) -> str:
    return _TIMEIT_OPTS.sub("", rest.strip(), count=1).strip()


def _is_sql_query(sql: str) -> bool:
    words = sql.upper().split()
    if not words or words[0] not in {"SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH",
                                      "FROM", "VALUES", "TABLE"}:
        return False
    return not any(w in _SQL_WRITES for w in words)


_SQL_WRITES = frozenset({"INSERT", "CREATE", "DROP", "DELETE", "UPDATE", "MERGE", "ALTER",
                         "TRUNCATE", "OPTIMIZE", "VACUUM", "COPY", "REPLACE", "CACHE", "REFRESH",
                         "USE", "SET", "GRANT", "REVOKE", "OVERWRITE"})


def sql_writes(sql: str) -> bool:
    """True when a SQL statement changes tables/state (DDL or DML), not a plain query."""
    words = sql.upper().split()
    return bool(words) and words[0] in _SQL_WRITES


def _first_code_line(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if line.strip():
            return i
    return -1


_LEADING_INDENT = re.compile(r"[ \t]+")


def _dedent_like_ipython(lines: list[str], first: int) -> bool:
    """IPython's ``leading_indent`` input transform, in place: when the cell's first non-blank
    line is indented, that exact indentation is removed from every line starting with it. The
    kernel runs `` df.info()`` (a stray space pasted in front) as a statement, so the analysis
    must read it as one too, not as an IndentationError. True when lines changed."""
    if first < 0 or lines[first][:1] not in (" ", "\t"):
        return False
    prefix = _LEADING_INDENT.match(lines[first]).group()  # type: ignore[union-attr]
    n = len(prefix)
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            lines[i] = line[n:]
    return True


def leading_indent(source: str) -> str:
    """``source`` as the IPython kernel sees it before anything else (``_dedent_like_ipython``);
    the same line count, so line numbers still point at the cell's lines."""
    if source[:1] not in (" ", "\t", "\n", "\r"):
        return source
    lines = source.split("\n")
    return "\n".join(lines) if _dedent_like_ipython(lines, _first_code_line(lines)) else source


def mask_ipython(source: str) -> Masked:
    """Replace IPython-only lines with Python of the same line count.

    Only lines that start a statement are touched (never the inside of a string or of open
    brackets, so ``a % b`` on a continuation line is left alone). A masked line becomes ``pass``
    at its own indentation, so a magic inside a block keeps the block valid. A cell indented as a
    whole is first dedented as IPython does (``leading_indent``).
    """
    lines = source.split("\n")
    first = _first_code_line(lines)
    if _dedent_like_ipython(lines, first):
        source = "\n".join(lines)
    out = Masked(source=source)
    start = 0
    if first >= 0 and lines[first].lstrip().startswith("%%"):
        head = lines[first].strip()
        out.magics.append(head)
        m = _LINE_MAGIC.match(head[1:])
        name, rest = (m.group(1), m.group(2).strip()) if m else ("", "")
        if name not in PY_BODY_CELL_MAGICS:
            out.python_body = False
            out.quiet = False
            body = "\n".join(lines[first + 1:]).strip()
            if name == "sql":
                target = re.match(r"([A-Za-z_]\w*)\s*<<", rest)
                if target:
                    out.defines.append(target.group(1))
                if body:
                    out.strings.append(body[:SQL_LEN])
                out.quiet = _is_sql_query(body)
            elif name == "writefile" and rest:
                out.strings.append(rest.split()[-1])
            out.source = "\n" * (len(lines) - 1)
            return out
        code = ""
        if name in ("time", "timeit"):
            code = _timeit_code(rest)
        elif name == "capture":
            out.quiet = False
            words = _CAPTURE_OPTS.sub("", rest).split()
            if words:
                out.defines.append(words[-1])
        lines[first] = code
        start = first + 1
    if not _CANDIDATE.search(source):
        out.source = "\n".join(lines)
        return out

    st = _ScanState()
    blank_continuation = False
    for i in range(start, len(lines)):
        line = lines[i]
        if blank_continuation:
            blank_continuation = line.rstrip("\r").endswith("\\")
            lines[i] = ""
            continue
        at_start = st.quote is None and st.depth == 0 and not st.cont
        if at_start:
            new = _mask_line(line, out)
            if new is not None:
                masked_whole = new.strip() in ("pass", "")
                if masked_whole and line.rstrip("\r").endswith("\\"):
                    blank_continuation = True  # IPython joins a magic's continuation lines
                    lines[i] = new
                    continue
                lines[i] = line = new
        _scan(line, st)
    out.source = "\n".join(lines)
    return out


def _mask_line(line: str, out: Masked) -> str | None:
    """The Python replacing one statement-start line, or None to keep it."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped[:1] in ("p", "c", "m", "l") and _AUTOMAGIC.match(stripped):
        stripped = "%" + stripped  # automagic: the same line magic
    if stripped[:1] in ("/", ",", ";"):
        return _escaped_call(stripped, indent)
    if not stripped or stripped[0] not in "%!?" and "=" not in stripped and "?" not in stripped:
        return None
    text = stripped.rstrip("\r")
    cr = "\r" if stripped.endswith("\r") else ""
    head = text.strip()
    if text.startswith("%"):
        out.magics.append(head)
        m = _LINE_MAGIC.match("%" + text.lstrip("%"))
        name, rest = (m.group(1), m.group(2)) if m else ("", "")
        if name in ("time", "timeit"):
            code = _timeit_code(rest)
            return indent + (code or "pass") + cr
        if name == "sql" and rest.strip():
            out.strings.append(rest.strip()[:SQL_LEN])
        if name not in ("matplotlib", "config", "python") or text.startswith("%%"):
            out.quiet = False
        if name == "store" and not text.startswith("%%"):
            return indent + _store_code(rest) + cr
        return indent + "pass" + cr
    if text.startswith("!"):
        out.magics.append(head)
        out.quiet = False
        out.shell_reads.extend(_BRACE_NAME.findall(text))
        return indent + "pass" + cr
    m = _ASSIGN_MAGIC.match(text)
    if m:
        targets, sigil, rest = m.groups()
        out.magics.append(head)
        out.quiet = False
        if sigil == "!":
            out.shell_reads.extend(_BRACE_NAME.findall(rest))
            return f"{indent}{targets} = None{cr}"
        mm = _LINE_MAGIC.match("%" + rest.lstrip("%"))
        name, arg = (mm.group(1), mm.group(2)) if mm else ("", "")
        if name in ("time", "timeit") and sigil == "%":
            code = _timeit_code(arg)
            if code:
                return f"{indent}{targets} = {code}{cr}"
        if name == "sql" and arg.strip():
            out.strings.append(arg.strip()[:SQL_LEN])
        return f"{indent}{targets} = None{cr}"
    if "?" in text:
        m = _HELP.match(text)
        if m and (m.group(1) or m.group(3)):
            out.magics.append(head)
            return indent + m.group(2) + cr
        if text.endswith("?") and not text.startswith("#"):
            # wildcard search such as ``np.*load*?``
            if re.fullmatch(r"[\w.*]+\?{1,2}", text):
                out.magics.append(head)
                return indent + "pass" + cr
    return None


def _store_code(rest: str) -> str:
    """The Python standing for ``%store``: ``%store -r a b`` binds ``a`` and ``b`` (restored from
    IPython's database, so a later stage is handed them like any value), ``%store a b`` (save)
    reads them; deleting, clearing and restoring everything name nothing."""
    words = rest.split(">", 1)[0].split()
    if not words:
        return "pass"
    if words[0].startswith("-"):
        names = [w for w in words[1:] if w.isidentifier() and not keyword.iskeyword(w)]
        return " = ".join(names) + " = None" if words[0] == "-r" and names else "pass"
    names = [w for w in words if w.isidentifier() and not keyword.iskeyword(w)]
    return f"({', '.join(names)},)" if names else "pass"


def _escaped_call(stripped: str, indent: str) -> str | None:
    """The call an escaped line stands for; quoted words become string literals Python reads
    back as the same text (IPython pastes them between bare double quotes)."""
    cr = "\r" if stripped.endswith("\r") else ""
    text = stripped.rstrip("\r")
    if text.strip() in ("/", ",", ";"):
        # an escape with nothing after it (a ';' on its own line after a plot, to hide the last
        # value) is IPython's ("") or (): a constant, shown as nothing worth a stage
        return indent + "pass" + cr
    m = _ESCAPED_CALL.fullmatch(text)
    if m is None:
        return None
    escape, name, rest = m.group(1), m.group(2), (m.group(3) or "").strip()
    if escape == "/":
        args = ", ".join(rest.split())
    elif escape == ",":
        args = ", ".join(repr(word) for word in rest.split())
    else:
        args = repr(rest)
    return f"{indent}{name}({args}){cr}"


# --------------------------------------------------------------------------------------------
# Fallback: what regexes can say about code libcst cannot parse.

_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"print", "exec"}
_STRING_RE = re.compile(r"""(?:[rRbBuUfF]{0,2})('''|\"\"\"|'|")((?:\\.|(?!\1).)*?)\1""", re.DOTALL)
_COMMENT_RE = re.compile(r"#[^\n]*")
_ASSIGN_RE = re.compile(
    r"^[ \t]*((?:[A-Za-z_]\w*[ \t]*,[ \t]*)*[A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE
)
_AUG_RE = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*(?:[-+*/%&|^@]|//|\*\*|>>|<<)=", re.MULTILINE)
_ITEM_RE = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*[\[.][^=\n]*[^=!<>]=(?!=)", re.MULTILINE)
_DEF_RE = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
# ``\bfor[ \t]+([A-Za-z_][\w, \t]*?)[ \t]+in\b`` as three linear steps (``_for_targets``): the
# lazy run restarted at every ``for`` of a long line is quadratic.
_FOR_HEAD = re.compile(r"\bfor[ \t]++(?=[A-Za-z_])")
_FOR_RUN = re.compile(r"[\w, \t]*+")
_IN_TAIL = re.compile(r"(?<![ \t])[ \t]++in\b")
_WITH_AS_RE = re.compile(r"\bas[ \t]+([A-Za-z_]\w*)")
_IMPORT_RE = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.MULTILINE)
_FROM_RE = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^\n#;)]+)", re.MULTILINE)
_CALL_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*)[ \t]*\(")
_IDENT_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b(?![ \t]*=(?!=))")
_ATTR_RE = re.compile(r"\.[ \t]*([A-Za-z_]\w*)")
_ERROR_AT = re.compile(r"error at (\d+):(\d+):\s*")


def parse_error_message(exc: BaseException) -> str:
    """libcst's multi-line syntax error as one line: ``line 2, column 7: expected ...``."""
    message = getattr(exc, "message", None) or str(exc)
    first = " ".join(str(message).split())
    m = _ERROR_AT.search(first)
    if m:
        first = f"line {m.group(1)}, column {m.group(2)}: {first[m.end():]}"
    elif getattr(exc, "raw_line", None):
        first = f"line {exc.raw_line}: {first}"  # type: ignore[attr-defined]
    first = first.replace("parser error: ", "")
    return first if len(first) <= 300 else first[:297] + "..."


def _split_imports(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in _IMPORT_RE.finditer(text):
        for part in m.group(1).split(","):
            words = part.split()
            if not words:
                continue
            qual = words[0]
            if len(words) >= 3 and words[1] == "as":
                found.append((words[2], qual))
            else:
                found.append((qual.split(".")[0], qual.split(".")[0]))
    for m in _FROM_RE.finditer(text):
        module = m.group(1)
        for part in m.group(2).split(","):
            words = part.split()
            if not words:
                continue
            if words[0] == "*":
                found.append(("*", module))
                continue
            sep = "" if module.endswith(".") else "."
            qual = f"{module}{sep}{words[0]}"
            alias = words[2] if len(words) >= 3 and words[1] == "as" else words[0]
            found.append((alias, qual))
    return found


def _for_targets(code: str) -> list[tuple[int, str]]:
    """(start, target list) of every ``for TARGETS in``, as the old one-regex finditer gave them."""
    found: list[tuple[int, str]] = []
    tail: re.Match[str] | None = None
    pos = 0
    while True:
        head = _FOR_HEAD.search(code, pos)
        if head is None:
            return found
        first = head.end()  # the target's first letter
        run_end = _FOR_RUN.match(code, first + 1).end()  # type: ignore[union-attr]
        if tail is None or tail.start() < first + 1:
            tail = _IN_TAIL.search(code, first + 1)
            if tail is None:
                return found
        if tail.start() <= run_end:
            found.append((head.start(), code[first:tail.start()]))
            pos = tail.end()
        else:
            # every later ``for`` inside this run ends at the same run_end: none can match
            pos = max(head.end(), run_end)


def _resolve(dotted: str, imports: Mapping[str, str]) -> tuple[str, str | None]:
    root, _, rest = dotted.partition(".")
    if root in imports:
        return (imports[root] + ("." + rest if rest else "")), None
    return dotted, (root if rest else None)


def fallback_facts(index: int, source: str, error: str, imports: Mapping[str, str],
                   masked: Masked | None = None,
                   shadowed: frozenset[str] = frozenset()) -> tuple[CellFacts, dict[str, str]]:
    """Regex-level facts for a cell libcst could not parse (``parsed=False``).

    Over-approximates ``reads`` (every identifier used before the line that binds it), which is
    the safe side for the plan: a missing read would lose a handoff.
    """
    text = masked.source if masked is not None else source
    strings: list[str] = []
    for m in _STRING_RE.finditer(text):
        if len(strings) < STRING_CAP:
            strings.append(m.group(2)[:STRING_LEN])
    if masked is not None:
        strings = masked.strings[:STRING_CAP] + strings
    code = _COMMENT_RE.sub("", _STRING_RE.sub('""', text))

    imported = _split_imports(code)
    import_map = dict(imports)
    for alias, qual in imported:
        if alias != "*":
            import_map[alias] = qual

    defines: set[str] = set()
    def_line: dict[str, int] = {}

    def bind(name: str, pos: int) -> None:
        if name.isidentifier() and name not in _KEYWORDS:
            defines.add(name)
            line = code.count("\n", 0, pos)
            def_line[name] = min(def_line.get(name, line), line)

    for m in _ASSIGN_RE.finditer(code):
        for name in m.group(1).split(","):
            bind(name.strip(), m.start())
    for rx in (_DEF_RE, _WITH_AS_RE):
        for m in rx.finditer(code):
            bind(m.group(1), m.start())
    for start, targets in _for_targets(code):
        for name in targets.split(","):
            bind(name.strip(), start)
    for alias, _qual in imported:
        if alias != "*":
            defines.add(alias)
            def_line.setdefault(alias, 0)
    if masked is not None:
        defines.update(masked.defines)

    mutates: set[str] = set()
    for rx in (_AUG_RE, _ITEM_RE):
        for m in rx.finditer(code):
            mutates.add(m.group(1))

    calls: list[Call] = []
    for m in _CALL_RE.finditer(code):
        dotted = re.sub(r"\s+", "", m.group(1))
        if dotted.split(".")[0] in _KEYWORDS:
            continue
        name, receiver = _resolve(dotted, import_map)
        close = code.find(")", m.end())
        arg_text = code[m.end(): close if close >= 0 else len(code)]
        keywords = tuple(re.findall(r"([A-Za-z_]\w*)\s*=(?!=)", arg_text))
        calls.append(Call(name, receiver=receiver, keywords=keywords))
        method = name.rsplit(".", 1)[-1]
        if receiver and ("inplace" in keywords or method in MUTATING_METHODS):
            mutates.add(receiver)

    reads: set[str] = set()
    for line_no, line in enumerate(code.split("\n")):
        if re.match(r"[ \t]*(?:import|from)[ \t]", line):
            continue
        for m in _IDENT_RE.finditer(line):
            name = m.group(1)
            if name in _KEYWORDS or (name in BUILTIN_NAMES and name not in shadowed):
                continue
            if name in def_line and def_line[name] < line_no:
                continue
            if name in def_line and def_line[name] == line_no and name not in mutates:
                # ``x = f(x)`` on the binding line still reads x; a plain ``x = 1`` does not
                rhs = line.split("=", 1)[1] if "=" in line else ""
                if not re.search(rf"(?<![\w.]){re.escape(name)}\b", rhs):
                    continue
            if name.startswith("__") and name.endswith("__"):
                continue
            reads.add(name)
    reads |= {n for n in mutates if n not in def_line}
    if masked is not None:
        reads.update(n for n in masked.shell_reads if n not in BUILTIN_NAMES)
    for alias, _ in imported:
        reads.discard(alias)
    for name in defines:
        if name in import_map and (name, import_map[name]) not in imported:
            import_map.pop(name, None)

    facts = CellFacts(
        index=index,
        defines=frozenset(defines),
        reads=frozenset(reads),
        mutates=frozenset(mutates),
        imports=tuple(imported),
        calls=tuple(calls),
        attributes=frozenset(_ATTR_RE.findall(code)),
        strings=tuple(strings[:STRING_CAP]),
        magics=tuple(masked.magics) if masked is not None else (),
        display_only=False,
        parsed=False,
        error=error,
    )
    return facts, import_map


def literal_text(token: str) -> str | None:
    """The text of a libcst ``SimpleString`` token (``'a'``, ``rb"x"``, ``'''doc'''``)."""
    i = 0
    while token[i] not in "'\"":
        i += 1
    prefix = token[:i].lower()
    q = 3 if token[i:i + 3] in ("'''", '"""') else 1
    body = token[i + q: len(token) - q]
    if "\\" in body and "r" not in prefix:
        try:
            # A user's '\.' in a non-raw string is their problem, not a warning of ours.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(token)
        except (ValueError, SyntaxError):
            return body
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return str(value)
    return body


# Methods that change their receiver in place (lists, dicts, sets, pandas, estimators).
MUTATING_METHODS: frozenset[str] = frozenset({
    "append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
    "update", "setdefault", "popitem", "add", "discard", "difference_update",
    "intersection_update", "symmetric_difference_update",
    "fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "set_params",
    "compile", "train_on_batch", "fit_generator", "add_pipe", "load_state_dict",
    # torch's mode and optimiser, gensim, Prophet, a booster or network loaded into an object
    "train", "zero_grad", "step", "build_vocab", "add_regressor", "add_seasonality",
    "add_country_holidays", "load_model", "load_weights", "set_weights",
})
