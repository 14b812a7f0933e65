"""RecipeRun: one engine run per (recipe, frame), read by preview, matches and apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import deidscope.recipe._run as run_module
from _recipe_helpers import DATA, LOOKUP, parity_files
from deidscope import read_identifiers
from deidscope.dicom import replace_identifiers
from deidscope.errors import InputError
from deidscope.recipe import Action, Recipe, RecipeFunctionError, RecipeRun
from deidscope.recipe._engine import run_header
from deidscope.recipe._preview import file_lookups, outcome_frame

#: Every readable recipe of tests/recipe/data (docs-invalid left out).
RECIPE_FILES = sorted(
    p
    for folder in ("docs", "examples", "stress")
    for p in (DATA / folder).iterdir()
    if p.suffix != ".md"
)


def _recipes() -> dict[str, Recipe]:
    recipes = {
        "profile": Recipe.from_profile(),
        "profile-retain-uids": Recipe.from_profile(["retain_uids"]),
    }
    for path in RECIPE_FILES:
        recipe = Recipe.from_file(path)
        if recipe.header:
            recipes[f"{path.parent.name}/{path.name}"] = recipe
    return recipes


RECIPES = _recipes()


@pytest.fixture(scope="module")
def cookies() -> pd.DataFrame:
    return read_identifiers([f for f in parity_files() if "dicom-cookies" in f])


#: More sample files: nested sequences (rtplan, rtstruct, CT5N), private
#: blocks, file meta, an ultrasound, a radiograph.
OTHERS = ("cat", "ctbrain1", "RGB_IMAGE", "CT_small", "MR_small", "rt", "2392", "dfl")


@pytest.fixture(scope="module")
def others() -> pd.DataFrame:
    files = [
        f
        for f in parity_files()
        if any(part in Path(f).name for part in OTHERS) and "ctbrain2" not in f
    ]
    assert len(files) == 9, files
    return read_identifiers(files)


@pytest.fixture(scope="module", params=["cookies", "others"])
def frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    result: pd.DataFrame = request.getfixturevalue(request.param)
    return result


def _lookups(df: pd.DataFrame, lookup: Any) -> list[dict[str, Any]]:
    files = [str(f) for f in df["file"].cat.categories]
    return file_lookups(files, lookup, caller="test")


def reference_preview(recipe: Recipe, df: pd.DataFrame, lookup: Any) -> pd.DataFrame:
    """The preview as it was made before RecipeRun: the engine called directly."""
    outcome = run_header(
        recipe._numbered(), recipe.values, recipe.fields, df, _lookups(df, lookup)
    )
    return outcome_frame(outcome)


def reference_matches(recipe: Recipe, field: str, df: pd.DataFrame) -> np.ndarray:
    """Recipe.matches as it was: the engine run with the line as a lone BLANK."""
    outcome = run_header(
        [(1, Action("BLANK", field))],
        recipe.values,
        recipe.fields,
        df,
        _lookups(df, None),
    )
    n = outcome.n_original
    named = (
        (outcome.line[:n] == 1) & (outcome.action[:n] == "BLANK") & ~outcome.removed[:n]
    )
    return np.flatnonzero(named)


def _checked_lines(recipe: Recipe, run: RecipeRun) -> list[tuple[int, Action]]:
    """All lines of a small recipe; of a long one, 10 of those that name
    something and every 100th (the reference runs the engine once per line)."""
    numbered = recipe._numbered()
    if len(numbered) <= 40:
        return numbered
    present = run.present
    naming = [(n, a) for n, a in numbered if (run.keys.match(a.field) & present).any()]
    step = max(len(naming) // 10, 1)
    chosen = dict(naming[::step] + numbered[::100])
    return sorted(chosen.items(), key=lambda line: line[0])


@pytest.mark.parametrize("name", list(RECIPES))
def test_run_preview_and_line_matches_are_what_the_engine_says(
    name: str, frame: pd.DataFrame
) -> None:
    recipe = RECIPES[name]
    try:
        expected = reference_preview(recipe, frame, LOOKUP)
    except Exception as exc:  # the recipe fails on this data: so does the run
        with pytest.raises(type(exc)):
            recipe.run(frame, LOOKUP)
        return
    run = recipe.run(frame, LOOKUP)
    pd.testing.assert_frame_equal(run.preview(), expected)
    pd.testing.assert_frame_equal(recipe.preview(frame, LOOKUP), expected)
    table = run.line_matches()
    assert list(table.columns) == ["line", "row"]
    assert table.dtypes.tolist() == [np.dtype(np.int64)] * 2
    by_line = {n: rows.to_numpy() for n, rows in table.groupby("line")["row"]}
    counts = run.line_counts().set_index("line")
    for number, action in _checked_lines(recipe, run):
        rows = by_line.get(number, np.zeros(0, dtype=np.int64))
        np.testing.assert_array_equal(
            rows, reference_matches(recipe, action.field, frame)
        )
        np.testing.assert_array_equal(rows, run.rows(number))
        assert counts.loc[number, "matched"] == len(rows)
        assert counts.loc[number, "files"] == frame["file"].iloc[rows].nunique()
    for number, _ in recipe._numbered()[:2]:  # each a run of its own
        pd.testing.assert_frame_equal(
            recipe.matches(number, frame), frame.iloc[by_line.get(number, [])]
        )
    decided = expected["line"].value_counts()
    for number, row in counts.iterrows():
        assert row["decided"] == decided.get(number, 0)


def test_line_counts_columns_and_a_bad_line(cookies: pd.DataFrame) -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%header\nKEEP PatientName\nBLANK contains:Patient\n"
        "REMOVE contains:(\n"
    )
    with pytest.raises(InputError, match="is not a regular expression"):
        recipe.run(cookies)
    run = recipe.run(cookies, errors="collect")
    ((line, text, _reason),) = run.skipped
    assert (line, text) == (5, "REMOVE contains:(")
    with pytest.raises(InputError, match=r"recipe field 'contains:\(': "):
        run.check()
    counts = run.line_counts()
    assert list(counts.columns) == ["line", "text", "matched", "files", "decided"]
    assert counts["line"].tolist() == [3, 4, 5]
    assert counts["text"].tolist() == [
        "KEEP PatientName",
        "BLANK contains:Patient",
        "REMOVE contains:(",
    ]
    assert counts["matched"].tolist()[:2] == [7, 35]  # KEEP hides nothing here
    assert counts["matched"].isna().tolist() == [False, False, True]
    assert counts["files"].tolist()[:2] == [7, 7]
    assert counts["decided"].tolist() == [7, 28, 0]
    assert set(run.line_matches()["line"]) == {3, 4}


def test_a_row_in_a_sequence_the_line_names_is_left_out(others: pd.DataFrame) -> None:
    recipe = Recipe.from_text("FORMAT dicom\n%header\nBLANK contains:Sequence\n")
    run = recipe.run(others)
    rows = run.rows(3)
    named = run.keys.match("contains:Sequence")[run.rowkey]
    uids = others["uid"].astype(str).to_numpy()
    assert named.sum() > len(rows)  # nested sequences are named too...
    assert not any("__" in uid for uid in uids[rows])  # ...but their parents win


def test_a_run_is_immutable_and_copies_the_recipe(cookies: pd.DataFrame) -> None:
    recipe = Recipe.from_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    run = recipe.run(cookies)
    assert run.is_run_of(recipe)
    recipe.header[0].field = "PatientName"  # the run does not follow
    assert not run.is_run_of(recipe)
    assert run.lines[0][1].field == "PatientID"
    assert set(run.preview()["uid"].astype(str)) == {"(0010, 0020)"}
    for array in (run.rowkey, run.outcome.text, run.outcome.line, run.rows(3)):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[0]
    first = run.preview()
    first.loc[0, "after"] = "changed"
    assert run.preview()["after"].isna().all()


def test_errors_collect_keeps_the_files_whose_function_raised(
    cookies: pd.DataFrame,
) -> None:
    uids = cookies[cookies["name"] == "SOPInstanceUID"]
    first = str(uids["file"].iloc[0])
    bad = str(uids["value"].iloc[0])

    def explode(**kwargs: Any) -> str:
        if kwargs["field"].element.value == bad:
            raise KeyError(bad)
        return "1.2.3"

    recipe = Recipe.from_text(
        "FORMAT dicom\n%header\nREPLACE SOPInstanceUID func:explode\n"
    )
    with pytest.raises(RecipeFunctionError, match=r"Recipe\.run: "):
        recipe.run(cookies, {"explode": explode})
    run = recipe.run(cookies, {"explode": explode}, errors="collect")
    assert list(run.failures) == [first]
    assert bad in str(run.failures[first])
    with pytest.raises(RecipeFunctionError, match="func:explode raised KeyError"):
        run.check()
    with pytest.raises(InputError, match="errors must be 'raise' or 'collect'"):
        recipe.run(cookies, errors="warn")  # type: ignore[arg-type]


def test_matches_by_expression_and_unknown_lines(cookies: pd.DataFrame) -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%values ids\nFIELD PatientID\n%header\nREMOVE values:ids\n"
    )
    run = recipe.run(cookies)
    assert "(0010, 0020)" in set(run.matches(5)["uid"].astype(str))
    pd.testing.assert_frame_equal(run.matches(5), run.matches("values:ids"))
    assert run.matches("PatientSex")["uid"].astype(str).unique().tolist() == [
        "(0010, 0040)"
    ]
    with pytest.raises(InputError, match="no %header line 9"):
        run.matches(9)
    with pytest.raises(InputError, match="expected an Action, a line number"):
        run.matches(1.5)  # type: ignore[arg-type]
    table = recipe.line_matches(cookies)
    np.testing.assert_array_equal(table["row"], run.rows(5))


def test_a_recipe_built_in_python_is_numbered_as_its_text(
    cookies: pd.DataFrame,
) -> None:
    recipe = Recipe(header=[Action("KEEP", "PatientSex"), Action("BLANK", "all")])
    run = recipe.run(cookies)
    assert [n for n, _ in run.lines] == [5, 6]  # FORMAT, blank, %header, blank
    assert len(run.matches(5)) == 7
    assert run.line_counts()["decided"].tolist() == [7, len(cookies) - 7]


def test_replace_identifiers_reads_a_run(
    cookie_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import deidscope.recipe._apply as apply_module

    made: list[RecipeRun] = []

    class Recording(RecipeRun):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(apply_module, "RecipeRun", Recording)
    recipe = Recipe.from_text(
        "FORMAT dicom\n%header\nREPLACE PatientID var:id\nBLANK PatientName\n"
    )
    datasets = replace_identifiers(cookie_files, deid=recipe, lookup={"id": "anon"})
    (run,) = made
    preview = run.preview()
    assert (preview["after"][preview["uid"] == "(0010, 0020)"] == "anon").all()
    assert {str(ds.PatientID) for ds in datasets} == {"anon"}
    assert all(ds["PatientName"].value in (None, "") for ds in datasets)


def test_one_engine_run_feeds_preview_matches_and_counts(
    cookies: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return run_header(*args, **kwargs)

    monkeypatch.setattr(run_module, "run_header", counting)
    recipe = Recipe.from_profile()
    run = recipe.run(cookies)
    run.preview()
    run.line_matches()
    run.line_counts()
    for number, _ in recipe._numbered()[:50]:
        run.matches(number)
    recipe.lint(run)
    assert len(calls) == 1


def test_run_rejects_other_data(tmp_path: Path) -> None:
    recipe = Recipe.from_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    with pytest.raises(InputError, match=r"Recipe\.run: expected an identifier"):
        recipe.run([1, 2])
