"""Property tests: our line reader against deid's own on generated lines."""

from __future__ import annotations

import pytest
from deid.config.utils import parse_member as deid_parse_member
from deid.config.utils import split_action_line
from hypothesis import given, settings
from hypothesis import strategies as st

from _recipe_helpers import quiet
from deidscope.recipe._parse import LineError, parse_member, split_tokens

pytestmark = pytest.mark.parity

_WORDS = st.sampled_from(
    [
        "contains", "notcontains", "equals", "notequals", "missing", "present",
        "empty", "Modality", "CT", "AS+", "a+b", "||", "+", "x||y", "Dose", "SAVE",
        "PatientName", "0x00100010", "#", "LABEL", "(0010,0010)",
    ]
)  # fmt: skip
_TEXT = st.text(alphabet="ab \"'#\\+|(),:^", max_size=30)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_tokens_are_deids_tokens(line: str) -> None:
    assert [m.group() for m in split_tokens(line)] == split_action_line(line)


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=9))
def test_criteria_lines_read_as_deid_reads_them(words: list[str]) -> None:
    line = " ".join(words).strip()
    if not line.lower().startswith(
        (
            "contains",
            "notcontains",
            "equals",
            "notequals",
            "missing",
            "present",
            "empty",
        )
    ):
        return
    try:
        with quiet():
            theirs = deid_parse_member(line, None)
    except (SystemExit, ValueError):
        theirs = None
    try:
        ours = parse_member(line)
    except LineError:
        ours = None
    if theirs is None:
        assert ours is None, line
        return
    if ours is None:
        # we reject one thing deid accepts: a test with an empty field
        assert "" in theirs["field"], line
        return
    assert not isinstance(ours, type(None))
    assert [c.action for c in ours.criteria] == theirs["action"]  # type: ignore[union-attr]
    assert [c.field for c in ours.criteria] == theirs["field"]  # type: ignore[union-attr]
    assert [c.value for c in ours.criteria if c.value is not None] == theirs["value"]  # type: ignore[union-attr]
    assert ours.inner_operators == theirs["InnerOperators"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line",
    [
        "contains ImageType SCREEN SAVE || contains SeriesDescription Dose",
        "missing Manufacturer || empty Manufacturer",
        "contains A x+y",
        "contains A x || contains B y + equals C z",
    ],
)
def test_known_criteria_lines(line: str) -> None:
    with quiet():
        theirs = deid_parse_member(line, None)
    ours = parse_member(line)
    assert [c.field for c in ours.criteria] == theirs["field"]  # type: ignore[union-attr]
    assert ours.inner_operators == theirs["InnerOperators"]  # type: ignore[union-attr]
