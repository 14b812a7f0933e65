"""RecipeBuilder, headless: recipe text, lines added, preview, lint, coverage, save."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
import traitlets

import deidscope
from deidscope.audit import coverage
from deidscope.data import get_dataset
from deidscope.errors import InputError
from deidscope.recipe import Recipe
from deidscope.widgets import FieldBrowser, RecipeBuilder


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return deidscope.read_identifiers(get_dataset("dicom-cookies"))


@pytest.fixture
def builder(df: pd.DataFrame) -> RecipeBuilder:
    return RecipeBuilder(df)


def test_widgets_builder_starts_empty(builder: RecipeBuilder) -> None:
    assert builder.recipe_text.startswith("FORMAT dicom")
    assert builder.recipe == Recipe()
    assert builder.error == ""
    assert builder.line_hits.empty


def test_widgets_builder_add_lines_updates_text_live(builder: RecipeBuilder) -> None:
    builder._fields.value = ("PatientName", "PatientID")  # a person picks two
    builder._action.value = "REMOVE"
    builder._add.click()
    assert builder.recipe_text.splitlines()[-2:] == [
        "REMOVE PatientName",
        "REMOVE PatientID",
    ]
    assert builder._text.value == builder.recipe_text  # the box shows it
    builder._action.value = "REPLACE"
    builder._value.value = "anonymous"
    builder._fields.value = ("OperatorsName",)
    builder._add.click()
    assert "REPLACE OperatorsName anonymous" in builder.recipe_text
    assert builder.line_hits["text"].tolist() == [
        "REMOVE PatientName",
        "REMOVE PatientID",
        "REPLACE OperatorsName anonymous",
    ]
    assert Recipe.from_text(builder.recipe_text) == builder.recipe


def test_widgets_builder_text_edits_are_parsed(builder: RecipeBuilder) -> None:
    builder._text.value = "FORMAT dicom\n%header\nBLANK StudyDate\n"
    assert [(a.action, a.field) for a in builder.recipe.header] == [
        ("BLANK", "StudyDate")
    ]
    builder._text.value = "FORMAT dicom\n%header\nBOGUS x\n"
    assert "line 3" in builder.error
    assert "BOGUS" in builder._status.value
    assert [a.field for a in builder.recipe.header] == ["StudyDate"]  # last good


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fields": []}, "pick at least one field"),
        ({"fields": ["PatientName"], "action": "DELETE"}, "expected an action in"),
        (
            {"fields": ["PatientName"], "action": "REPLACE", "value": " "},
            "needs a value",
        ),
        ({"fields": ["Patient Name"], "action": "REMOVE"}, "one token"),
    ],
    ids=["no-fields", "bad-action", "no-value", "two-tokens"],
)
def test_widgets_builder_add_lines_rejects(
    builder: RecipeBuilder, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        builder.add_lines(**kwargs)  # type: ignore[arg-type]


def test_widgets_builder_add_click_reports_errors(builder: RecipeBuilder) -> None:
    builder._add.click()  # nothing picked
    assert "pick at least one field" in builder._status.value


def test_widgets_builder_search_narrows_the_list(builder: RecipeBuilder) -> None:
    builder._search.value = "physician"
    assert builder._fields.options
    assert all("physician" in name.lower() for name in builder._fields.options)


def test_widgets_builder_takes_browser_picks(df: pd.DataFrame) -> None:
    browser = FieldBrowser(df)
    builder = RecipeBuilder(df)
    builder.connect_browser(browser)
    browser.vrs = ("PN",)
    browser._pick_all.click()
    assert set(builder.fields) == set(browser.selected["name"].astype(str))
    builder.add_lines(action="BLANK")
    assert "BLANK PatientName" in builder.recipe_text


def test_widgets_builder_filter_label(builder: RecipeBuilder) -> None:
    builder.add_filter_label(
        "LABEL Cookie\n  missing Modality\n  coordinates 0,0,10,10\n"
    )
    (group,) = builder.recipe.filters
    assert group.name == "graylist"
    assert group.labels[0].name == "Cookie"
    assert "1 filter labels" in builder._status.value


def test_widgets_builder_save_never_overwrites(
    builder: RecipeBuilder, tmp_path: Path
) -> None:
    builder.add_lines(["PatientName"], "REMOVE")
    target = tmp_path / "my.recipe"
    builder._path.value = str(target)
    builder._save.click()
    assert builder.saved_path == str(target)
    assert Recipe.from_file(target) == builder.recipe
    builder.add_lines(["PatientID"], "REMOVE")
    builder._save.click()  # exists and overwrite is off
    assert "PatientID" not in target.read_text()
    assert "deidscope-error" in builder._saved.value
    builder._overwrite.value = True
    builder._save.click()
    assert "REMOVE PatientID" in target.read_text()


def test_widgets_builder_starts_from_recipe_file(
    df: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "deid.start"
    path.write_text("FORMAT dicom\n\n%header\n\nREMOVE PatientID\n")
    builder = RecipeBuilder(df, recipe=path)
    assert [a.field for a in builder.recipe.header] == ["PatientID"]
    builder.add_lines(["PatientName"], "REMOVE")
    assert "REMOVE PatientName" not in path.read_text()  # the file is untouched


def test_widgets_builder_recipe_property_is_a_copy(builder: RecipeBuilder) -> None:
    recipe = builder.recipe
    recipe.header.clear()
    builder.add_lines(["PatientName"], "REMOVE")
    assert len(builder.recipe.header) == 1


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("action", "DELETE", "action"),
        ("shown_line", 99, "shown_line must be 0 or a %header line number"),
        ("fields", (1,), "fields must be str"),
    ],
    ids=["action", "line", "fields"],
)
def test_widgets_builder_validates_traits(
    builder: RecipeBuilder, trait: str, value: object, match: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(builder, trait, value)


def test_widgets_builder_rejects_bad_input(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="RecipeBuilder: expected the identifier"):
        RecipeBuilder([1])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expected a Recipe, recipe text or a recipe"):
        RecipeBuilder(df, recipe=3)


def test_widgets_builder_preview_and_rows_per_line(builder: RecipeBuilder) -> None:
    builder.add_lines(["PatientName"], "REPLACE", "anonymous")
    preview = builder.preview
    assert preview is not None
    rows = preview[preview["uid"].astype(str) == "(0010, 0010)"]
    assert len(rows) == 7
    assert set(rows["after"]) == {"anonymous"}
    assert "<th>before</th>" in builder._preview.value
    (line,) = builder.line_hits["line"]
    assert builder.line_hits["rows"].tolist() == [7]
    assert builder.line_hits["matched"].tolist() == [7]
    builder._lines.value = line
    assert "decides 7 rows" in builder._line_rows.value
    assert "matches 7 rows" in builder._line_rows.value


def test_widgets_builder_lint_and_coverage(
    builder: RecipeBuilder, df: pd.DataFrame
) -> None:
    builder.add_lines(["contains:NoSuchFieldAnywhere"], "REMOVE")
    lint = builder.warnings
    assert list(lint.columns) == ["line", "text", "code", "message"]
    assert lint["code"].tolist() == ["no-match"]
    assert lint["text"].tolist() == ["REMOVE contains:NoSuchFieldAnywhere"]
    assert lint["line"].tolist() == [builder.line_hits["line"].iloc[0]]
    assert "NoSuchFieldAnywhere" in lint["message"].iloc[0]
    assert "1 warning</b>" in builder._lint.value
    assert "no-match" in builder._lint.value
    assert builder.coverage is not None
    assert "PatientName" in set(builder.coverage["name"])
    assert "PS3.15 gaps" in builder._coverage.value
    builder.add_lines(["PatientName"], "REMOVE")  # the gap closes
    assert "PatientName" not in set(builder.coverage["name"])
    pd.testing.assert_frame_equal(builder.coverage, coverage(df, builder.recipe))


def test_widgets_builder_no_lint_warnings(builder: RecipeBuilder) -> None:
    builder.add_lines(["PatientName"], "REMOVE")
    assert builder.warnings.empty
    assert "no warnings" in builder._lint.value


def test_widgets_builder_from_profile(builder: RecipeBuilder) -> None:
    builder._profile_options.value = ("retain_uids",)
    builder._from_profile.click()
    assert builder.recipe == Recipe.from_profile(options=("retain_uids",))
    assert builder.error == ""
    assert builder.preview is not None
    assert not builder.preview.empty


def test_widgets_builder_gaps_follow_the_profile_options(
    builder: RecipeBuilder, df: pd.DataFrame
) -> None:
    builder._profile_options.value = ("retain_uids",)
    builder._from_profile.click()
    assert builder.profile_options == ("retain_uids",)
    assert builder.coverage is not None
    kept = {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"}
    assert kept <= set(df["name"])  # the cookies carry the UIDs the profile keeps
    assert not kept & set(builder.coverage["name"])
    assert "KEEP" not in set(builder.coverage["decision"])
    recipe = Recipe.from_profile(options=("retain_uids",))
    pd.testing.assert_frame_equal(
        builder.coverage, coverage(df, recipe, options=("retain_uids",))
    )
    assert "(options: retain_uids)" in builder._coverage.value
    builder.set_recipe(recipe)  # the same recipe, no longer from the profile
    assert builder.profile_options == ()
    assert kept <= set(builder.coverage["name"])


def test_widgets_builder_from_profile_reports_bad_options(
    builder: RecipeBuilder,
) -> None:
    with pytest.raises(InputError, match="no_such_option"):
        builder.start_from_profile(["no_such_option"])


def test_widgets_builder_start_from_profile_runs_the_engine_once(
    builder: RecipeBuilder, df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deidscope.recipe._run as run_module

    real = run_module.run_header
    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run_module, "run_header", counting)
    builder.start_from_profile()
    assert len(calls) == 1
    recipe = Recipe.from_profile()
    assert builder.preview is not None
    pd.testing.assert_frame_equal(builder.preview, recipe.preview(df))
    assert len(builder.line_hits) == len(recipe.header)
    assert list(builder.line_hits.columns) == [
        "line",
        "text",
        "rows",
        "matched",
        "files",
    ]
    for line in builder.line_hits["line"].iloc[::60]:
        found = builder.line_hits.set_index("line").loc[line]
        assert found["matched"] == len(recipe.matches(int(line), df))
    assert builder.line_hits["rows"].sum() == len(builder.preview)
    assert builder.coverage is not None
    pd.testing.assert_frame_equal(builder.coverage, coverage(df, recipe))


def test_widgets_builder_is_busy_while_it_works(builder: RecipeBuilder) -> None:
    seen: list[bool] = []
    buttons: list[bool] = []
    working: list[str] = []

    def on_busy(change: dict[str, object]) -> None:
        seen.append(bool(change["new"]))
        buttons.append(builder._add.disabled and builder._from_profile.disabled)
        working.append(builder._working.value)

    builder.observe(on_busy, "busy")
    assert builder.busy is False
    builder.add_lines(["PatientName"], "REMOVE")
    assert seen == [True, False]
    assert buttons == [True, False]
    assert "working" in working[0]
    assert working[1] == ""
    assert builder.busy is False
    with pytest.raises(traitlets.TraitError, match="read-only"):
        builder.busy = True


def test_widgets_builder_not_busy_after_a_failure(
    builder: RecipeBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no")

    monkeypatch.setattr(builder, "_compute_lint", broken)
    with pytest.raises(RuntimeError, match="no"):
        builder.add_lines(["PatientName"], "REMOVE")
    assert builder.busy is False
    assert not builder._add.disabled
    assert builder._working.value == ""


def test_widgets_builder_a_line_deid_fails_on(builder: RecipeBuilder) -> None:
    builder.recipe_text = (
        "FORMAT dicom\n%header\nREMOVE PatientName\nREMOVE contains:(\n"
    )
    assert builder.preview is None
    assert "is not a regular expression" in builder._status.value
    assert builder.line_hits["matched"].tolist()[0] == 7
    assert builder.line_hits["matched"].isna().tolist() == [False, True]
    assert "bad-expression" in set(builder.warnings["code"])
    builder._lines.value = 3
    assert "matches 7 rows" in builder._line_rows.value


def test_widgets_builder_a_syntax_error_is_never_replaced_by_a_stale_preview(
    builder: RecipeBuilder,
) -> None:
    builder.recipe_text = "FORMAT dicom\n%header\nREPLACE PatientName x\n"
    assert builder.preview is not None
    assert len(builder.preview) == 7
    builder.recipe_text = "FORMAT dicom\n%header\nFROB PatientName x\n"
    for _ in range(2):  # as typed, then after a click on Preview
        assert "line 3" in builder.error
        assert builder.preview is None
        assert "FROB" in builder._status.value
        assert "no preview" in builder._preview.value
        builder._preview_button.click()
    builder.recipe_text = "FORMAT dicom\n%header\nREMOVE PatientName\n"
    assert builder.error == ""
    assert builder.preview is not None
    assert set(builder.preview["action"]) == {"REMOVE"}


def test_widgets_builder_status_follows_start_from_profile(
    builder: RecipeBuilder,
) -> None:
    builder.recipe_text = "FORMAT dicom\n%header\nFROB x\n"
    builder.start_from_profile()
    n_lines = len(Recipe.from_profile().header)
    assert builder.error == ""
    assert builder._status.value.startswith(f"{n_lines} header lines")
    assert "rows changed or kept" in builder._status.value


RECIPE = "FORMAT dicom\n\n%header\n\nREPLACE PatientName lolo\nREMOVE StudyDate\n"


def test_widgets_builder_typing_runs_once_per_pause(df: pd.DataFrame) -> None:
    """With an event loop (a kernel), keys within the pause make one run."""

    async def type_keys() -> tuple[int, int, str]:
        builder = RecipeBuilder(df, debounce=0.05)
        before = builder.runs
        text = ""
        for char in RECIPE:  # one change of the box per key, as a browser sends
            text += char
            builder._text.value = text
        typed_runs = builder.runs - before
        shown = builder._working.value
        await asyncio.sleep(0.3)
        return typed_runs, builder.runs - before, shown

    typed_runs, runs, shown = asyncio.run(type_keys())
    assert typed_runs == 0  # nothing ran while typing
    assert shown == "<i>typing…</i>"
    assert runs == 1  # one engine run for the whole edit


def test_widgets_builder_typing_without_a_loop_is_at_once(
    builder: RecipeBuilder,
) -> None:
    before = builder.runs
    builder._text.value = RECIPE
    assert builder.recipe_text == RECIPE
    assert builder.runs == before + 1
    assert builder.line_hits["line"].tolist() == [5, 6]


def test_widgets_builder_preview_button_takes_pending_text(df: pd.DataFrame) -> None:
    async def type_then_click() -> RecipeBuilder:
        builder = RecipeBuilder(df, debounce=5)
        builder._text.value = RECIPE
        builder._preview_button.click()  # before the pause ends
        return builder

    builder = asyncio.run(type_then_click())
    assert builder.recipe_text == RECIPE
    assert builder._pending is None
    assert builder.line_hits["line"].tolist() == [5, 6]


def test_widgets_builder_rejects_a_bad_debounce(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="debounce must be 0-10 seconds"):
        RecipeBuilder(df, debounce=-1)


def test_widgets_builder_counts_beside_each_line(builder: RecipeBuilder) -> None:
    builder.recipe_text = RECIPE + "JITTER StudyDate 1\n"
    gutter = builder._gutter.value.removeprefix("<pre>\n").removesuffix("</pre>")
    lines = gutter.split("\n")
    assert len(lines) == len(builder.recipe_text.split("\n"))
    assert lines[4] == "← 7 rows · 7 files"  # REPLACE PatientName, line 5
    assert lines[5] == "← 0 rows · 0 files (matches 7 in 7 files)"  # JITTER wins
    assert lines[6] == "← 7 rows · 7 files"
    assert lines[0] == lines[2] == ""
    builder.recipe_text = RECIPE + "BOGUS x\n"
    assert builder._gutter.value == ""  # no counts of an older text


def test_widgets_builder_preview_is_grouped_by_line(builder: RecipeBuilder) -> None:
    builder.recipe_text = "FORMAT dicom\n%header\nREPLACE PatientName nameless\n"
    html = builder._preview.value
    assert 'class="deidscope-tag deidscope-act-REPLACE"' in html
    assert "line 3: <code>REPLACE PatientName nameless</code>" in html
    assert "<b>7 rows</b> in 7 files" in html
    # "nameless waterfall" -> "nameless": the cut part is marked
    assert "<td>nameless<del> waterfall</del></td><td>nameless</td>" in html
    assert 'download="recipe-preview.csv"' in html


def test_widgets_builder_diff_html_escapes() -> None:
    from deidscope.widgets.recipe_builder import diff_html

    old, new = diff_html("<a>1", "<a>2")
    assert old == "&lt;a&gt;<del>1</del>"
    assert new == "&lt;a&gt;<ins>2</ins>"
    assert diff_html(None, "x") == ("", "<ins>x</ins>")


def test_widgets_builder_summary_tables_are_compact_with_downloads(
    builder: RecipeBuilder,
) -> None:
    import base64

    builder.start_from_profile()
    builder.recipe_text = RECIPE
    gaps = builder._coverage.value
    assert 'class="deidscope-compact"' in gaps
    assert 'download="ps315-gaps.csv"' in gaps
    encoded = gaps.split("data:text/csv;base64,", 1)[1].split('"', 1)[0]
    csv = base64.b64decode(encoded).decode()
    assert csv.splitlines()[0].split(",")[:3] == ["name", "tag", "VR"]
    assert len(csv.splitlines()) == len(builder.coverage) + 1


def test_widgets_builder_diff_html_marks_a_replacement_whole() -> None:
    from deidscope.widgets.recipe_builder import diff_html

    assert diff_html("Dr. dry breeze", "anonymous") == (
        "<del>Dr. dry breeze</del>",
        "<ins>anonymous</ins>",
    )
    assert diff_html("20131210", "") == ("<del>20131210</del>", "")
