"""RecipeBuilder: draft a deid recipe against the data, seeing what each line does."""

from __future__ import annotations

import asyncio
import difflib
import os
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from deidscope import ps315
from deidscope.audit import coverage
from deidscope.errors import DeidscopeError, InputError
from deidscope.frame import check_frame
from deidscope.recipe import Action, Recipe, RecipeRun, add_filter_label
from deidscope.widgets._common import (
    STYLE,
    as_recipe,
    download_html,
    error_html,
    escape,
    logger,
    table_html,
)

__all__ = ["RecipeBuilder"]

#: Header actions the builder offers, and whether each takes a value.
ACTIONS: dict[str, bool] = {
    "REMOVE": False,
    "BLANK": False,
    "KEEP": False,
    "REPLACE": True,
    "JITTER": True,
    "ADD": True,
}
#: Compute the preview on every change up to this many rows (else on a click).
AUTO_PREVIEW_ROWS = 200_000
_PREVIEW_ROWS = 200
#: Rows of the grouped preview shown under each line (the download has all).
ROWS_PER_LINE = 12
#: Seconds of quiet typing before the text box's recipe is run.
DEBOUNCE_SECONDS = 0.25


class RecipeBuilder(widgets.VBox):  # type: ignore[misc]
    """Draft a deid recipe against an identifier frame.

    Pick fields (from a list, or a connected :class:`FieldBrowser`'s picked
    rows), choose an action and a value, and add the lines; or edit the text.
    The builder shows the recipe text, the preview (before and after per
    row), which rows each line hits, the linter's warnings and the PS3.15
    coverage gaps, and saves the recipe to a file. Each change runs the
    recipe once (``Recipe.run``) and all four are read from that run:
    ``run.preview()``, ``run.line_counts()``, ``Recipe.lint(run)`` and
    ``deidscope.audit.coverage(df, run)``. While it works, :attr:`busy` is
    True, the buttons are disabled and "working…" shows.

    The preview follows the text as it is typed: the box's text is read
    `debounce` seconds after the last key (one engine run per pause, not
    per key; at once where no event loop runs, as in a script). Beside
    the text, each ``%header`` line shows the rows it decides and their
    files; the preview is grouped by line, the action colour-coded and the
    part of each value that changes highlighted. A text that does not parse
    shows its error, and no preview of an older text.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame. Not modified.
    recipe : Recipe, str or os.PathLike, optional
        The recipe to start from: a Recipe, recipe text, or a file.
    debounce : float, optional
        Seconds of quiet typing before the text is run (default 0.25).

    Attributes
    ----------
    recipe : Recipe
        The current recipe (read-only property; the text is the source).
    recipe_text : str
        The recipe as text (a trait, linked to the text box).
    preview : pandas.DataFrame or None
        ``recipe.preview(df)``: one row per (file, uid) touched (None when
        the recipe cannot run: a line deid fails on, a function that raises).
    line_hits : pandas.DataFrame
        One row per ``%header`` line: ``line`` (its number), ``text``,
        ``rows`` (the rows where it is the line that decides, from the
        preview), ``matched`` (the rows its field expression names, as
        ``Recipe.matches``; <NA> if deid fails on it) and ``files`` (the
        files of those rows), from ``run.line_counts()``.
    warnings : pandas.DataFrame
        The linter's findings, ``Recipe.lint(run)``: one row per finding with
        ``line`` (the line number), ``text``, ``code`` and ``message``.
    coverage : pandas.DataFrame or None
        Fields the PS3.15 Basic Profile says to remove or replace that the
        recipe leaves alone (``deidscope.audit.coverage`` with
        :attr:`profile_options`).
    profile_options : tuple of str
        The PS3.15 options the recipe was started from
        (:meth:`start_from_profile`; empty after :meth:`set_recipe`).
    error : str
        Why the text could not be read or a step failed ("" when fine).
    saved_path : str
        Where the recipe was last saved.
    busy : bool
        True while the preview, rows per line, lint and coverage are being
        computed (read-only trait: observe it to follow the work).
    """

    recipe_text = traitlets.Unicode("")
    fields = traitlets.Tuple(help="the fields the next lines are for")
    action = traitlets.Enum(tuple(ACTIONS), default_value="REMOVE")
    value = traitlets.Unicode("")
    error = traitlets.Unicode("", read_only=True)
    saved_path = traitlets.Unicode("", read_only=True)
    shown_line = traitlets.Int(0, help="the line whose rows are shown (0: none)")
    profile_options = traitlets.Tuple(read_only=True)
    busy = traitlets.Bool(False, read_only=True)

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        recipe: Any = None,
        debounce: float = DEBOUNCE_SECONDS,
        **kwargs: Any,
    ) -> None:
        check_frame(
            df, caller="RecipeBuilder", columns=("file", "uid", "name", "value")
        )
        start = _start_recipe(recipe)
        super().__init__(**kwargs)
        self._df = df
        self._recipe = start
        self._browser: Any = None
        self.preview: pd.DataFrame | None = None
        self.line_hits = _line_hits(None)
        self._run: RecipeRun | None = None
        self.warnings = pd.DataFrame(columns=["line", "text", "code", "message"])
        self.coverage: pd.DataFrame | None = None
        self._auto = len(df) <= AUTO_PREVIEW_ROWS
        if not (isinstance(debounce, int | float) and 0 <= debounce <= 10):
            raise InputError(
                f"RecipeBuilder: debounce must be 0-10 seconds, got {debounce!r}"
            )
        self._debounce = float(debounce)
        self._pending: asyncio.TimerHandle | None = None
        #: How many times the engine ran (one per edit that parses).
        self.runs = 0

        names = sorted({str(n) for n in pd.unique(df["name"].dropna())})
        self._search = widgets.Text(description="Find", placeholder="field name text")
        self._fields = widgets.SelectMultiple(
            options=names, rows=8, description="Fields", layout={"width": "420px"}
        )
        self._from_browser = widgets.Button(
            description="Use picked rows", tooltip="fields of the browser's picks"
        )
        self._from_browser.disabled = True
        self._action = widgets.Dropdown(options=tuple(ACTIONS), description="Action")
        self._value = widgets.Text(
            description="Value", placeholder="for REPLACE/ADD/JITTER"
        )
        self._add = widgets.Button(description="Add lines", button_style="primary")
        self._profile_options = widgets.SelectMultiple(
            options=ps315.OPTIONS, rows=4, description="Options"
        )
        self._from_profile = widgets.Button(
            description="Start from PS3.15 profile", layout={"width": "220px"}
        )
        self._text = widgets.Textarea(
            rows=8,
            layout={"width": "auto", "flex": "1 1 0%", "min_width": "220px"},
            continuous_update=True,
        )
        self._text.add_class("deidscope-recipe")
        # the counts shrink (cut on the right) before the text does
        self._gutter = widgets.HTML(
            layout={"flex": "0 1 auto", "min_width": "120px", "overflow": "hidden"}
        )
        self._gutter.add_class("deidscope-gutter")
        self._status = widgets.HTML()
        self._status.add_class("deidscope-builder-status")
        self._working = widgets.HTML()
        self._working.add_class("deidscope-builder-busy")
        self._preview_button = widgets.Button(description="Preview")
        self._preview = widgets.HTML()
        self._preview.add_class("deidscope-preview")
        self._lines = widgets.Select(
            options=[("(pick a line to see its rows)", 0)],
            value=0,
            rows=6,
            layout={"width": "100%"},
        )
        self._line_rows = widgets.HTML()
        self._lint = widgets.HTML()
        self._coverage = widgets.HTML()
        self._path = widgets.Text(description="Save as", value="deid.dicom.recipe")
        self._overwrite = widgets.Checkbox(description="overwrite", indent=False)
        self._save = widgets.Button(description="Save")
        self._saved = widgets.HTML()

        self._text.observe(self._on_text_box_value, "value")
        traitlets.link((self, "fields"), (self._fields, "value"))
        traitlets.link((self, "action"), (self._action, "value"))
        traitlets.link((self, "value"), (self._value, "value"))
        traitlets.link((self, "shown_line"), (self._lines, "value"))
        self._search.observe(self._on_search_value, "value")
        self._add.on_click(self._on_add_click)
        self._from_browser.on_click(self._on_from_browser_click)
        self._from_profile.on_click(self._on_from_profile_click)
        self._preview_button.on_click(self._on_preview_button_click)
        self._save.on_click(self._on_save_click)

        wrap = {"flex_flow": "row wrap", "width": "100%"}
        pick = widgets.VBox(
            [
                self._search,
                self._fields,
                self._from_browser,
                widgets.HBox([self._action, self._value]),
                self._add,
            ]
        )
        start_box = widgets.VBox(
            [
                widgets.HTML("<b>Or start from the standard</b>"),
                self._profile_options,
                self._from_profile,
            ]
        )
        details = widgets.Tab(
            children=[
                widgets.VBox([self._preview_button, self._preview]),
                widgets.VBox([self._lines, self._line_rows]),
                self._lint,
                self._coverage,
            ],
            titles=("Preview", "Rows per line", "Lint", "PS3.15 gaps"),
        )
        editor = widgets.HBox(
            [self._text, self._gutter],
            layout={
                "width": "100%",
                "max_height": "420px",
                "overflow": "auto",
                "align_items": "flex-start",
            },
        )
        self.layout.width = "100%"
        self.children = [
            widgets.HTML(STYLE),
            widgets.HBox([pick, start_box], layout=wrap),
            widgets.HTML(
                "<b>Recipe</b> (edit freely: the preview follows; beside each line, "
                "the rows it decides and their files)"
            ),
            editor,
            widgets.HBox([self._status, self._working], layout=wrap),
            details,
            widgets.HBox([self._path, self._overwrite, self._save], layout=wrap),
            self._saved,
        ]
        self.observe(self._on_recipe_text_change, "recipe_text")
        self.observe(self._on_recipe_text_box, "recipe_text")
        self.observe(self._on_shown_line_change, "shown_line")
        self.recipe_text = self._recipe.to_text()
        if self.recipe_text == "":  # an empty recipe writes nothing: refresh anyway
            self._refresh()

    # -- public --------------------------------------------------------------

    @property
    def recipe(self) -> Recipe:
        """The current recipe (a copy: edit it and call :meth:`set_recipe`)."""
        return self._recipe.copy()

    def set_recipe(self, recipe: Any) -> None:
        """Replace the recipe (a Recipe, recipe text or a file).

        The coverage is then checked without PS3.15 options.
        """
        self._replace(_start_recipe(recipe), options=())

    def add_lines(
        self,
        fields: Iterable[str] | None = None,
        action: str | None = None,
        value: str | None = None,
    ) -> list[Action]:
        """Add one ``%header`` line per field.

        Parameters
        ----------
        fields : iterable of str, optional
            Field names or expanders (default: the picked :attr:`fields`).
        action : str, optional
            One of ``REMOVE``, ``BLANK``, ``KEEP``, ``REPLACE``, ``JITTER``,
            ``ADD`` (default: :attr:`action`).
        value : str, optional
            The value for actions that take one (default: :attr:`value`).

        Returns
        -------
        list of Action
            The lines added.

        Raises
        ------
        InputError
            If no fields are given, the action is unknown, a value is
            missing or a field is not one token.
        """
        fields = list(self.fields if fields is None else fields)
        action = (self.action if action is None else action).upper()
        value = self.value if value is None else value
        if not fields:
            raise InputError("RecipeBuilder.add_lines: pick at least one field")
        if action not in ACTIONS:
            raise InputError(
                f"RecipeBuilder.add_lines: expected an action in {list(ACTIONS)}, "
                f"got {action!r}"
            )
        if ACTIONS[action] and not value.strip():
            raise InputError(f"RecipeBuilder.add_lines: {action} needs a value")
        bad = [f for f in fields if not f or any(c.isspace() for c in f) or "#" in f]
        if bad:
            raise InputError(
                "RecipeBuilder.add_lines: fields must be one token without '#', "
                f"got {bad}"
            )
        recipe = self._recipe.copy()
        added = [
            Action(action, field, value.strip() if ACTIONS[action] else None)
            for field in fields
        ]
        recipe.header.extend(added)
        self._recipe = recipe
        self.recipe_text = recipe.to_text()
        return added

    def add_filter_label(self, label: str, *, group: str = "graylist") -> None:
        """Add a ``LABEL`` block (see :mod:`deidscope.widgets.drafting`)."""
        self.recipe_text = Recipe.from_text(
            add_filter_label(self.recipe_text, label, group=group)
        ).to_text()

    def start_from_profile(self, options: Iterable[str] = ()) -> None:
        """Replace the recipe with ``Recipe.from_profile(options=...)``.

        The options are kept (:attr:`profile_options`) and the PS3.15 gaps
        are checked with them, so what an option keeps is no gap.
        """
        options = tuple(options)
        self._replace(Recipe.from_profile(options=options), options=options)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Write the recipe to a file (never over one unless `overwrite`).

        Returns
        -------
        str
            The path written.
        """
        written = str(self._recipe.to_file(path, overwrite=overwrite))
        self.set_trait("saved_path", written)
        self._saved.value = f"saved to <code>{escape(written)}</code>"
        return written

    def connect_browser(self, browser: Any) -> None:
        """Take fields from a FieldBrowser's picked rows (button and live)."""
        self._browser = browser
        self._from_browser.disabled = False
        browser.observe(self._on_browser_selection, "selection_version")

    def refresh(self) -> None:
        """Recompute the preview, rows per line, lint and coverage now."""
        self._refresh(force=True)

    # -- validation ------------------------------------------------------------

    @traitlets.validate("fields")
    def _valid_fields(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        fields = tuple(proposal["value"])
        if not all(isinstance(f, str) for f in fields):
            raise traitlets.TraitError(
                f"RecipeBuilder: fields must be str, got {fields}"
            )
        return fields

    @traitlets.validate("shown_line")
    def _valid_shown_line(self, proposal: dict[str, Any]) -> int:
        line = int(proposal["value"])
        known = {0, *[int(n) for n in self.line_hits["line"]]}
        if line not in known:
            raise traitlets.TraitError(
                f"RecipeBuilder: shown_line must be 0 or a %header line number "
                f"{sorted(known - {0})}, got {line}"
            )
        return line

    # -- handlers --------------------------------------------------------------

    def _on_recipe_text_box(self, change: dict[str, Any]) -> None:
        """Show the text in the box (a script set it), and size the box."""
        self._cancel_pending()
        if self._text.value != change["new"]:
            self._text.value = change["new"]
        self._text.rows = max(8, change["new"].count("\n") + 2)

    def _on_text_box_value(self, change: dict[str, Any]) -> None:
        """Take what was typed, `debounce` seconds after the last key."""
        if change["new"] == self.recipe_text:
            self._cancel_pending()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script, a test): at once
            loop = None
        if loop is None or self._debounce == 0:
            self.recipe_text = change["new"]
            return
        self._cancel_pending()
        self._working.value = "<i>typing…</i>"
        self._pending = loop.call_later(self._debounce, self._take_text_box)

    def _take_text_box(self) -> None:
        self._pending = None
        try:
            self.recipe_text = self._text.value
        except Exception:  # a timer has no caller to tell: log it
            logger.exception("RecipeBuilder: updating from the text box failed")

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
            if self._working.value == "<i>typing…</i>":
                self._working.value = ""

    def flush(self) -> None:
        """Take the text box's text now (what a pause in typing does)."""
        if self._text.value != self.recipe_text:
            self.recipe_text = self._text.value
        self._cancel_pending()

    def _on_recipe_text_change(self, change: dict[str, Any]) -> None:
        try:
            self._recipe = Recipe.from_text(change["new"])
        except DeidscopeError as exc:
            self.set_trait("error", str(exc))
            self._show_text_error()
            return
        self.set_trait("error", "")
        self._refresh()

    def _show_text_error(self) -> None:
        """Show why the text does not parse; never the preview of an older text."""
        self._run = None
        self.preview = None
        self._status.value = error_html(self.error)
        self._preview.value = (
            "<i>no preview while the recipe text has an error (see above)</i>"
        )
        self._gutter.value = ""

    def _on_search_value(self, change: dict[str, Any]) -> None:
        needle = change["new"].casefold()
        names = sorted({str(n) for n in pd.unique(self._df["name"].dropna())})
        keep = [n for n in names if needle in n.casefold()] if needle else names
        chosen = [f for f in self.fields if f in keep]
        self._fields.options = sorted(set(keep) | set(self.fields))
        self.fields = tuple(chosen) + tuple(f for f in self.fields if f not in chosen)

    def _on_add_click(self, button: widgets.Button) -> None:
        try:
            self.add_lines()
        except InputError as exc:
            self._status.value = error_html(str(exc))

    def _on_from_browser_click(self, button: widgets.Button) -> None:
        self._take_browser_fields()

    def _on_browser_selection(self, change: dict[str, Any]) -> None:
        self._take_browser_fields()

    def _on_from_profile_click(self, button: widgets.Button) -> None:
        try:
            self.start_from_profile(self._profile_options.value)
        except DeidscopeError as exc:
            self._status.value = error_html(str(exc))

    def _on_preview_button_click(self, button: widgets.Button) -> None:
        self.flush()
        self.refresh()

    def _on_save_click(self, button: widgets.Button) -> None:
        try:
            self.save(self._path.value, overwrite=self._overwrite.value)
        except (OSError, DeidscopeError) as exc:
            self._saved.value = error_html(str(exc))

    def _on_shown_line_change(self, change: dict[str, Any]) -> None:
        self._show_line_rows()

    # -- internals ---------------------------------------------------------------

    def _replace(self, recipe: Recipe, *, options: tuple[str, ...]) -> None:
        changed = options != self.profile_options
        self.set_trait("profile_options", options)
        self._recipe = recipe
        text = recipe.to_text()
        if text != self.recipe_text:
            self.recipe_text = text  # fires _on_recipe_text_change -> _refresh
        elif changed:
            self._refresh()

    def _take_browser_fields(self) -> None:
        if self._browser is None:
            return
        picked = [str(n) for n in pd.unique(self._browser.selected["name"].dropna())]
        self._fields.options = sorted(set(self._fields.options) | set(picked))
        self.fields = tuple(picked)

    def _refresh(self, *, force: bool = False) -> None:
        if self.error:  # the text does not parse: self._recipe is an older one
            self._show_text_error()
            return
        recipe = self._recipe
        n_lines = len(recipe.header)
        n_labels = sum(len(group.labels) for group in recipe.filters)
        status = f"{n_lines} header lines · {n_labels} filter labels"
        if not (self._auto or force):
            self.preview = None
            self._preview.value = (
                f"<i>{len(self._df):,} rows: click Preview to compute</i>"
            )
            self._status.value = status
            return
        buttons = (self._add, self._from_profile, self._preview_button, self._save)
        was = [button.disabled for button in buttons]
        self._working.value = "<i>working…</i>"
        for button in buttons:
            button.disabled = True
        self.set_trait("busy", True)
        try:
            problems: list[str] = []
            run = self._compute_run(recipe, problems)
            self._show_preview()  # sent first: lint and the gaps take longer
            self._compute_line_hits(run)
            self._compute_lint(recipe, run, problems)
            self._compute_coverage(run, problems)
            if self.preview is not None:
                touched = self.preview[["file", "uid"]].drop_duplicates()
                status += (
                    f" · {len(touched):,} of {len(self._df):,} rows changed or kept"
                )
            if problems:
                status += "<br>" + "<br>".join(error_html(p) for p in problems)
            self._status.value = status
        finally:
            for button, disabled in zip(buttons, was, strict=True):
                button.disabled = disabled
            self._working.value = ""
            self.set_trait("busy", False)

    def _compute_run(self, recipe: Recipe, problems: list[str]) -> RecipeRun | None:
        """Run the recipe once; set the preview (None if it cannot run)."""
        self._run = None
        self.preview = None
        self.runs += 1
        try:
            run = recipe.run(self._df, errors="collect")
        except DeidscopeError as exc:
            problems.append(f"preview: {exc}")
            return None
        self._run = run
        try:
            run.check()
        except DeidscopeError as exc:
            problems.append(f"preview: {exc}")
        else:
            self.preview = run.preview()
        return run

    def _show_preview(self) -> None:
        if self.preview is None:
            self._preview.value = "<i>no preview</i>"
            return
        self._preview.value = preview_html(
            self.preview, self.recipe_text, rows_per_line=ROWS_PER_LINE
        )

    def _compute_line_hits(self, run: RecipeRun | None) -> None:
        self.line_hits = _line_hits(run)
        options = [("(pick a line to see its rows)", 0)]
        for r in self.line_hits.to_dict("records"):
            line = int(r["line"])
            hits = f"{r['rows']:,} rows decided"
            if not pd.isna(r["matched"]):
                hits = f"matches {r['matched']:,} rows, {hits}"
            options.append((f"line {line:>3}: {r['text']}  → {hits}", line))
        if self.shown_line not in {value for _, value in options}:
            self.shown_line = 0
        self._lines.options = options
        self._show_line_rows()
        self._gutter.value = gutter_html(self.recipe_text, self.line_hits, self.preview)

    def _show_line_rows(self) -> None:
        line = self.shown_line
        if not line:
            self._line_rows.value = ""
            return
        parts = []
        known = self.line_hits[self.line_hits["line"] == line]
        if self._run is not None and len(known) and known["matched"].notna().all():
            matched = self._run.matches(line)
            parts.append(
                table_html(
                    matched,
                    title=f"line {line} matches {len(matched):,} rows",
                    filename=f"line-{line}-matches.csv",
                    max_rows=_PREVIEW_ROWS,
                )
            )
        if self.preview is not None:
            decided = self.preview[self.preview["line"] == line]
            parts.append(
                table_html(
                    decided,
                    title=f"line {line} decides {len(decided):,} rows",
                    filename=f"line-{line}-decides.csv",
                    max_rows=_PREVIEW_ROWS,
                )
            )
        self._line_rows.value = "".join(parts)

    def _compute_lint(
        self, recipe: Recipe, run: RecipeRun | None, problems: list[str]
    ) -> None:
        try:
            self.warnings = recipe.lint(self._df if run is None else run)
        except DeidscopeError as exc:
            problems.append(f"lint: {exc}")
            return
        if self.warnings.empty:
            self._lint.value = "<i>no warnings</i>"
        else:
            n = len(self.warnings)
            self._lint.value = table_html(
                self.warnings,
                title=f"{n:,} warning{'s' if n > 1 else ''}",
                filename="recipe-lint.csv",
                max_rows=_PREVIEW_ROWS,
            )

    def _compute_coverage(self, run: RecipeRun | None, problems: list[str]) -> None:
        try:
            if run is None:
                raise InputError("the recipe could not run")
            run.check()
            self.coverage = coverage(self._df, run, options=self.profile_options)
        except DeidscopeError as exc:
            logger.debug("coverage failed: %s", exc)
            problems.append(f"coverage: {exc}")
            return
        options = ", ".join(self.profile_options)
        self._coverage.value = table_html(
            self.coverage,
            title=f"{len(self.coverage):,} PS3.15 gaps"
            + (f" (options: {escape(options)})" if options else ""),
            filename="ps315-gaps.csv",
            max_rows=_PREVIEW_ROWS,
        )


