"""Clean Descriptors: the text is kept, what identifies its patient is taken out."""

from __future__ import annotations

from pathlib import Path

from deidscope import read_identifiers
from deidscope.dicom import replace_identifiers
from deidscope.recipe import Recipe
from deidscope.recipe._clean import REMOVED, clean_text, file_values
from write_helpers import write_file

COMMENT = "Jane Doe (PID-4711) seen 2020-03-15 at General Hospital, axial"


def test_clean_text_removes_every_value_in_any_case() -> None:
    text = "doe, JANE; Doe^Jane"
    assert clean_text(text, ["Doe", "Jane", "Doe^Jane"]) == (
        f"{REMOVED}, {REMOVED}; {REMOVED}"
    )
    assert clean_text("short F", ["F"]) == "short F"  # too short to look for
    assert len(clean_text("Jane " * 10, ["Jane"], "SH")) == 16


def test_the_file_values_are_what_the_profile_does_not_keep(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.dcm")
    df = read_identifiers([str(path)])
    (values,) = file_values(df, ["clean_descriptors"]).values()
    assert {"Doe^Jane", "Jane Doe", "Doe", "Jane", "PID-4711"} <= values
    assert {"20200315", "2020-03-15", "General Hospital", "House"} <= values
    assert "axial" not in values  # SeriesDescription: cleaned, not removed
    assert "OT" not in values  # Modality: kept


def test_clean_descriptors_keeps_the_text_without_the_identifiers(
    tmp_path: Path,
) -> None:
    path = write_file(tmp_path / "a.dcm", ImageComments=COMMENT)
    recipe = Recipe.from_profile(["clean_descriptors"])
    (ds,) = replace_identifiers([path], deid=recipe)
    assert ds.ImageComments == (
        f"{REMOVED} ({REMOVED}) seen {REMOVED} at {REMOVED}, axial"
    )
    assert ds.StudyDescription == f"CT head for {REMOVED}"
    assert ds.SeriesDescription == "axial"
    # the preview shows what is written
    out = recipe.preview(read_identifiers([str(path)]))
    comments = out[out.uid == "(0020, 4000)"].iloc[0]
    assert comments.after == ds.ImageComments
    assert comments.action == "REPLACE"
    # without the option the text goes
    (plain,) = replace_identifiers([path], deid=Recipe.from_profile())
    assert "ImageComments" not in plain


def test_deid_without_the_cleaner_blanks_the_text(tmp_path: Path) -> None:
    recipe = Recipe.from_profile(["clean_descriptors"])
    lines = [a for a in recipe.header if a.field == "StudyDescription"]
    assert [(a.action, a.value) for a in lines] == [
        ("BLANK", None),
        ("REPLACE", "func:deidscope_clean"),
    ]
    assert recipe.lint().empty
    # a lookup of one's own wins over the cleaner
    path = write_file(tmp_path / "a.dcm")
    (ds,) = replace_identifiers(
        [path],
        deid=recipe,
        lookup={"deidscope_clean": lambda **kwargs: "mine"},
    )
    assert ds.StudyDescription == "mine"
