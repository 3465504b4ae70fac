"""One escaping function per output language, for every piece of input text that reaches a file.

Notebook file names, titles, widget names and defaults, model and experiment names, paths: all of
it is text from outside, and all of it lands in files that are parsed (YAML, JSON, Python) or run
(the stage notebooks, on a cluster with the team's credentials). Each function below returns text
that the target language reads back as the input value and nothing else, whatever the input holds
(line breaks, quotes, ``: ``, ``#``, ``{{``, ``${``, lone surrogates from undecodable file names).
Templates use them as Jinja filters (registered in :mod:`nbsplit.render.templating`); the notebook
serializers (:mod:`nbsplit.read.databricks`, :mod:`nbsplit.read.percent`) escape their own formats.

Characters that are not printable (``str.isprintable``) are always written as escapes: they
include every line break a reader might split on (``\\x85``, ``\\u2028``...) and the surrogates
that UTF-8 cannot encode.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import shlex
from collections.abc import Mapping
from typing import Any

from nbsplit import jsondump
from nbsplit.errors import NbsplitError

__all__ = [
    "json_text",
    "md_code",
    "one_line",
    "py_comment",
    "py_identifier",
    "py_literal",
    "sh_arg",
    "yaml_comment",
    "yaml_key",
    "yaml_scalar",
]

_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _escaped(ch: str) -> str:
    """``\\n``, ``\\x85``, ``\\udc80``: a visible, unambiguous spelling of a non-printable."""
    return ascii(ch)[1:-1]


def one_line(text: Any) -> str:
    """``text`` on one line of printable characters, non-printables spelled as escapes
    (``a\\nb``): for comments and prose, where the reader only needs to recognise the value."""
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in str(text))


# --- Python ---------------------------------------------------------------------------------------

def py_literal(value: Any) -> str:
    """A Python literal evaluating to ``value`` (str, int, float, bool, None and lists, tuples and
    str/int-keyed dicts of those). ``repr`` of these types is a literal on one line: it escapes
    quotes, line breaks and every non-printable. Anything else is refused: its ``repr`` could be
    arbitrary code."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({repr(str(value))})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise NbsplitError(f"cannot write a {type(value).__name__} as a Python literal")


def py_identifier(name: Any) -> str:
    """``name`` when it is a Python identifier (not a keyword); it is written as code, so
    anything else is refused rather than escaped."""
    text = str(name)
    if not text.isidentifier() or keyword.iskeyword(text):
        raise NbsplitError(f"{one_line(text)!r} is not a Python identifier")
    return text


def py_comment(text: Any) -> str:
    """Text to put after ``#``: one line, so it cannot end the comment."""
    return one_line(text)


# --- JSON -------------------------------------------------------------------------------------------

def _json_escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    encoded = ch.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(encoded[i:i + 2], 'big'):04x}" for i in range(0, len(encoded), 2))


def json_text(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON for ``value``; non-ASCII text stays readable, non-printables become ``\\uXXXX``.

    Strings are the only place a non-printable can be (``json.dumps`` escapes the control
    characters itself; the indentation's line breaks are outside strings and kept)."""
    text = jsondump.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    if text.isprintable():
        return text
    # Line by line: with an indent every document has line breaks, so the whole text is never
    # "printable", and escaping it character by character was most of writing a large manifest.
    lines = text.split("\n")
    return "\n".join(line if line.isprintable() else "".join(_json_escape(ch) for ch in line) for line in lines)


# --- YAML -------------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # used with fullmatch: "$" would accept a final newline
# YAML 1.1 reads these bare words as booleans or null.
_YAML_SPECIAL_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def yaml_scalar(value: Any) -> str:
    """A YAML scalar: numbers and booleans as such, text double-quoted with every quote,
    backslash and non-printable escaped, so no value can open a new key or line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return json.dumps(value)
    out = ['"']
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) > 0xFFFF:
            out.append(f"\\U{ord(ch):08x}")  # YAML has 8-digit escapes: no surrogate pairs
        else:
            out.append(f"\\u{ord(ch):04x}")
    out.append('"')
    return "".join(out)


def yaml_key(key: Any) -> str:
    """A mapping key: bare when it is a plain word YAML reads as text, else a quoted scalar."""
    text = str(key)
    # fullmatch: `$` would also match before a trailing newline ("A\n" is not a plain word).
    if _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML_SPECIAL_WORDS:
        return text
    return yaml_scalar(text)


def yaml_comment(text: Any) -> str:
    """Text to put after ``#`` in YAML: one line of printable characters."""
    return one_line(text)


# --- Markdown and shell --------------------------------------------------------------------------------

def md_code(text: Any) -> str:
    """An inline Markdown code span showing ``text`` literally, on one line: the fence is longer
    than any backtick run inside, so nothing in ``text`` can close it."""
    body = one_line(text)
    runs = [len(m) for m in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    if not body.strip(" ") or body[0] == "`" or body[-1] == "`" or (body[0] == " " and body[-1] == " "):
        body = f" {body} "  # CommonMark strips one space on each side
    return f"{fence}{body}{fence}"


def sh_arg(text: Any) -> str:
    """One shell word for ``text`` (POSIX quoting; bash ``$'...'`` when it holds non-printables,
    so a line break cannot end the command)."""
    value = str(text)
    if value.isprintable():
        return shlex.quote(value)
    out = []
    for ch in value:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "$'" + "".join(out) + "'"
