"""Recipe.lint: each finding, with and without data."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import deidscope.recipe._lint as _lint
from _recipe_helpers import DATA, quiet
from deidscope import read_identifiers
from deidscope.errors import InputError
from deidscope.recipe import Recipe, RecipeLintWarning
from deidscope.recipe._format import item_text


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
    assert list(found.columns) == ["line", "text", "code", "message"]
    row = found[found.code == code]
    assert len(row) == 1, found
    assert message in row.message.iloc[0]
    assert row.line.iloc[0] == 3
    assert row.text.iloc[0].split()[0] == lines[0].split()[0]


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
    messages = dict(zip(conflicts.line.astype(int), conflicts.message, strict=False))
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


@pytest.mark.parity
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


# -- the result frame, runs, and conflicts found in linear time ---------------------


def test_an_empty_result_has_the_columns_and_dtypes_of_a_full_one(
    cookies: pd.DataFrame,
) -> None:
    empty = _recipe("REMOVE PatientID").lint(cookies)
    full = _recipe("REMOVE PatientID # x", "REMOVE contains:Trial").lint(cookies)
    assert empty.empty
    assert len(full) == 2
    assert (
        list(empty.columns) == list(full.columns) == ["line", "text", "code", "message"]
    )
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()
    assert str(full["line"].dtype) == "Int64"
    assert full["line"].tolist() == [3, 4]
    assert full["text"].tolist() == ["REMOVE PatientID # x", "REMOVE contains:Trial"]


def test_lint_reads_a_run_and_checks_it_is_of_this_recipe(
    cookies: pd.DataFrame,
) -> None:
    recipe = _recipe("KEEP PatientSex", "BLANK contains:Patient", "REPLACE x var:id")
    run = recipe.run(cookies, {"id": "x"})
    pd.testing.assert_frame_equal(recipe.lint(run), recipe.lint(cookies, {"id": "x"}))
    assert "missing-name" not in set(recipe.lint(run).code)  # the run's lookup
    other = _recipe("REMOVE PatientID")
    with pytest.raises(InputError, match="expected a run of this recipe"):
        other.lint(run)
    with pytest.raises(InputError, match="the run has its lookup"):
        recipe.lint(run, {"id": "y"})


_FIELDS = [
    "PatientName", "PatientID", "PatientSex", "PatientBirthDate", "StudyDate",
    "StudyTime", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
    "OperatorsName", "ReferringPhysicianName", "AccessionNumber", "Modality",
    "contains:Date", "contains:Name", "endswith:UID", "select:VR:PN",
    "startswith:Patient", "NotInTheData",
]  # fmt: skip
_ACTIONS = ["REMOVE", "BLANK", "KEEP", "REPLACE X", "REPLACE Y", "JITTER 1", "JITTER 2"]


def _generated(n: int, seed: int) -> Recipe:
    """A recipe of `n` lines over the cookies' fields, with many conflicts."""
    rnd = random.Random(seed)
    lines = []
    for _ in range(n):
        verb, _, value = rnd.choice(_ACTIONS).partition(" ")
        lines.append(f"{verb} {rnd.choice(_FIELDS)} {value}".rstrip())
    return _recipe(*lines)


def _pairwise_conflicts(recipe: Recipe, run: Any) -> list[tuple[int, str]]:
    """The conflicts as lint found them before: every pair of lines compared."""
    present = run.present
    acting = [
        (n, a)
        for n, a in recipe._numbered()
        if a.action not in ("ADD", "LABEL")
        and (run.keys.match(a.field) & present).any()
    ]
    found = []
    for i, (first_line, first) in enumerate(acting):
        for second_line, second in acting[i + 1 :]:
            same = first.action == second.action
            if same and (
                first.action in ("KEEP", "REMOVE", "BLANK")
                or first.value == second.value
            ):
                continue
            both = run.keys.match(first.field) & run.keys.match(second.field)
            both &= present
            if not both.any():
                continue
            names = sorted(
                {
                    run.keys.deid_names[k] or run.keys.uids[k]
                    for k in np.flatnonzero(both)
                }
            )
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            winner = _lint._winner(first, second)
            found.append(
                (
                    second_line,
                    f"line {first_line} ({first.action} {first.field}) also acts on "
                    f"{len(names)} of these fields ({shown}); {winner}",
                )
            )
    return sorted(found, key=lambda pair: pair[0])  # stable: by line, then first


def test_conflicts_are_those_of_comparing_every_pair(cookies: pd.DataFrame) -> None:
    recipe = _generated(300, seed=1)
    run = recipe.run(cookies)
    found = recipe.lint(run)
    conflicts = found[found.code == "conflict"]
    expected = _pairwise_conflicts(recipe, run)
    assert len(expected) > 1000  # enough to be a test
    assert list(zip(conflicts.line.astype(int), conflicts.message, strict=True)) == (
        expected
    )
    texts = dict(zip(conflicts.line.astype(int), conflicts.text, strict=False))
    assert all(texts[n] == item_text(recipe.action_at(n)) for n in texts)


def test_conflicts_take_work_linear_in_the_lines(cookies: pd.DataFrame) -> None:
    work = {}
    for n in (250, 1000):
        recipe = _generated(n, seed=2)
        run = recipe.run(cookies)
        acting = [(k, a) for k, a in recipe._numbered() if a.field != "NotInTheData"]
        masks = {k: run.keys.match(a.field) & run.present for k, a in acting}
        stats: dict[str, int] = {}
        pairs = _lint.conflict_pairs(acting, masks, stats=stats)
        named = sum(int(mask.sum()) for mask in masks.values())
        # each line looks at most at one group per signature, per field it names
        assert stats["visits"] <= len(_ACTIONS) * named
        assert stats["pairs"] == len(pairs)
        work[n] = stats["visits"]
    # comparing every pair: 31,125 and 499,500 comparisons
    assert work[1000] < 1000 * 999 // 2 // 20
