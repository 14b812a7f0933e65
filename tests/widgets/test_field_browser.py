"""FieldBrowser, headless: filter traits linked to boxes, state on attributes."""

from __future__ import annotations

import pandas as pd
import pytest
import traitlets

import deidscope
from deidscope.audit import profile
from deidscope.data import get_dataset
from deidscope.errors import InputError
from deidscope.widgets import FieldBrowser, filter_fields


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return deidscope.read_identifiers(
        [get_dataset("dicom-cookies"), get_dataset("humans")], errors="ignore"
    )


@pytest.fixture
def browser(df: pd.DataFrame) -> FieldBrowser:
    return FieldBrowser(df, page_size=10)


def test_widgets_browser_starts_with_everything(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    assert len(browser.filtered) == len(df)
    assert browser.selected.empty
    assert f"{len(df):,} of {len(df):,} rows" in browser.status
    assert browser.n_pages == -(-len(df) // 10)
    assert len(browser._table.options) == 10
    assert "<table" in browser.profile_html  # small frames are profiled at once


@pytest.mark.parametrize(
    ("trait", "value", "criteria"),
    [
        ("text", "patient", {"text": "patient"}),
        ("vrs", ("PN", "DA"), {"vrs": ("PN", "DA")}),
        ("groups", "0010, 0008", {"groups": (0x10, 0x8)}),
        ("private", "private", {"private": True}),
        ("nested", "nested", {"nested": True}),
        ("value", "cookie", {"value": "cookie"}),
        ("action", "X", {"actions": ("X",)}),
        ("file", "image2", {"file": "image2"}),
    ],
    ids=["text", "vrs", "groups", "private", "nested", "value", "action", "file"],
)
def test_widgets_browser_trait_filters_like_filter_fields(
    browser: FieldBrowser,
    df: pd.DataFrame,
    trait: str,
    value: object,
    criteria: dict[str, object],
) -> None:
    setattr(browser, trait, value)
    expected = filter_fields(df, **criteria)  # type: ignore[arg-type]
    assert 0 < len(expected) < len(df)
    assert browser.filtered.index.tolist() == expected.index.tolist()
    assert f"{len(expected):,} of {len(df):,} rows" in browser.status


def test_widgets_browser_boxes_drive_the_traits(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    """Typing in the child boxes is what a person does; the traits follow."""
    browser._text.value = "PatientName"
    browser._vrs.value = ("PN",)
    assert browser.text == "PatientName"
    assert set(browser.filtered["name"].astype(str)) == {
        "PatientName",
        "OtherPatientNames",
    }
    browser._private.value = "public"
    assert browser.private == "public"
    browser._action.value = "Z"
    assert browser.query.actions == ("Z",)
    assert len(browser.filtered) == len(filter_fields(df, browser.query))


def test_widgets_browser_regex_and_bad_regex(browser: FieldBrowser) -> None:
    browser.regex = True
    browser.text = "^Patient(Name|ID)$"
    good = browser.filtered
    assert set(good["name"].astype(str)) == {"PatientName", "PatientID"}
    browser.text = "(["
    assert "not a valid regular expression" in browser.error
    assert "not a valid regular expression" in browser.status
    assert browser.filtered is good  # the last good result stays
    browser.text = "^PatientID$"
    assert browser.error == ""
    assert set(browser.filtered["name"].astype(str)) == {"PatientID"}


def test_widgets_browser_bad_group_text_is_reported(browser: FieldBrowser) -> None:
    browser.groups = "00zz"
    assert "expected hex groups" in browser.error
    browser.groups = "0010"
    assert browser.error == ""


def test_widgets_browser_paging(browser: FieldBrowser, df: pd.DataFrame) -> None:
    browser._next.click()
    assert browser.page == 1
    assert browser.page_rows.index.tolist() == df.index[10:20].tolist()
    assert [value for _, value in browser._table.options] == list(range(10, 20))
    browser._prev.click()
    assert browser.page == 0
    assert browser._prev.disabled
    browser.page = browser.n_pages - 1
    assert browser._next.disabled
    browser.text = "PatientName"  # a new filter goes back to the first page
    assert browser.page == 0


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("page", -1, "page must be between 0 and"),
        ("page", 10_000, "page must be between 0 and"),
        ("page_size", 0, "page_size must be between 1 and 1000"),
        ("action", "Q", "action must be 'any', '' or one of"),
        ("private", "maybe", "private"),
        ("vrs", (1, 2), "vrs must be strings"),
    ],
    ids=["page-negative", "page-past-end", "page-size", "action", "private", "vrs"],
)
def test_widgets_browser_validates_traits(
    browser: FieldBrowser, trait: str, value: object, match: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(browser, trait, value)


def test_widgets_browser_picks_rows(browser: FieldBrowser, df: pd.DataFrame) -> None:
    first = browser.page_rows.index[:3].tolist()
    browser._table.value = tuple(first)  # a person clicks three rows
    assert browser.selected.index.tolist() == first
    assert "3 picked" in browser.status
    assert "3 picked rows" in browser.profile_html
    browser._next.click()
    browser._table.value = (browser.page_rows.index[0],)
    assert len(browser.selected) == 4  # picks on other pages are kept
    browser._prev.click()
    assert browser._table.value == tuple(first)  # the page shows its picks
    browser._clear.click()
    assert browser.selected.empty


def test_widgets_browser_picks_by_position_when_the_index_repeats() -> None:
    cookies = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    twice = pd.concat([cookies, cookies])  # labels 0..n-1, each twice
    assert twice.index.has_duplicates
    browser = FieldBrowser(twice, page_size=10)
    browser._table.value = (0, 1, 2)  # a person clicks three rows of page 0
    assert len(browser.selected) == 3
    pd.testing.assert_frame_equal(browser.selected, twice.iloc[:3])
    assert "3 picked" in browser.status
    browser.page = browser.n_pages - 1  # the second copy's rows
    last = len(twice) - 1
    browser._table.value = (last,)
    assert len(browser.selected) == 4
    pd.testing.assert_frame_equal(browser.selected.iloc[[-1]], twice.iloc[[last]])
    browser._clear.click()
    browser.vrs = ("PN",)
    browser._pick_all.click()
    pd.testing.assert_frame_equal(browser.selected, browser.filtered)
    browser.clear_picks()
    browser.pick([0])  # by label: every row carrying it
    pd.testing.assert_frame_equal(browser.selected, twice.loc[[0]])
    assert len(browser.selected) == 2


def test_widgets_browser_pick_positions_rejects_other_rows(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    with pytest.raises(InputError, match=r"pick_positions: expected positions 0-"):
        browser.pick_positions([len(df)])
    assert browser.selected.empty


def test_widgets_browser_pick_all_matching(browser: FieldBrowser) -> None:
    browser.vrs = ("PN",)
    version = browser.selection_version
    browser._pick_all.click()
    assert browser.selected.index.tolist() == browser.filtered.index.tolist()
    assert browser.selection_version > version


def test_widgets_browser_profile_is_the_audit_profile(browser: FieldBrowser) -> None:
    browser.vrs = ("PN",)
    expected = profile(browser.filtered)
    assert set(expected["VR"]) == {"PN"}
    assert "basic_profile" in browser.profile_html
    assert f"{len(browser.filtered):,} matching rows" in browser.profile_html
    pd.testing.assert_frame_equal(browser.profile(), expected)
    browser.pick(browser.filtered.index[:3])
    assert "3 picked rows" in browser.profile_html
    pd.testing.assert_frame_equal(browser.profile(), profile(browser.selected))


def test_widgets_browser_escapes_values(tmp_path: object) -> None:
    frame = pd.DataFrame(
        {
            "file": pd.Categorical(["a.dcm"]),
            "uid": pd.Categorical(["(0010, 0010)"]),
            "name": pd.Categorical(["PatientName"]),
            "VR": pd.Categorical(["PN"]),
            "value": pd.array(["<script>alert(1)</script>\nnext"], dtype="string"),
            "tag": pd.Categorical(["(0010, 0010)"]),
            "keyword": pd.Categorical(["PatientName"]),
            "depth": [0],
        }
    )
    browser = FieldBrowser(frame)
    assert "<script>" not in browser.profile_html
    assert "&lt;script&gt;" in browser.profile_html
    ((label, _),) = browser._table.options
    assert "\n" not in label


def test_widgets_browser_does_not_modify_frame(df: pd.DataFrame) -> None:
    before = df.copy()
    browser = FieldBrowser(df)
    browser.text = "patient"
    browser._pick_all.click()
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ([1, 2], "FieldBrowser: expected the identifier DataFrame"),
        (pd.DataFrame({"file": []}), r"FieldBrowser: .* it lacks \['uid', 'name'"),
    ],
    ids=["list", "missing-columns"],
)
def test_widgets_browser_rejects_bad_input(given: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        FieldBrowser(given)  # type: ignore[arg-type]
