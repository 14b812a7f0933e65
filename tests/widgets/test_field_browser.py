"""FieldBrowser, headless: filter traits linked to boxes, the grid's model state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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
    grid = browser._grid
    assert grid._row_count == len(df)
    assert grid.selection_mode == "row"
    assert list(browser.view.index) == list(df.index)
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


def _request_page(browser: FieldBrowser, r1: int, r2: int) -> dict[str, list[object]]:
    """Ask the grid for rows r1..r2 as the browser does; return its columns."""
    sent: list[tuple[dict[str, Any], list[Any]]] = []
    grid = browser._grid
    grid.send = lambda content, buffers=None: sent.append((content, buffers or []))
    grid._handle_comm_msg(
        None, {"type": "data-request", "r1": r1, "r2": r2, "c1": 0, "c2": 6}, []
    )
    ((content, buffers),) = sent
    assert content["event_type"] == "data-reply"
    assert (content["r1"], content["r2"]) == (r1, r2)
    columns: dict[str, list[object]] = {}
    for name, column in content["value"]["data"].items():
        if isinstance(column, list):  # text is sent as a list
            columns[name] = column
        else:  # numbers as a binary buffer
            array = np.frombuffer(buffers[column["value"]], dtype=column["dtype"])
            columns[name] = array.tolist()
    return columns


def test_widgets_browser_grid_serves_pages_of_the_filtered_rows(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    browser.vrs = ("PN",)
    expected = filter_fields(df, vrs=("PN",))
    assert browser._grid._row_count == len(expected)
    data = _request_page(browser, 0, 4)
    assert data["name"] == expected["name"].astype(str).head(5).tolist()
    # the row header is the row's position in df
    assert data["row"] == np.flatnonzero(df["VR"] == "PN")[:5].tolist()


def test_widgets_browser_sorts_like_a_header_click(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    browser.vrs = ("PN",)
    browser._grid._transforms = [{"type": "sort", "column": "value", "desc": True}]
    values = browser.view["value"].astype(str).tolist()
    assert values == sorted(values, reverse=True)
    assert len(values) == len(filter_fields(df, vrs=("PN",)))
    browser.sort_by("name")  # categorical: by text, not by category order
    names = browser.view["name"].astype(str).tolist()
    assert names == sorted(names)
    browser.vrs = ("PN", "DA")  # new rows keep the sort chosen
    names = browser.view["name"].astype(str).tolist()
    assert names == sorted(names)
    assert set(browser.view["VR"].astype(str)) == {"PN", "DA"}
    assert _request_page(browser, 0, 2)["name"] == names[:3]


def test_widgets_browser_sort_by_rejects_unknown_columns(browser: FieldBrowser) -> None:
    with pytest.raises(InputError, match="sort_by: expected one of"):
        browser.sort_by("nope")


def test_widgets_browser_grid_cuts_long_cells_but_shows_them_in_full() -> None:
    cookies = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    long_value = "x" * 5000 + "\x07end"
    frame = cookies.head(3).copy()
    frame["value"] = pd.array([long_value, "a", "b"], dtype="string")
    browser = FieldBrowser(frame)
    cell = _request_page(browser, 0, 0)["value"][0]
    assert len(cell) <= 501
    assert cell.endswith("…")
    browser._grid.selections = [{"r1": 0, "c1": 0, "r2": 0, "c2": 5}]
    assert "x" * 5000 in browser.detail_html
    assert frame["value"].iloc[0] == long_value  # the frame is not changed


def test_widgets_browser_export_writes_the_grid_rows(
    browser: FieldBrowser, df: pd.DataFrame, tmp_path: Path
) -> None:
    browser.vrs = ("PN",)
    browser.sort_by("value")
    written = browser.export(tmp_path / "pn.parquet")
    back = pd.read_parquet(written)
    assert back["value"].tolist() == browser.view["value"].tolist()
    assert list(back.columns) == list(df.columns)
    assert "wrote" in browser._exported.value
    with pytest.raises(FileExistsError):
        browser.export(tmp_path / "pn.parquet")
    with pytest.raises(InputError, match=r"suffix|ending|expected"):
        browser.export(tmp_path / "pn.txt")


def test_widgets_browser_export_buttons_and_formula_cells(tmp_path: Path) -> None:
    cookies = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    frame = cookies.head(2).copy()
    frame["value"] = pd.array(['=HYPERLINK("http://x")', "plain"], dtype="string")
    browser = FieldBrowser(frame)
    browser._export_path.value = str(tmp_path / "found.csv")
    browser._export_csv.click()
    text = (tmp_path / "found.csv").read_text()
    assert "'=HYPERLINK" in text
    assert "plain" in text
    browser._export_parquet.click()
    back = pd.read_parquet(tmp_path / "found.parquet")
    assert back["value"].iloc[0] == '=HYPERLINK("http://x")'  # Parquet keeps it
    browser._export_csv.click()  # exists: said in the widget, nothing raised
    assert "exists" in browser._exported.value


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("page_size", 0, "page_size must be between 1 and 1000"),
        ("action", "Q", "action must be 'any', '' or one of"),
        ("private", "maybe", "private"),
        ("vrs", (1, 2), "vrs must be strings"),
    ],
    ids=["page-size", "action", "private", "vrs"],
)
def test_widgets_browser_validates_traits(
    browser: FieldBrowser, trait: str, value: object, match: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(browser, trait, value)


def test_widgets_browser_picks_rows(browser: FieldBrowser, df: pd.DataFrame) -> None:
    grid = browser._grid
    grid.selections = [{"r1": 0, "c1": 0, "r2": 2, "c2": 5}]  # a person's 3 rows
    assert browser.selected.index.tolist() == df.index[:3].tolist()
    assert "3 picked" in browser.status
    assert "3 picked rows" in browser.profile_html
    assert "row 0" in browser.detail_html  # the first row of the pick, in full
    browser.vrs = ("PN",)  # another view: the picks stay
    assert len(browser.selected) == 3
    grid.selections = [{"r1": 0, "c1": 0, "r2": 0, "c2": 5}]
    assert len(browser.selected) == 4  # picks outside the view are kept
    browser.vrs = ()
    assert grid.selections == [
        {"r1": 0, "c1": 0, "r2": 2, "c2": 5},
        {
            "r1": int(np.flatnonzero(df["VR"] == "PN")[0]),
            "c1": 0,
            "r2": int(np.flatnonzero(df["VR"] == "PN")[0]),
            "c2": 5,
        },
    ]  # the grid shows the picks of the view
    browser.sort_by("row", ascending=False)
    last = len(df) - 1
    assert grid.selections[0]["r1"] == last - int(np.flatnonzero(df["VR"] == "PN")[0])
    browser._clear.click()
    assert browser.selected.empty
    assert grid.selections == []


def test_widgets_browser_picks_by_position_when_the_index_repeats() -> None:
    cookies = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    twice = pd.concat([cookies, cookies])  # labels 0..n-1, each twice
    assert twice.index.has_duplicates
    browser = FieldBrowser(twice, page_size=10)
    browser._grid.selections = [{"r1": 0, "c1": 0, "r2": 2, "c2": 5}]
    assert len(browser.selected) == 3
    pd.testing.assert_frame_equal(browser.selected, twice.iloc[:3])
    assert "3 picked" in browser.status
    last = len(twice) - 1
    browser._grid.selections = [
        {"r1": 0, "c1": 0, "r2": 2, "c2": 5},
        {"r1": last, "c1": 0, "r2": last, "c2": 5},
    ]
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
    cell = _request_page(browser, 0, 0)["value"][0]
    assert "\n" not in cell
    browser.show_row(0)
    assert "&lt;script&gt;" in browser.detail_html
    assert "<script>" not in browser.detail_html


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


def test_widgets_browser_sort_keys_text_order_missing_last() -> None:
    from deidscope.widgets.field_browser import _order, sort_keys

    cats = pd.Series(pd.Categorical(["b", None, "a", "c"], categories=["c", "b", "a"]))
    keys = sort_keys(cats)
    assert _order(keys, descending=False).tolist() == [2, 0, 3, 1]
    assert _order(keys, descending=True).tolist() == [3, 0, 2, 1]
    text = pd.Series(pd.array(["b", None, "a", "b"], dtype="string"))
    keys = sort_keys(text)
    assert _order(keys, descending=False).tolist() == [2, 0, 3, 1]  # stable
    assert _order(keys, descending=True).tolist() == [0, 3, 2, 1]
    # a view without missing values: its largest value is not taken for one
    assert _order(keys[[0, 2]], descending=True).tolist() == [0, 1]


def test_widgets_browser_sort_then_filter_keeps_the_sort_and_picks(
    browser: FieldBrowser, df: pd.DataFrame
) -> None:
    browser.sort_by("value", ascending=False)
    top = browser.view.index[0]
    browser.pick([top])
    assert browser._grid.selections[0]["r1"] == 0
    browser.vrs = ("PN",)
    assert browser.view["value"].tolist() == sorted(
        browser.view["value"].tolist(), reverse=True
    )
    assert browser._grid._row_count == len(browser.view)
    assert browser.selected.index.tolist() == [top]
