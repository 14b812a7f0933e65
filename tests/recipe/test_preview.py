"""Recipe.preview and Recipe.matches: the contract, precedence, lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deidscope import read_identifiers
from deidscope.dicom import get_identifiers
from deidscope.errors import DeidscopeError, InputError
from deidscope.recipe import Action, Recipe, RecipeFunctionError
from samples import write_dicom


def _recipe(*lines: str) -> Recipe:
    return Recipe.from_text("FORMAT dicom\n%header\n" + "\n".join(lines) + "\n")


@pytest.fixture
def cookies(cookie_files: list[str]) -> pd.DataFrame:
    return read_identifiers(cookie_files)


def _row(out: pd.DataFrame, file: str, uid: str) -> dict[str, Any]:
    rows = out[(out.file == file) & (out.uid == uid)]
    assert len(rows) == 1, (file, uid)
    return rows.iloc[0].to_dict()


def test_preview_columns_and_dtypes(cookies: pd.DataFrame) -> None:
    out = _recipe("REMOVE PatientID").preview(cookies)
    assert list(out.columns) == ["file", "uid", "before", "after", "action", "line"]
    assert str(out.line.dtype) == "Int64"
    assert out.after.isna().all()
    assert set(out.action) == {"REMOVE"}
    assert len(out) == cookies.file.nunique()


@pytest.mark.parametrize(
    ("lines", "action", "after"),
    [
        (["BLANK PatientName", "REPLACE PatientName X"], "REPLACE", "X"),
        (["REPLACE PatientName X", "BLANK PatientName"], "BLANK", ""),
        (["REMOVE PatientName", "REPLACE PatientName X"], "REPLACE", "X"),
        (["REPLACE PatientName X", "REMOVE PatientName"], "REPLACE", "X"),
        (["BLANK PatientName", "REMOVE PatientName"], "REMOVE", None),
        (["REMOVE PatientName", "BLANK PatientName"], "REMOVE", None),
        (["KEEP PatientName", "REMOVE PatientName"], "KEEP", "nameless waterfall"),
        (["KEEP PatientName", "REPLACE PatientName X"], "KEEP", "nameless waterfall"),
        (["KEEP PatientName", "ADD PatientName X"], "ADD", "X"),
        (["REMOVE PatientName # why"], None, "nameless waterfall"),
        (["REMOVE PatientName func:yes"], "REMOVE", None),
        (["REMOVE PatientName func:no"], None, "nameless waterfall"),
        (["REPLACE PatientName var:missing"], None, "nameless waterfall"),
        (["REPLACE PatientName var:name"], "REPLACE", "Anon^Ymous"),
    ],
    ids=[
        "blank-then-replace",
        "replace-then-blank",
        "replace-protects-from-remove",
        "remove-after-replace",
        "remove-beats-blank",
        "blank-after-remove",
        "keep-beats-remove",
        "keep-beats-replace",
        "add-overwrites-keep",
        "remove-with-comment-keeps",
        "remove-if-func-true",
        "remove-if-func-false",
        "missing-var-skips",
        "var",
    ],
)
def test_deids_precedence(
    cookies: pd.DataFrame, lines: list[str], action: str | None, after: str | None
) -> None:
    lookup = {"yes": lambda **_: True, "no": lambda **_: False, "name": "Anon^Ymous"}
    out = _recipe(*lines).preview(cookies, lookup=lookup)
    first = str(cookies.file.iloc[0])
    rows = out[(out.file == first) & (out.uid == "(0010, 0010)")]
    if action is None:
        assert rows.empty
        return
    row = rows.iloc[0]
    assert row.action == action
    assert (None if row.after is pd.NA else row.after) == after
    assert row.before == "nameless waterfall"


def test_line_numbers_point_at_the_winning_line(cookies: pd.DataFrame) -> None:
    recipe = _recipe("REMOVE PatientID", "", "# note", "BLANK PatientName")
    out = recipe.preview(cookies)
    assert set(out[out.uid == "(0010, 0020)"].line) == {3}
    assert set(out[out.uid == "(0010, 0010)"].line) == {6}
    assert recipe.action_at(6).action == "BLANK"


def test_lines_of_a_recipe_built_in_python_are_those_of_to_text(
    cookies: pd.DataFrame,
) -> None:
    recipe = Recipe(
        header=[Action("REMOVE", "PatientID"), Action("BLANK", "PatientName")]
    )
    out = recipe.preview(cookies)
    text_lines = recipe.to_text().splitlines()
    for line in set(out.line):
        assert text_lines[line - 1].split()[0] in {"REMOVE", "BLANK"}


def test_add_creates_an_element(cookies: pd.DataFrame) -> None:
    out = _recipe("ADD PatientIdentityRemoved YES").preview(cookies)
    assert len(out) == cookies.file.nunique()
    assert out.before.isna().all()
    assert set(out.after) == {"YES"}
    assert set(out.uid) == {"(0012, 0062)"}


def test_per_file_lookup_as_deids_ids(cookies: pd.DataFrame) -> None:
    files = [str(f) for f in cookies.file.cat.categories]
    lookup = {"id": "everyone", files[0]: {"id": "first"}}
    out = _recipe("REPLACE PatientID var:id").preview(cookies, lookup=lookup)
    assert _row(out, files[0], "(0010, 0020)")["after"] == "first"
    assert _row(out, files[1], "(0010, 0020)")["after"] == "everyone"


def test_functions_get_deids_arguments(cookies: pd.DataFrame) -> None:
    seen: list[dict[str, Any]] = []

    def fake(**kwargs: Any) -> str:
        seen.append(kwargs)
        return "new"

    out = _recipe("REPLACE PatientID func:fake").preview(cookies, lookup={"fake": fake})
    assert set(out.after) == {"new"}
    call = seen[0]
    assert set(call) == {"dicom", "value", "field", "item"}
    assert call["value"] == "func:fake"
    assert call["field"].element.value == "cookie-47"
    assert call["field"].name == "PatientID"
    assert call["item"]["fake"] is fake


def test_func_names_resolve_only_against_the_lookup(cookies: pd.DataFrame) -> None:
    """Recipe text cannot reach Python: unknown names do nothing."""
    recipe = _recipe(
        "REPLACE PatientID func:os.system",
        "REPLACE PatientName func:__import__",
        "REPLACE PatientSex func:eval",
    )
    assert recipe.preview(cookies).empty


def test_jitter_keeps_date_order_and_handles_da_dt_and_multi(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "dates.dcm",
        StudyDate="20200131",
        AcquisitionDateTime="20200131235959.5+0100",
        DateOfLastCalibration=["20200101", "20200301"],
    )
    df = read_identifiers(path)
    out = _recipe(
        "JITTER endswith:Date 30",
        "JITTER DateOfLastCalibration 30",
        "JITTER endswith:DateTime -1",
    ).preview(df)
    after = dict(zip(out.uid.astype(str), out.after, strict=True))
    assert after["(0008, 0020)"] == "20200301"
    assert after["(0008, 002a)"] == "20200130235959.500000+0100"
    assert after["(0018, 1200)"] == "20200131\\20200331"


def test_random_uids_are_consistent_within_a_preview(tmp_path: Path) -> None:
    a = write_dicom(tmp_path / "a.dcm", StudyInstanceUID="1.2.3")
    b = write_dicom(tmp_path / "b.dcm", StudyInstanceUID="1.2.3")
    df = read_identifiers([a, b])
    out = _recipe("REPLACE StudyInstanceUID deid_func:dicom_uuid org_root=1.2").preview(
        df
    )
    studies = out[out.uid == "(0020, 000d)"].after
    assert studies.nunique() == 1
    assert studies.iloc[0].startswith("1.2.")


def test_media_storage_uid_follows_sop_instance_uid(cookies: pd.DataFrame) -> None:
    out = _recipe("REPLACE SOPInstanceUID var:uid").preview(
        cookies, lookup={"uid": "1.2.3.4"}
    )
    media = out[out.uid == "(0002, 0003)"]
    assert len(media) == cookies.file.nunique()
    assert set(media.after) == {"1.2.3.4"}


def test_protected_fields_are_never_touched(cookies: pd.DataFrame) -> None:
    out = _recipe("REMOVE all", "ADD PixelData 0", "ADD TransferSyntaxUID 1.2").preview(
        cookies
    )
    assert "(7fe0, 0010)" not in set(out.uid)
    assert "(0002, 0010)" not in set(out.uid)


def test_sequences_take_their_items(tmp_path: Path) -> None:
    from samples import nested_dataset

    path = write_dicom(
        tmp_path / "nested.dcm",
        ReferencedImageSequence=nested_dataset().ReferencedImageSequence,
    )
    df = read_identifiers(path)
    sequence = df[(df.VR == "SQ") & (df.depth == 0)].uid.astype(str).iloc[0]
    out = _recipe(f"REMOVE {sequence.replace(', ', ',')}").preview(df)
    nested = df.uid.astype(str).str.startswith(sequence + "__")
    assert nested.any()
    assert set(out.uid.astype(str)) == {sequence, *df.uid[nested].astype(str)}
    assert out.after.isna().all()


def test_preview_takes_get_identifiers_output(cookie_files: list[str]) -> None:
    ids = get_identifiers(cookie_files)
    out = _recipe("REMOVE PatientID").preview(ids)
    assert len(out) == len(cookie_files)


def test_preview_does_not_change_its_input(cookies: pd.DataFrame) -> None:
    before = cookies.copy()
    _recipe(
        "REPLACE PatientID x", "REMOVE all", "ADD PatientIdentityRemoved Y"
    ).preview(cookies)
    pd.testing.assert_frame_equal(cookies, before)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected an identifier DataFrame or get_identifiers output"),
        (pd.DataFrame({"a": [1]}), "lacks columns"),
    ],
    ids=["list", "wrong-frame"],
)
def test_preview_rejects_other_data(data: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _recipe("REMOVE PatientID").preview(data)


def test_preview_rejects_a_bad_lookup(cookies: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="lookup must be a mapping"):
        _recipe("REMOVE PatientID").preview(cookies, lookup=[1])  # type: ignore[arg-type]


def test_preview_reports_expressions_deid_fails_on(cookies: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="is not a regular expression"):
        _recipe("REMOVE contains:(").preview(cookies)


def test_matches_by_line_action_or_expression(cookies: pd.DataFrame) -> None:
    recipe = _recipe("KEEP PatientName", "BLANK contains:Name")
    by_line = recipe.matches(4, cookies)
    assert "(0010, 0010)" in set(by_line.uid.astype(str))  # KEEP does not hide
    assert list(by_line.columns) == list(cookies.columns)
    assert recipe.matches(recipe.header[1], cookies).equals(by_line)
    assert recipe.matches("contains:Name", cookies).equals(by_line)
    assert recipe.matches("PatientSex", cookies).uid.astype(str).unique().tolist() == [
        "(0010, 0040)"
    ]
    with pytest.raises(InputError, match="no %header line 9"):
        recipe.matches(9, cookies)
    with pytest.raises(InputError, match="expected an Action, a line number"):
        recipe.matches(1.5, cookies)  # type: ignore[arg-type]


def test_matches_values_lists(cookies: pd.DataFrame) -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%values ids\nFIELD PatientID\n%header\nREMOVE values:ids\n"
    )
    hits = recipe.matches(5, cookies)
    assert "(0010, 0020)" in set(hits.uid.astype(str))


def test_a_func_that_raises_in_a_preview_names_file_line_and_function(
    cookies: pd.DataFrame,
) -> None:
    def explode(**kwargs: Any) -> str:
        if kwargs["field"].element.value == "cookie-47":
            raise KeyError("cookie-47")
        return "ok"

    recipe = _recipe("BLANK PatientName", "REPLACE PatientID func:explode")
    first = str(cookies.file.iloc[0])
    with pytest.raises(RecipeFunctionError) as info:
        recipe.preview(cookies, lookup={"explode": explode})
    error = info.value
    assert str(error) == (
        f"Recipe.preview: {first}: func:explode raised KeyError: 'cookie-47' "
        "(recipe line 4: 'REPLACE PatientID func:explode')"
    )
    assert (error.file, error.lineno, error.function) == (first, 4, "func:explode")
    assert isinstance(error.__cause__, KeyError)
    assert isinstance(error, DeidscopeError)
