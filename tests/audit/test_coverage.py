"""deidscope.audit.coverage: PS3.15 gaps of a recipe, checked against deid."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest

import deidscope
from deidscope.audit import coverage, profile
from deidscope.audit._coverage import COVERAGE_COLUMNS
from deidscope.errors import InputError
from deidscope.recipe import Recipe
from samples import deid_data_files, nested_dataset, write_dicom

DEID_DEFAULT = Path(__import__("deid").__file__).parent / "data" / "deid.dicom"


def _recipe(*lines: str) -> Recipe:
    return Recipe.from_text("FORMAT dicom\n%header\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def cookies() -> pd.DataFrame:
    return deidscope.read_identifiers(
        [f for f in deid_data_files() if "dicom-cookies" in f]
    )


def test_coverage_lists_what_the_recipe_leaves(cookies: pd.DataFrame) -> None:
    gaps = coverage(cookies, _recipe("REMOVE PatientName", "KEEP PatientID"))
    assert tuple(gaps.columns) == COVERAGE_COLUMNS
    table = gaps.set_index("name")
    assert "PatientName" not in table.index
    row = table.loc["PatientID"]
    assert (row["decision"], row["line"], row["basic_profile"]) == ("KEEP", 4, "Z/D")
    assert "line 4 keeps it" in row["reason"]
    untouched = table.loc["StudyDate"]
    assert untouched["decision"] == "none"
    assert pd.isna(untouched["line"])
    assert untouched["n_files"] == 7
    assert untouched["example"] == "20131210"
    assert "no line of the recipe decides it" in untouched["reason"]
    assert "Rows" not in table.index  # the table is silent about it


def test_coverage_notices_a_line_that_changes_nothing(cookies: pd.DataFrame) -> None:
    gaps = coverage(
        cookies, _recipe("REPLACE PatientID var:id"), lookup={"id": "cookie-47"}
    )
    row = gaps.set_index("name").loc["PatientID"]
    assert row["decision"] == "unchanged"
    assert row["line"] == 3


def test_coverage_of_the_profile_recipe_is_complete(cookies: pd.DataFrame) -> None:
    """AccessionNumber, PatientBirthDate and StudyID are empty in the cookies:
    the profile's BLANK leaves them as they were, which is what Z asks."""
    assert coverage(cookies, Recipe.from_profile()).empty


def test_an_empty_value_emptied_is_done_only_where_z_allows(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "a.dcm", AccessionNumber="", ImageComments="")
    df = deidscope.read_identifiers([path])
    recipe = _recipe("BLANK AccessionNumber", "BLANK ImageComments")
    gaps = coverage(df, recipe).set_index("name")
    assert "AccessionNumber" not in gaps.index  # Z: zero length is what it asks
    row = gaps.loc["ImageComments"]  # X: removal, not an empty value
    assert (row["basic_profile"], row["decision"]) == ("X", "unchanged")
    untouched = coverage(df, _recipe("BLANK ImageComments")).set_index("name")
    assert untouched.loc["AccessionNumber", "decision"] == "none"


def test_coverage_options_change_what_is_asked(cookies: pd.DataFrame) -> None:
    recipe = _recipe("REMOVE PatientName")
    plain = set(coverage(cookies, recipe)["name"])
    kept_uids = set(coverage(cookies, recipe, options=["retain_uids"])["name"])
    assert "SOPInstanceUID" in plain
    assert "SOPInstanceUID" not in kept_uids
    assert kept_uids < plain


def test_coverage_of_private_and_nested_fields(tmp_path: Path) -> None:
    ds = nested_dataset()
    path = write_dicom(
        tmp_path / "n.dcm", ReferencedImageSequence=ds.ReferencedImageSequence
    )
    private = write_dicom(tmp_path / "p.dcm")
    with_block = pydicom.dcmread(private)
    with_block.private_block(0x0009, "DEIDSCOPE TEST", create=True).add_new(
        0x01, "LO", "Private^Name"
    )
    with_block.save_as(private)
    df = deidscope.read_identifiers([path, private])
    gaps = coverage(df, _recipe("REMOVE PatientName"))
    table = gaps.set_index("name")
    row = table.loc['(0009,"DEIDSCOPE TEST",01)']
    assert row["decision"] == "none"
    assert row["private_creator"] == "DEIDSCOPE TEST"
    assert "a private element" in row["reason"]
    assert "ReferencedImageSequence__ReferencedSOPInstanceUID" in table.index
    covered = coverage(
        df,
        _recipe(
            "REMOVE PatientName",
            "REMOVE ReferencedImageSequence",
            'REMOVE (0009,"DEIDSCOPE TEST",01)',
        ),
    )
    names = set(covered["name"])
    assert not any(name.startswith("ReferencedImageSequence") for name in names)
    assert '(0009,"DEIDSCOPE TEST",01)' not in names
    assert "(0009,0010)" in names  # the creator element itself has no decision


