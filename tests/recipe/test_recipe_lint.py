"""Recipe.lint: each finding, with and without data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _recipe_helpers import DATA, quiet

from deidscope import read_identifiers
from deidscope.recipe import Recipe, RecipeLintWarning


def _recipe(*lines: str, sections: str = "") -> Recipe:
    return Recipe.from_text(
        f"FORMAT dicom\n{sections}%header\n" + "\n".join(lines) + "\n"
    )


@pytest.fixture(scope="module")
def cookies() -> pd.DataFrame:
    from samples import deid_data_files

    return read_identifiers([f for f in deid_data_files() if "cookies" in f])


@pytest.mark.parametrize(
    ("lines", "code", "message"),
    [
        (["REMOVE PatientID # old"], "remove-never", "never removes"),
        (["ADD PatientIdentityRemoved YES # x"], "comment-in-value", "'YES '"),
        (["REPLACE PatientID var:id # x"], "comment-in-value", "lookup will fail"),
        (
            ["REPLACE PatientID deid_func:simple_uuid"],
            "unknown-deid-func",
            "simple_uuid",
        ),
        (["JITTER StudyDate soon"], "jitter-value", "whole days"),
        (["REMOVE contains:("], "bad-expression", "not a regular expression"),
        (["ADD Patient_Name x"], "add-field", "keyword or a hex tag"),
        (["KEEP (0008,1140)__0__(0008,1150)"], "keep-nested", "top-level tags"),
        (["LABEL PatientID x"], "ignored-label", "ignores LABEL"),
        (["REMOVE values:nothere"], "unknown-list", "no %values nothere"),
        (["REPLACE PatientID func:make"], "missing-name", "no function 'make'"),
        (["REPLACE PatientID var:id"], "missing-name", "no value 'id'"),
    ],
    ids=[
        "remove-comment",
        "add-comment",
        "var-comment",
        "deid-func",
        "jitter",
        "regex",
        "add-field",
        "keep-nested",
        "label",
        "list",
        "func",
        "var",
    ],
)
def test_findings_without_data(lines: list[str], code: str, message: str) -> None:
    found = _recipe(*lines).lint()
    assert list(found.columns) == ["lineno", "line", "code", "message"]
    row = found[found.code == code]
    assert len(row) == 1, found
    assert message in row.message.iloc[0]
    assert row.lineno.iloc[0] == 3
    assert row.line.iloc[0].split()[0] == lines[0].split()[0]


def test_split_parameters_deid_misreads() -> None:
    found = Recipe.from_file(DATA / "docs" / "recipe-groups.dicom").lint()
    messages = found[found.code == "split-param"].message.tolist()
    assert any("ignores splitval=" in m for m in messages)
    assert any("minlength='4'" in m for m in messages)


def test_a_clean_recipe_has_no_findings(cookies: pd.DataFrame) -> None:
    recipe = _recipe("REPLACE PatientID var:id", "REMOVE OperatorsName")
    assert recipe.lint(cookies, {"id": "x"}).empty


def test_no_match_and_lookups_per_file(cookies: pd.DataFrame) -> None:
    first = str(cookies.file.cat.categories[0])
    recipe = _recipe("REMOVE contains:Trial", "REPLACE PatientID var:id")
    found = recipe.lint(cookies, {first: {"id": "x"}})
    assert found.code.tolist() == ["no-match", "missing-name"]
    assert "for 6 of 7 files" in found.message.iloc[1]


def test_conflicts_say_who_wins(cookies: pd.DataFrame) -> None:
    recipe = _recipe(
        "KEEP PatientSex",
        "BLANK contains:Patient",
        "REPLACE PatientName X",
        "REMOVE PatientName",
        "REMOVE PatientID",
        "REMOVE PatientID",
    )
    found = recipe.lint(cookies)
    conflicts = found[found.code == "conflict"]
    messages = dict(zip(conflicts.lineno.astype(int), conflicts.message, strict=False))
    assert "KEEP wins" in messages[4]
    assert "the later line (REPLACE) wins" in messages[5]
    assert "REPLACE wins (it protects" in messages[6]
    assert not any("(REMOVE PatientID)" in m for m in messages.values())  # same action


def test_filter_fields(cookies: pd.DataFrame) -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter g\nLABEL a\n  contains PatientSex F\n"
        "  + contains CodeMeaning x\n  + missing NotAKeyword\n"
        "LABEL b\n  keepcoordinates from:SequenceOfUltrasoundRegions\n"
    )
    assert recipe.lint().code.tolist() == ["filter-field"]
    found = recipe.lint(cookies)
    assert found.code.tolist() == ["filter-field"] * 3
    assert "not a DICOM keyword" in found.message.iloc[1]
    assert "SequenceOfUltrasoundRegions" in found.message.iloc[2]


def test_warn_issues_warnings() -> None:
    with pytest.warns(RecipeLintWarning, match="line 3: remove-never"):
        _recipe("REMOVE PatientID # x").lint(warn=True)


def test_lint_reads_every_shipped_and_docs_recipe(cookies: pd.DataFrame) -> None:
    from _recipe_helpers import all_recipes

    for path in all_recipes():
        found = Recipe.from_file(path).lint(cookies)
        assert set(found.code) <= {
            "no-match", "unknown-list", "missing-name", "unknown-deid-func",
            "conflict", "split-param", "add-field", "filter-field",
        }, (path, found)  # fmt: skip


def test_splitval_really_is_ignored_by_deid(tmp_path: Path) -> None:
    """The split-param finding is true: deid splits at spaces, not at ^."""
    import pydicom
    from deid.dicom.groups import extract_values_list

    from samples import write_dicom

    ds = pydicom.dcmread(write_dicom(tmp_path / "a.dcm", PatientName="Doe^John Smith"))
    with quiet():
        values = extract_values_list(
            ds, [{"action": "SPLIT", "field": "PatientName", "value": "splitval='^'"}]
        )
    assert sorted(values) == ["Doe^John", "Smith"]
