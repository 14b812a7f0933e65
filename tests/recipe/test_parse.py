"""Reading and writing recipes: deid's own recipes, its docs, round trips, parity.

deid 0.4.13 is the oracle: its ``load_deid`` reads the original text and the
text we write, and both dicts must equal ours (:meth:`Recipe.to_deid`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from deid.config import DeidRecipe

from _recipe_helpers import (
    DATA,
    all_recipes,
    deid_load,
    plain,
    quiet,
    recipe_id,
    shipped_recipes,
)
from deidscope.errors import InputError, RecipeSyntaxError
from deidscope.recipe import (
    Action,
    Coordinates,
    CriteriaLine,
    Criterion,
    FilterGroup,
    GroupAction,
    Label,
    Recipe,
    RecipeWarning,
)


def _write(tmp_path: Path, text: str, name: str = "deid.test") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", all_recipes(), ids=recipe_id)
def test_every_deid_and_docs_recipe_reads_and_round_trips(path: Path) -> None:
    recipe = Recipe.from_file(path)
    text = recipe.to_text()
    assert Recipe.from_text(text) == recipe
    assert Recipe.from_text(text).to_text() == text


@pytest.mark.parity
@pytest.mark.parametrize("path", all_recipes(), ids=recipe_id)
def test_deid_reads_what_we_write_with_the_same_meaning(
    path: Path, tmp_path: Path
) -> None:
    original = deid_load(path)
    recipe = Recipe.from_file(path)
    written = deid_load(_write(tmp_path, recipe.to_text()))
    assert written == original
    assert plain(recipe.to_deid()) == original


def test_the_shipped_recipes_are_all_there() -> None:
    names = {path.name for path in shipped_recipes()}
    assert {"deid.dicom", "deid.dicom.ultrasound", "deid.dicom.xray.chest"} <= names
    big = Recipe.from_file(next(p for p in shipped_recipes() if p.name == "deid.dicom"))
    assert [g.name for g in big.filters] == ["whitelist", "graylist", "blacklist"]
    assert len(big.header) == 73


@pytest.mark.parity
@pytest.mark.parametrize(
    "path", sorted((DATA / "docs-invalid").iterdir()), ids=recipe_id
)
def test_docs_snippets_deid_cannot_load_are_rejected_by_both(path: Path) -> None:
    with quiet(), pytest.raises(SystemExit):
        deid_load(path)
    with pytest.raises(RecipeSyntaxError, match=rf"{path.name}, line \d+"):
        Recipe.from_file(path)


def test_model_of_a_filter_label() -> None:
    recipe = Recipe.from_file(DATA / "docs" / "dicom-pixels.dicom")
    (group,) = recipe.filters
    assert group.name == "graylist"
    label = group.labels[0]
    assert label.name == "LightSpeed Dose Report"
    assert label.comment == "(Susan Weber)"
    assert label.deid_name == "LABEL LightSpeed Dose Report"
    assert label.lineno == 8
    assert label.criteria[2] == CriteriaLine(
        [
            Criterion("contains", "ImageType", "SCREEN SAVE"),
            Criterion("contains", "SeriesDescription", "Dose"),
        ],
        operator="and",
        inner_operators=["or"],
    )
    assert label.coordinates == [Coordinates("coordinates", "0,0,512,121")]
    assert label.coordinates[0].box == (0, 0, 512, 121)
    assert not label.coordinates[0].keep
    keep = group.labels[2].coordinates[0]
    assert (keep.kind, keep.value, keep.keep, keep.box) == (
        "keepcoordinates",
        "from:SequenceOfUltrasoundRegions",
        True,
        None,
    )
    assert group.labels[3].coordinates[0].value == "all"
    assert group.labels[2].criteria[0].criteria == [
        Criterion("present", "SequenceOfUltrasoundRegions", None)
    ]


def test_ctp_coordinates_become_boxes() -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter g\nLABEL x\n  ctpcoordinates 350,0,162,30\n"
        "  ctpkeepcoordinates 0,0,10,20\n"
    )
    first, second = recipe.filters[0].labels[0].coordinates
    assert (first.deid_value, first.box, first.keep) == (
        "350,0,512,30",
        (350, 0, 512, 30),
        False,
    )
    assert (second.box, second.keep) == ((0, 0, 10, 20), True)


def test_a_value_with_plus_stays_a_value() -> None:
    # deid splits at the first '+' only when a criterion follows it
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter g\nLABEL x\n"
        "  contains ManufacturerModelName SOMATOM Definition AS+\n"
        "  + contains Modality CT\n"
    )
    lines = recipe.filters[0].labels[0].criteria
    assert lines[0].criteria == [
        Criterion("contains", "ManufacturerModelName", "SOMATOM Definition AS+")
    ]
    assert lines[1].operator == "and"


def test_header_values_as_deid_reads_them() -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%header\n"
        "REPLACE PatientName   Doe   John\n"
        'REPLACE (0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E) "a b"\n'
        "ADD PatientIdentityRemoved YES # said so\n"
        "REMOVE PatientID # careful\n"
        "KEEP Modality # keep it\n"
        "REPLACE ReferringPhysicianName deid_func:pydicom_uuid prefix=1.55.\n"
    )
    assert [(a.action, a.field, a.value, a.comment) for a in recipe.header] == [
        ("REPLACE", "PatientName", "Doe John", None),
        ("REPLACE", '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)', '"a b"', None),
        ("ADD", "PatientIdentityRemoved", "YES ", "said so"),
        ("REMOVE", "PatientID", "", "careful"),
        ("KEEP", "Modality", None, "keep it"),
        (
            "REPLACE",
            "ReferringPhysicianName",
            "deid_func:pydicom_uuid prefix=1.55.",
            None,
        ),
    ]
    assert [a.lineno for a in recipe.header] == [3, 4, 5, 6, 7, 8]


def test_comments_stay_with_the_line_after_them() -> None:
    text = (
        "# a recipe\nFORMAT dicom\n\n%header\n\n# why\nREMOVE PatientID\n"
        "%filter g\n# about x\nLABEL x\n  # inside\n  contains Modality CT\n"
        "# at the end\n"
    )
    recipe = Recipe.from_text(text)
    assert recipe.comments == ["# a recipe"]
    assert recipe.header[0].comments == ["# why"]
    label = recipe.filters[0].labels[0]
    assert label.comments == ["# about x"]
    assert label.criteria[0].comments == ["# inside"]
    assert recipe.trailing_comments == ["# at the end"]
    assert Recipe.from_text(recipe.to_text()) == recipe


@pytest.mark.parity
def test_repeated_sections_are_one_section_as_for_deid(tmp_path: Path) -> None:
    text = (
        "FORMAT dicom\n%header\nREMOVE A\n%filter g\nLABEL x\n  missing A\n"
        "%header\nREMOVE B\n%filter g\nLABEL y\n  missing B\n"
        "%values v\nFIELD A\n%values v\nFIELD B\n"
    )
    recipe = Recipe.from_text(text)
    assert [a.field for a in recipe.header] == ["A", "B"]
    assert [label.name for label in recipe.filters[0].labels] == ["x", "y"]
    assert [g.field for g in recipe.values["v"]] == ["A", "B"]
    assert plain(recipe.to_deid()) == deid_load(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("keep PatientID", "upper case: deid ignores 'keep', write 'KEEP'"),
        ("KEEPS PatientID", "unknown action 'KEEPS'"),
        ("REPLACE PatientID", "REPLACE needs a value"),
        ("ADD", "unknown action|ADD needs a field"),
        ("BLANK PatientID PatientName", "takes only a field, and deid ignores"),
        ("contains Modality CT", "not a recipe line in %header"),
        ("%filter", "%filter needs a name"),
        ("%header foo", "%header takes no name"),
        ("%pixels", "unknown section %pixels"),
        ("format dicom", "expected 'FORMAT dicom'"),
        ("FORMAT nifti", "expected 'FORMAT dicom'"),
        ("FIELD PatientID", "not a recipe line in %header"),
    ],
    ids=[
        "lowercase-action",
        "unknown-action",
        "missing-value",
        "missing-field",
        "extra-token",
        "criterion-in-header",
        "filter-without-name",
        "header-with-name",
        "unknown-section",
        "lowercase-format",
        "unknown-format",
        "field-in-header",
    ],
)
def test_bad_header_lines_name_file_line_number_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = _write(tmp_path, f"FORMAT dicom\n%header\nREMOVE X\n{line}\n")
    with pytest.raises(RecipeSyntaxError, match=message) as caught:
        Recipe.from_file(path)
    error = caught.value
    assert (error.lineno, error.line, error.path) == (4, line, str(path))
    assert str(error).startswith(f"{path}, line 4: ")
    assert str(error).endswith(repr(line))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("LABEL x\n  contains Modality", "contains needs a field and a value"),
        ("LABEL x\n  present", "needs a field"),
        ("LABEL x\n  matches Modality CT", "not a filter criterion"),
        ("LABEL x\n  REMOVE PatientID", "not a filter criterion"),
        ("LABEL x\n  coordinates 0,0,10", "coordinates takes four integers"),
        ("LABEL x\n  coordinates 0,0,1,1 # c", "deid reads comments here too"),
        ("LABEL x\n  ctpcoordinates from:Seq", "takes x,y,width,height"),
        ("LABEL x\n  COORDINATES 0,0,1,1", "lower case"),
        ("contains Modality CT", "not a recipe line in %filter"),
        ("REMOVE PatientID", "%filter does not take REMOVE lines"),
        ("LABEL x\n  contains A b+c present", "is not a filter test"),
    ],
    ids=[
        "no-value",
        "no-field",
        "unknown-test",
        "action-in-label",
        "three-numbers",
        "comment-in-coordinates",
        "ctp-from",
        "uppercase-keyword",
        "criterion-outside-label",
        "action-in-filter",
        "deid-splits-value",
    ],
)
def test_bad_filter_lines(lines: str, message: str) -> None:
    text = f"FORMAT dicom\n%filter g\n{lines}\n"
    with pytest.raises(RecipeSyntaxError, match=message) as caught:
        Recipe.from_text(text)
    assert caught.value.lineno == text.count("\n")
    assert caught.value.path is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("%values v\nSPLIT PatientID by", "name=value pairs"),
        ("%values v\nSPLIT PatientID minlength=x", "minlength must be an integer"),
        ("%fields f\nSPLIT PatientID", "%fields only takes FIELD"),
        ("%fields f\nFIELD PatientID PatientName", "takes only a field"),
        ("%values v\nfield PatientID", "FIELD or SPLIT in upper case"),
        ("%values v\nREMOVE PatientID", "%values does not take REMOVE"),
    ],
    ids=["no-equals", "bad-minlength", "split-in-fields", "extra", "lower", "action"],
)
def test_bad_group_lines(lines: str, message: str) -> None:
    with pytest.raises(RecipeSyntaxError, match=message):
        Recipe.from_text(f"FORMAT dicom\n{lines}\n")


@pytest.mark.parity
def test_deid_misreadings_we_reject_are_misreadings_for_deid(tmp_path: Path) -> None:
    """What we reject as 'deid ignores this' is really dropped by deid."""
    for line in ("keep PatientID", "BLANKS PatientID"):
        loaded = deid_load(_write(tmp_path, f"FORMAT dicom\n%header\n{line}\n"))
        assert "header" not in loaded, line


def test_action_before_any_section() -> None:
    with pytest.raises(RecipeSyntaxError, match="before any section"):
        Recipe.from_text("FORMAT dicom\nREMOVE PatientID\n")


def test_from_text_and_from_file_reject_wrong_types(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected recipe text as str, but got bytes"):
        Recipe.from_text(b"FORMAT dicom")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="is a folder"):
        Recipe.from_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        Recipe.from_file(tmp_path / "missing")


@pytest.mark.parity
def test_edit_in_python_and_write(tmp_path: Path) -> None:
    recipe = Recipe()
    recipe.header += [
        Action("REMOVE", "contains:Physician"),
        Action("REPLACE", "PatientID", "var:id", comment="from the lookup"),
        Action("JITTER", "endswith:Date", "-31"),
    ]
    recipe.values["names"] = [GroupAction("SPLIT", "PatientName", 'by="^";minlength=3')]
    recipe.fields["dates"] = [GroupAction("FIELD", "endswith:Date")]
    recipe.filters.append(
        FilterGroup(
            "graylist",
            [
                Label(
                    "Ultrasound",
                    criteria=[CriteriaLine([Criterion("equals", "Modality", "US")])],
                    coordinates=[Coordinates("keepcoordinates", "0,0,10,10")],
                )
            ],
        )
    )
    text = recipe.to_text()
    assert Recipe.from_text(text) == recipe
    path = _write(tmp_path, text)
    assert deid_load(path) == plain(recipe.to_deid())
    assert recipe.to_deid()["header"][1] == {
        "action": "REPLACE",
        "field": "PatientID",
        "value": "var:id",
    }


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (Action("REPLACE", "PatientName", "a  b"), "deid would read value as 'a b'"),
        (Action("REPLACE", "PatientName", "a#b"), "deid would read value as 'a'"),
        (Action("REPLACE", "Patient Name", "x"), "deid would read field as 'Patient'"),
        (Action("keep", "PatientName"), "upper case"),
        (Action("REMOVE", "PatientName", comment="x"), "deid would read value as ''"),
    ],
    ids=["double-space", "hash", "space-in-field", "lowercase", "remove-comment"],
)
def test_to_text_refuses_what_deid_would_misread(item: Action, message: str) -> None:
    recipe = Recipe(header=[item])
    with pytest.raises(InputError, match=message):
        recipe.to_text()


def test_to_text_refuses_criteria_deid_would_split_differently() -> None:
    line = CriteriaLine(
        [Criterion("contains", "A", "x+y"), Criterion("contains", "B", "z")],
        inner_operators=["or"],
    )
    recipe = Recipe(filters=[FilterGroup("g", [Label("l", criteria=[line])])])
    with pytest.raises(InputError, match="deid split this line at"):
        recipe.to_text()


@pytest.mark.parity
def test_values_with_trailing_space_and_comments_survive(tmp_path: Path) -> None:
    text = "FORMAT dicom\n%header\nADD A YES # c\nADD B YES#c\nREMOVE C # c\n"
    recipe = Recipe.from_text(text)
    written = recipe.to_text()
    assert Recipe.from_text(written) == recipe
    assert deid_load(_write(tmp_path, written)) == deid_load(
        _write(tmp_path, text, "o")
    )


@pytest.mark.parity
def test_combine_as_deid_does(tmp_path: Path) -> None:
    first = _write(
        tmp_path,
        "FORMAT dicom\n%filter g\nLABEL a\n  missing A\n%filter h\nLABEL b\n"
        "  missing B\n%values v\nFIELD A\n%header\nREMOVE A\n",
        "deid.first",
    )
    second = _write(
        tmp_path,
        "FORMAT dicom\n%filter g\nLABEL c\n  missing C\n%filter k\nLABEL d\n"
        "  missing D\n%values w\nFIELD B\n%header\nREMOVE B\n",
        "deid.second",
    )
    with pytest.warns(RecipeWarning, match="deid ignores %values"):
        combined = Recipe.combine([first, Recipe.from_file(second)])
    with quiet():
        theirs = plain(DeidRecipe([str(first), str(second)]).deid)
    assert plain(combined.to_deid()) == theirs
    assert [g.name for g in combined.filters] == ["g", "h", "k"]
    assert [a.field for a in combined.header] == ["A", "B"]


def test_combine_needs_recipes_of_one_format() -> None:
    with pytest.raises(InputError, match="at least one recipe"):
        Recipe.combine([])


def test_combine_leaves_inputs_alone() -> None:
    a = Recipe.from_text("FORMAT dicom\n%header\nREMOVE A\n")
    b = Recipe.from_text("FORMAT dicom\n%header\nREMOVE B\n")
    combined = Recipe.combine([a, b])
    combined.header[0].field = "Z"
    assert a.header[0].field == "A"
    assert len(a.header) == 1


def test_equality_ignores_line_numbers_not_content() -> None:
    a = Recipe.from_text("FORMAT dicom\n%header\nREMOVE A\n")
    b = Recipe.from_text("FORMAT dicom\n\n\n%header\n\nREMOVE A\n")
    assert a == b
    b.header[0].value = "func:x"
    assert a != b
    assert a != "FORMAT dicom"


def test_to_file_writes_via_a_temporary_name(tmp_path: Path) -> None:
    recipe = Recipe.from_text("FORMAT dicom\n%header\nREMOVE A\n")
    target = tmp_path / "deid.out"
    recipe.to_file(target)
    assert Recipe.from_file(target) == recipe
    with pytest.raises(FileExistsError):
        recipe.to_file(target)
    recipe.to_file(target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deid.out"]


def test_action_at_finds_lines() -> None:
    recipe = Recipe.from_text("FORMAT dicom\n%header\nREMOVE A\n\nKEEP B\n")
    assert recipe.action_at(5).field == "B"
    with pytest.raises(KeyError):
        recipe.action_at(4)


@pytest.mark.parity
def test_tmp_files_of_deid_parity_are_real_files() -> None:
    # guards the helper: deid_load really reads a file we write
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "FORMAT dicom\n%header\nREMOVE A\n")
        assert deid_load(path) == {
            "format": "dicom",
            "header": [{"action": "REMOVE", "field": "A"}],
        }
