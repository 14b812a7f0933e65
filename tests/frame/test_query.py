"""filter_fields / filter_mask: the function behind FieldBrowser's boxes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import deidscope
from deidscope import ps315
from deidscope.data import get_dataset
from deidscope.errors import InputError
from deidscope.frame._query import (
    FieldQuery,
    field_actions,
    filter_fields,
    filter_mask,
    parse_groups,
)


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    frame = deidscope.read_identifiers(
        [get_dataset("dicom-cookies"), get_dataset("humans")], errors="ignore"
    )
    assert len(frame) > 500
    return frame


def _expected(df: pd.DataFrame, predicate: object) -> pd.DataFrame:
    """The same rows computed the slow, obvious way, row by row."""
    keep = [bool(predicate(row)) for row in df.itertuples(index=False)]  # type: ignore[operator]
    return df[keep]


def _group(tag: str) -> int:
    return int(tag[1:5], 16)


CASES = {
    "text-plain": (
        {"text": "patient"},
        lambda r: any(
            "patient" in str(v).lower() for v in (r.name, r.keyword, r.tag, r.uid)
        ),
    ),
    "text-regex": (
        {"text": r"^Patient(Name|ID)$", "regex": True},
        lambda r: any(
            re.search(r"^Patient(Name|ID)$", str(v), re.I)
            for v in (r.name, r.keyword, r.tag, r.uid)
        ),
    ),
    "tag-text": ({"text": "(0010, 0010)"}, lambda r: "(0010, 0010)" in str(r.uid)),
    "vrs": ({"vrs": ("PN", "DA")}, lambda r: r.VR in ("PN", "DA")),
    "group": ({"groups": (0x0010,)}, lambda r: _group(r.tag) == 0x0010),
    "private": ({"private": True}, lambda r: _group(r.tag) % 2 == 1),
    "public": ({"private": False}, lambda r: _group(r.tag) % 2 == 0),
    "nested": ({"nested": True}, lambda r: r.depth > 0),
    "top-level": ({"nested": False}, lambda r: r.depth == 0),
    "value-plain": ({"value": "cookie"}, lambda r: "cookie" in str(r.value).lower()),
    "value-regex": (
        {"value": r"^20\d{6}$", "regex": True},
        lambda r: re.search(r"^20\d{6}$", str(r.value)) is not None,
    ),
    "value-lookbehind": (
        {"value": r"(?<=^ORIGINAL)\\", "regex": True},
        lambda r: re.search(r"(?<=^ORIGINAL)\\", str(r.value)) is not None,
    ),
    "file": ({"file": "image3"}, lambda r: "image3" in str(r.file)),
    "combined": (
        {"text": "date", "vrs": ("DA",), "value": "20"},
        lambda r: (
            "date" in (str(r.name) + str(r.keyword)).lower()
            and r.VR == "DA"
            and "20" in str(r.value)
        ),
    ),
}


@pytest.mark.parametrize(("criteria", "predicate"), CASES.values(), ids=CASES.keys())
def test_widgets_filter_matches_row_by_row(
    df: pd.DataFrame, criteria: dict[str, object], predicate: object
) -> None:
    got = filter_fields(df, **criteria)  # type: ignore[arg-type]
    expected = _expected(df, predicate)
    assert 0 < len(got) < len(df)
    assert got.index.tolist() == expected.index.tolist()


def test_widgets_filter_actions_follow_table(df: pd.DataFrame) -> None:
    got = filter_fields(df, actions=("X",))
    assert len(got) > 0
    for tag in got["tag"].unique():
        row = ps315.lookup(int(str(tag)[1:5] + str(tag)[7:11], 16))
        assert row is not None
        assert row["basic_profile"] == "X"
    unlisted = filter_fields(df, actions=("",))
    assert "PixelSpacing" in set(unlisted["name"])  # not an identifier


def test_widgets_field_actions_per_row(df: pd.DataFrame) -> None:
    actions = field_actions(df)
    assert actions.index.equals(df.index)
    by_name = dict(zip(df["name"].astype(str), actions.astype(str), strict=True))
    assert by_name["PatientName"] == "Z"
    assert by_name["SOPInstanceUID"] == "U"
    assert by_name["Rows"] == ""


def test_widgets_empty_query_keeps_all(df: pd.DataFrame) -> None:
    assert FieldQuery().is_empty()
    assert filter_mask(df, FieldQuery()).all()
    assert len(filter_fields(df)) == len(df)


def test_widgets_filter_does_not_modify_input(df: pd.DataFrame) -> None:
    before = df.copy()
    filter_fields(df, text="patient", value="a", private=False, actions=("Z",))
    pd.testing.assert_frame_equal(df, before)


def test_widgets_filter_plain_frame_without_categories(df: pd.DataFrame) -> None:
    plain = df.astype({"name": object, "tag": object, "file": object, "VR": object})
    got = filter_fields(plain, text="patient", vrs=("PN",), groups=(0x0010,))
    want = filter_fields(df, text="patient", vrs=("PN",), groups=(0x0010,))
    assert got.index.tolist() == want.index.tolist()


def test_widgets_filter_no_match_gives_empty_frame(df: pd.DataFrame) -> None:
    got = filter_fields(df, value="no such value anywhere 9f8e7d")
    assert got.empty
    assert list(got.columns) == list(df.columns)


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("0010", (0x10,)),
        ("0008, 0x0010", (0x8, 0x10)),
        (" ", ()),
        ("7fe0;0009", (0x7FE0, 0x9)),
    ],
    ids=["one", "two-hex", "empty", "semicolon"],
)
def test_widgets_parse_groups(text: str, groups: tuple[int, ...]) -> None:
    assert parse_groups(text) == groups


def test_widgets_parse_groups_rejects_bad_hex() -> None:
    with pytest.raises(InputError, match=r"parse_groups: expected hex groups.*'00zz'"):
        parse_groups("0010, 00zz")


@pytest.mark.parametrize(
    ("criteria", "match"),
    [
        ({"text": "([", "regex": True}, r"FieldQuery: text is not a valid regular"),
        ({"value": "*a", "regex": True}, r"FieldQuery: value is not a valid regular"),
        ({"vrs": "PN"}, r"FieldQuery: expected vrs as a tuple"),
        ({"groups": (0x1FFFF,)}, r"FieldQuery: expected groups as ints"),
        ({"text": 5}, r"FieldQuery: expected text as str, but got int"),
        ({"colour": "red"}, r"filter_fields: unknown criteria \['colour'\]"),
    ],
    ids=[
        "bad-text-regex",
        "bad-value-regex",
        "vrs-str",
        "group-range",
        "text-int",
        "unknown",
    ],
)
def test_widgets_filter_rejects_bad_criteria(
    df: pd.DataFrame, criteria: dict[str, object], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        filter_fields(df, **criteria)  # type: ignore[arg-type]


def test_widgets_filter_rejects_non_frames() -> None:
    with pytest.raises(
        InputError, match="filter_mask: expected the identifier DataFrame"
    ):
        filter_mask([1, 2], FieldQuery())  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"filter_mask: .* it lacks \['tag'\]"):
        filter_mask(
            pd.DataFrame(columns=["file", "uid", "name", "VR", "value"]), FieldQuery()
        )


def test_widgets_filter_rejects_query_and_keywords(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="not both"):
        filter_fields(df, FieldQuery(), text="a")


def test_widgets_filter_million_rows_is_vectorised() -> None:
    """A frame of 200k rows keeps the categorical dtype through filtering."""
    small = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    big = small.iloc[np.tile(np.arange(len(small)), 800)].reset_index(drop=True)
    got = filter_fields(big, text="PatientName")
    assert len(got) == 800 * 7
    assert isinstance(got["name"].dtype, pd.CategoricalDtype)