def diff_html(before: Any, after: Any) -> tuple[str, str]:
    """Return `before` and `after` as HTML, what changed marked.

    Characters only in `before` are wrapped in ``<del>``, characters only in
    `after` in ``<ins>``; the rest is escaped as is. Values less than half
    alike are marked whole (a replacement, not an edit).
    """
    old = "" if before is None or before is pd.NA else str(before)
    new = "" if after is None or after is pd.NA else str(after)
    if len(old) + len(new) > 4000:  # too long to diff by character
        return escape(old), escape(new)
    left: list[str] = []
    right: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < 0.5:  # a new value, not an edit: mark it whole
        return (
            f"<del>{escape(old)}</del>" if old else "",
            f"<ins>{escape(new)}</ins>" if new else "",
        )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(escape(old[i1:i2]))
            right.append(escape(new[j1:j2]))
            continue
        if i2 > i1:
            left.append(f"<del>{escape(old[i1:i2])}</del>")
        if j2 > j1:
            right.append(f"<ins>{escape(new[j1:j2])}</ins>")
    return "".join(left), "".join(right)


def _files_per_line(preview: pd.DataFrame) -> dict[int, int]:
    if preview.empty:
        return {}
    counts = preview.groupby("line", observed=True)["file"].nunique()
    return {
        int(line): int(n)
        for line, n in zip(counts.index.to_numpy(), counts.to_numpy(), strict=True)
    }