def test_a_reference_sequence_is_decided_by_its_uids(tmp_path: Path) -> None:
    """X/Z/U*: the profile keeps the sequence, its UIDs have their own lines."""
    ds = nested_dataset()
    path = write_dicom(
        tmp_path / "n.dcm",
        ReferencedImageSequence=ds.ReferencedImageSequence,
        SourceImageSequence=ds.ReferencedImageSequence,
    )
    df = deidscope.read_identifiers([path])
    assert coverage(df, Recipe.from_profile()).empty
    text = Recipe.from_profile().to_text()
    without = "\n".join(
        line for line in text.splitlines() if "ReferencedSOPInstanceUID" not in line
    )
    names = set(coverage(df, Recipe.from_text(without))["name"])
    assert names == {
        "ReferencedImageSequence__ReferencedSOPInstanceUID",
        "SourceImageSequence__ReferencedSOPInstanceUID",
    }


def test_coverage_bad_input(cookies: pd.DataFrame) -> None:
    recipe = _recipe("REMOVE PatientName")
    with pytest.raises(InputError, match="unknown options"):
        coverage(cookies, recipe, options=["retain_everything"])
    with pytest.raises(InputError, match=r"expected a deidscope\.recipe\.Recipe"):
        coverage(cookies, "REMOVE PatientName")
    with pytest.raises(InputError, match="expected the identifier DataFrame"):
        coverage([1, 2], recipe)
    empty = coverage(deidscope.frame.empty_frame(), recipe)
    assert tuple(empty.columns) == COVERAGE_COLUMNS
    assert empty.empty


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on odd sample values
def test_coverage_agrees_with_what_deid_does(tmp_path: Path) -> None:
    """Gaps are untouched by deid's own run of the recipe; the rest is changed."""
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    inputs = list(deid_data_files())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = replace_identifiers(
            inputs,
            deid=DeidRecipe(str(DEID_DEFAULT)),
            save=True,
            output_folder=str(tmp_path),
            overwrite=True,
        )
    df = deidscope.read_identifiers(inputs)
    gaps = coverage(df, Recipe.from_file(DEID_DEFAULT))
    # top-level public elements with values (a sequence's items are fields too)
    top = gaps[
        ~gaps["name"].str.contains("__")
        & ~gaps["name"].str.startswith("(")
        & (gaps["VR"] != "SQ")
    ]
    assert len(top) > 10
    asked = profile(df)
    asked = asked[
        ~asked["basic_profile"].isin(["", "K"])
        & ~asked["in_sequence"]
        & ~asked["is_private"]
        & (asked["VR"] != "SQ")
        & ~asked["is_filemeta"]
    ]
    covered = sorted(set(asked["name"]) - set(gaps["name"]))
    assert len(covered) > 10
    after = {os.path.basename(str(out)): pydicom.dcmread(out) for out in outputs}
    checked = changed = 0
    for file in inputs:
        before = pydicom.dcmread(file)
        written = after[os.path.basename(file)]
        for name in top["name"]:
            if name in before:
                assert name in written, (file, name)
                assert written[name].value == before[name].value, (file, name)
                checked += 1
        for name in covered:
            if name in before and before[name].value not in ("", None):
                # deid removed, blanked or replaced it
                assert (
                    name not in written or written[name].value != before[name].value
                ), (
                    file,
                    name,
                )
                changed += 1
    assert checked > 50
    assert changed > 50


def test_coverage_reads_a_run_of_the_recipe(cookies: pd.DataFrame) -> None:
    recipe = _recipe("REMOVE PatientName", "KEEP PatientID", "REPLACE x var:id")
    run = recipe.run(cookies, {"id": "x"})
    pd.testing.assert_frame_equal(
        coverage(cookies, run), coverage(cookies, recipe, lookup={"id": "x"})
    )
    pd.testing.assert_frame_equal(
        coverage(cookies, run, options=["retain_uids"]),
        coverage(cookies, recipe, options=["retain_uids"], lookup={"id": "x"}),
    )
    with pytest.raises(InputError, match="expected a run over this frame"):
        coverage(cookies.iloc[:10], run)
    with pytest.raises(InputError, match="the run has its lookup"):
        coverage(cookies, run, lookup={"id": "y"})
