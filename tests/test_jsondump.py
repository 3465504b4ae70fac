"""``nbsplit.jsondump.dumps`` is ``json.dumps`` byte for byte (and error for error)."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import IntEnum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.jsondump import dumps

FAST = settings(max_examples=100, deadline=None)

# Text with what JSON must escape: quotes, backslashes, controls, separators, astral characters.
text = st.text(st.sampled_from('ab"\\\n\t\x00\x1f\x7f\u00e9\u2028\ud800\U0001f600'), max_size=6)
scalars = (st.none() | st.booleans() | st.integers(-(10**30), 10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | text)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(text, max_size=4)
    | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30)
options = st.fixed_dictionaries({
    "indent": st.sampled_from([0, 1, 2, 4, "\t", "--"]),
    "sort_keys": st.booleans(),
    "ensure_ascii": st.booleans(),
    "separators": st.sampled_from([None, (",", ": "), (", ", ":"), (";", "=")]),
})


@FAST
@given(values, options)
def test_same_text_as_json_dumps(value: object, opts: dict) -> None:
    assert dumps(value, **opts) == json.dumps(value, **opts)


class Level(IntEnum):
    LOW = 1


@pytest.mark.parametrize("value", [
    {"b": [Level.LOW, 1.0, -0.0, float("nan")], "a": OrderedDict(z=1, y=(2, [3, {}]))},
    [[[[[]]]], {}, "", ["x", 1, "y"], ["only", "strings"]],
    "top-level string", 7, None,
])
def test_the_cases_json_treats_specially(value: object) -> None:
    for sort_keys in (False, True):
        assert dumps(value, indent=1, sort_keys=sort_keys) == json.dumps(value, indent=1, sort_keys=sort_keys)


def test_keys_that_are_not_strings() -> None:
    value = {1: "int key", 2.5: "float key", True: "bool key", None: "none key"}
    assert dumps(value, indent=1) == json.dumps(value, indent=1)
    assert dumps({2: 1, 1: 2}, indent=1, sort_keys=True) == json.dumps({2: 1, 1: 2}, indent=1, sort_keys=True)


def test_errors_are_json_dumps_errors() -> None:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    for value, error in (({"p": Path("x")}, TypeError), (cyclic, ValueError), ({1: 1, "a": 2}, TypeError)):
        with pytest.raises(error) as ours:
            dumps(value, indent=2, sort_keys=True)
        with pytest.raises(error) as theirs:
            json.dumps(value, indent=2, sort_keys=True)
        assert str(ours.value) == str(theirs.value)