def preview_html(preview: pd.DataFrame, text: str, *, rows_per_line: int) -> str:
    """Return the preview grouped by recipe line, with what changes marked.

    One block a ``%header`` line that decides rows, in line order: the
    action (colour-coded), the line's text, how many rows and files it
    decides, and its first `rows_per_line` rows with before and after
    (:func:`diff_html`); a link downloads the whole preview as CSV.
    """
    n_files = preview["file"].nunique()
    parts = [
        f"<div><b>{len(preview):,} rows touched in {n_files:,} files</b>"
        + download_html(preview, "recipe-preview.csv", label="download the preview")
        + "</div>"
    ]
    if preview.empty:
        return "".join(parts)
    texts = text.splitlines()
    # one stable sort by line, then each line's rows are a slice
    lines = preview["line"].astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
    order = np.argsort(lines, kind="stable")
    lines = lines[order]
    starts = np.flatnonzero(np.r_[True, lines[1:] != lines[:-1]])
    ends = np.r_[starts[1:], len(lines)]
    file_codes = preview["file"].astype("category").cat.codes.to_numpy()[order]
    names = preview["file"].astype(str).to_numpy(dtype=object)[order]
    uids = preview["uid"].astype(str).to_numpy(dtype=object)[order]
    befores = preview["before"].to_numpy(dtype=object)[order]
    afters = preview["after"].to_numpy(dtype=object)[order]
    actions = preview["action"].astype(str).to_numpy(dtype=object)[order]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        line = int(lines[start])
        action = escape(actions[start])
        n_files = len(np.unique(file_codes[start:end]))
        line_text = texts[line - 1].strip() if 0 < line <= len(texts) else ""
        parts.append(
            f'<div class="deidscope-line deidscope-act-{action}">'
            f'<span class="deidscope-tag deidscope-act-{action}">'
            f"{action}</span> line {line}: "
            f"<code>{escape(line_text)}</code>"
            f" · <b>{end - start:,} rows</b> in {n_files:,} files</div>"
        )
        body = []
        for i in range(start, min(end, start + rows_per_line)):
            old, new = diff_html(befores[i], afters[i])
            body.append(
                f"<tr><td>{escape(os.path.basename(names[i]))}</td>"
                f"<td>{escape(uids[i])}</td><td>{old}</td><td>{new}</td></tr>"
            )
        more = end - start - len(body)
        tail = f"<div><i>… {more:,} more rows of line {line}</i></div>" if more else ""
        parts.append(
            '<div class="deidscope-compact deidscope-diff"><table><thead><tr>'
            "<th>file</th><th>uid</th><th>before</th><th>after</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>{tail}"
        )
    return "".join(parts)


def gutter_html(
    text: str, line_hits: pd.DataFrame, preview: pd.DataFrame | None
) -> str:
    """Return one line of counts per line of `text`, to stand beside it.

    A ``%header`` line shows the rows it decides and their files
    (``7 rows · 7 files``), and the rows and files its field names when
    that differs (a later line decides some of them); other lines are blank.
    """
    decided_files = {} if preview is None else _files_per_line(preview)
    hits = {int(r["line"]): r for r in line_hits.to_dict("records")}
    out = []
    for number in range(1, text.count("\n") + 2):
        r = hits.get(number)
        if r is None:
            out.append("")
            continue
        rows = int(r["rows"])
        matched = r["matched"]
        files = r["files"]
        note = f"{rows:,} rows · {decided_files.get(number, 0):,} files"
        if not pd.isna(matched) and int(matched) != rows:
            note += f" (matches {int(matched):,}"
            note += f" in {int(files):,} files)" if not pd.isna(files) else ")"
        if pd.isna(matched):
            note = "not run: see the status"
        out.append(f"← {escape(note)}")
    # a newline right after <pre> is dropped by HTML parsers: give one to drop
    return "<pre>\n" + "\n".join(out) + "</pre>"


def _line_hits(run: RecipeRun | None) -> pd.DataFrame:
    """Return the builder's rows per line: ``run.line_counts()``, renamed."""
    if run is None:
        return pd.DataFrame(
            {
                "line": pd.Series(dtype="int64"),
                "text": pd.Series(dtype=object),
                "rows": pd.Series(dtype="int64"),
                "matched": pd.Series(dtype="Int64"),
                "files": pd.Series(dtype="Int64"),
            }
        )
    counts = run.line_counts().rename(columns={"decided": "rows"})
    return counts.loc[:, ["line", "text", "rows", "matched", "files"]]


def _start_recipe(recipe: Any) -> Recipe:
    if recipe is None:
        return Recipe()
    return as_recipe(recipe, caller="RecipeBuilder")
