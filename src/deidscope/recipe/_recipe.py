"""The :class:`Recipe` class: read, write, combine, and the entry points."""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from deidscope.errors import InputError
from deidscope.files import atomic_output, check_output
from deidscope.frame import IdentifierData
from deidscope.recipe._format import format_recipe, recipe_to_deid
from deidscope.recipe._model import Action, FilterGroup, GroupAction
from deidscope.recipe._parse import parse_text

if TYPE_CHECKING:
    import pandas as pd

    from deidscope.recipe._run import RecipeRun

__all__ = ["Recipe", "RecipeWarning"]

logger = logging.getLogger("deidscope.recipe")


class RecipeWarning(UserWarning):
    """Something about a recipe that deid does silently and you may not expect."""


class Recipe:
    r"""A deid recipe: read from text, edited in Python, written back.

    Parameters
    ----------
    format : str, optional
        The recipe format; deid knows only ``"dicom"`` (the default).
    header : list of Action, optional
        The ``%header`` lines, in order.
    filters : list of FilterGroup, optional
        The ``%filter`` groups, in order.
    values : dict of str to list of GroupAction, optional
        The ``%values`` lists by name.
    fields : dict of str to list of GroupAction, optional
        The ``%fields`` lists by name.
    labels : list of Action, optional
        The ``%labels`` lines.
    comments : list of str, optional
        Whole-line comments before the ``FORMAT`` line.
    trailing_comments : list of str, optional
        Whole-line comments after the last line.
    path : str or None, optional
        The file the recipe was read from, if any.

    Examples
    --------
    >>> r = Recipe.from_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    >>> r.header[0].action, r.header[0].field, r.header[0].lineno
    ('REMOVE', 'PatientID', 3)
    >>> r.header.append(Action("ADD", "PatientIdentityRemoved", "YES"))
    >>> print(r.to_text(), end="")
    FORMAT dicom
    <BLANKLINE>
    %header
    <BLANKLINE>
    REMOVE PatientID
    ADD PatientIdentityRemoved YES
    """

    def __init__(
        self,
        *,
        format: str = "dicom",
        header: list[Action] | None = None,
        filters: list[FilterGroup] | None = None,
        values: dict[str, list[GroupAction]] | None = None,
        fields: dict[str, list[GroupAction]] | None = None,
        labels: list[Action] | None = None,
        comments: list[str] | None = None,
        trailing_comments: list[str] | None = None,
        path: str | None = None,
    ) -> None:
        self.format = format
        self.header: list[Action] = [] if header is None else header
        self.filters: list[FilterGroup] = [] if filters is None else filters
        self.values: dict[str, list[GroupAction]] = {} if values is None else values
        self.fields: dict[str, list[GroupAction]] = {} if fields is None else fields
        self.labels: list[Action] = [] if labels is None else labels
        self.comments: list[str] = [] if comments is None else comments
        self.trailing_comments: list[str] = (
            [] if trailing_comments is None else trailing_comments
        )
        self.path = path

    # -- reading and writing -------------------------------------------------

    @classmethod
    def from_text(
        cls, text: str, *, path: str | os.PathLike[str] | None = None
    ) -> Recipe:
        """Read a recipe from its text.

        Parameters
        ----------
        text : str
            The recipe, in deid's language.
        path : str or os.PathLike or None, optional
            Where the text came from, for error messages.

        Returns
        -------
        Recipe
            The recipe; every item keeps its line number.

        Raises
        ------
        RecipeSyntaxError
            For the first line deid would reject or misread, naming the
            file, the line number and the line.
        InputError
            If `text` is not a str.
        """
        if not isinstance(text, str):
            raise InputError(
                f"Recipe.from_text: expected recipe text as str, "
                f"but got {type(text).__name__}"
            )
        parts = parse_text(text, path=path)
        return cls(
            format=parts.format,
            header=parts.header,
            filters=parts.filters,
            values=parts.values,
            fields=parts.fields,
            labels=parts.labels,
            comments=parts.comments,
            trailing_comments=parts.trailing_comments,
            path=None if path is None else os.fspath(path),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Recipe:
        """Read a recipe file (UTF-8).

        Parameters
        ----------
        path : str or os.PathLike
            The recipe file, e.g. ``deid.dicom``.

        Returns
        -------
        Recipe
            The recipe, with :attr:`path` set.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        RecipeSyntaxError
            For the first line that cannot be read.
        """
        if not isinstance(path, str | os.PathLike):
            raise InputError(
                f"Recipe.from_file: expected a path, but got {type(path).__name__}"
            )
        if os.path.isdir(path):
            raise InputError(
                f"Recipe.from_file: expected a recipe file, but {os.fspath(path)!r} "
                "is a folder"
            )
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        return cls.from_text(text, path=path)

    def to_text(self) -> str:
        """Write the recipe as deid recipe text.

        Sections come in a fixed order (filters, values, fields, header,
        labels), each list or group once; whole-line comments stay with the
        line after them. ``Recipe.from_text(r.to_text()) == r``.

        Returns
        -------
        str
            The text, ending with a new line.

        Raises
        ------
        InputError
            If an item cannot be written so that deid reads it back the same
            (a value with two spaces in a row or a ``#``, for instance).
        """
        return format_recipe(self)

    def to_file(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Write the recipe text to a file (via a temporary name).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write.
        overwrite : bool, optional
            Replace an existing file (default False).

        Returns
        -------
        str
            The path written.

        Raises
        ------
        FileExistsError
            If `path` exists and `overwrite` is False.
        FileNotFoundError
            If the folder of `path` does not exist.
        InputError
            If `path` is a folder.
        """
        target = os.fspath(
            check_output(path, overwrite=overwrite, caller="Recipe.to_file")
        )
        text = self.to_text()
        with atomic_output(
            target, overwrite=overwrite, caller="Recipe.to_file"
        ) as temp:
            temp.write_text(text, encoding="utf-8")
        return target

    def to_deid(self) -> dict[str, Any]:
        """Return the dict deid builds from this recipe (``DeidRecipe.deid``).

        Useful to evaluate filters exactly as deid does: its detector reads
        ``to_deid()["filter"]``.

        Returns
        -------
        dict
            See :func:`deidscope.recipe._format.recipe_to_deid`.
        """
        return recipe_to_deid(self)

    # -- combining -----------------------------------------------------------

    @classmethod
    def combine(cls, recipes: Iterable[Recipe | str | os.PathLike[str]]) -> Recipe:
        """Combine recipes in order, as deid's ``DeidRecipe([a, b, ...])`` does.

        deid 0.4.13 keeps the first recipe and, for each next one, appends
        its ``%header`` lines and sets its ``%filter`` groups (a group with
        the name of an earlier one replaces it; a new name is added at the
        end). It ignores the ``%values``, ``%fields`` and ``%labels``
        sections of all but the first recipe: when they are not empty a
        :class:`RecipeWarning` says so.

        Parameters
        ----------
        recipes : iterable of Recipe, str or os.PathLike
            Recipes or recipe files, first to last.

        Returns
        -------
        Recipe
            A new recipe; the inputs are not changed.

        Raises
        ------
        InputError
            If no recipe is given, or the formats differ.
        """
        items = [
            r if isinstance(r, Recipe) else cls.from_file(r) for r in list(recipes)
        ]
        if not items:
            raise InputError("Recipe.combine: expected at least one recipe")
        result = items[0].copy()
        for other in items[1:]:
            if other.format != result.format:
                raise InputError(
                    f"Recipe.combine: formats differ ({result.format!r} and "
                    f"{other.format!r})"
                )
            ignored = [
                f"%{kind}"
                for kind in ("values", "fields", "labels")
                if getattr(other, kind)
            ]
            if ignored:
                warnings.warn(
                    f"Recipe.combine: deid ignores {', '.join(ignored)} of every "
                    f"recipe but the first ({other.path or 'recipe'}); left out",
                    RecipeWarning,
                    stacklevel=2,
                )
            result.header += copy.deepcopy(other.header)
            for group in copy.deepcopy(other.filters):
                names = [g.name for g in result.filters]
                if group.name in names:
                    result.filters[names.index(group.name)] = group
                else:
                    result.filters.append(group)
        return result

    @classmethod
    def from_profile(
        cls, options: Iterable[str] = (), *, jitter: str = "var:jitter"
    ) -> Recipe:
        """Write a recipe implementing the DICOM PS3.15 Basic Profile.

        One ``%header`` line per row of Table E.1-1 (package data, see
        :mod:`deidscope.ps315`), with the options' codes where they
        apply; the mapping from action codes to deid actions is in
        :mod:`deidscope.recipe._profile`.

        Parameters
        ----------
        options : iterable of str, optional
            Profile options, from :data:`deidscope.ps315.OPTIONS`
            (``"retain_uids"``, ``"retain_long_modified_dates"``, ...).
            None: the Basic Profile alone.
        jitter : str, optional
            The ``JITTER`` value for dates an option modifies: days, or
            ``var:<name>`` for a value from the lookup (default
            ``var:jitter``).

        Returns
        -------
        Recipe
            A new recipe (``to_text()`` writes it out).

        Raises
        ------
        InputError
            If an option is unknown.

        Examples
        --------
        >>> recipe = Recipe.from_profile()
        >>> [a.action for a in recipe.header if a.field == "PatientName"]
        ['BLANK']
        >>> retained = Recipe.from_profile(["retain_uids"])
        >>> [a.action for a in retained.header if a.field == "StudyInstanceUID"]
        ['KEEP']
        """
        from deidscope.recipe._profile import profile_actions

        actions, comments = profile_actions(options, jitter=jitter)
        return cls(header=actions, comments=comments)

    def copy(self) -> Recipe:
        """Return a deep copy, to edit without changing this one."""
        return copy.deepcopy(self)

    # -- comparing -----------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (
            self.format,
            self.header,
            self.filters,
            self.values,
            self.fields,
            self.labels,
            self.comments,
            self.trailing_comments,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recipe):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"{len(self.header)} header lines"]
        if self.filters:
            parts.append(
                f"{len(self.filters)} filter groups "
                f"({sum(len(g.labels) for g in self.filters)} labels)"
            )
        for kind in ("values", "fields"):
            lists = getattr(self, kind)
            if lists:
                parts.append(f"{kind} {', '.join(lists)}")
        where = f" from {self.path}" if self.path else ""
        return f"<Recipe{where}: {'; '.join(parts)}>"

    # -- finding lines ---------------------------------------------------------

    def action_at(self, lineno: int) -> Action:
        """Return the ``%header`` action read from line `lineno`.

        Parameters
        ----------
        lineno : int
            A line number, as in the ``line`` column of :meth:`preview`.

        Returns
        -------
        Action
            The action.

        Raises
        ------
        KeyError
            If no header action has that line number.
        """
        for action in self.header:
            if action.lineno == lineno:
                return action
        raise KeyError(lineno)

    def _numbered(self) -> list[tuple[int, Action]]:
        """Header actions with their line numbers (from to_text when unset)."""
        if all(a.lineno is not None for a in self.header):
            return [(int(a.lineno), a) for a in self.header]  # type: ignore[arg-type]
        numbered = Recipe.from_text(self.to_text()).header
        return [(n.lineno or 0, a) for n, a in zip(numbered, self.header, strict=True)]

    # -- what a recipe does ----------------------------------------------------

    def preview(
        self, df_or_ids: IdentifierData, lookup: Mapping[Any, Any] | None = None
    ) -> pd.DataFrame:
        r"""Show what the ``%header`` lines do to every field, without writing.

        The lines run as deid 0.4.13 runs them (see
        :mod:`deidscope.recipe._engine`): ``KEEP`` protects whole tags,
        later lines win over earlier ones, ``REMOVE`` spares a field a
        ``REPLACE`` or ``JITTER`` line names, removing or blanking a sequence
        takes its items, protected fields are never touched.

        Parameters
        ----------
        df_or_ids : pandas.DataFrame or mapping
            An identifier frame (:func:`deidscope.read_identifiers`) or the
            output of :func:`deidscope.dicom.get_identifiers`. Not changed.
        lookup : mapping or None, optional
            Values for ``var:`` and functions for ``func:``. An entry whose
            key is a file of the data and whose value is a mapping holds that
            file's own names (deid's ``ids`` form); the other entries hold
            for every file. Functions are called as deid calls them,
            ``f(dicom=..., value=..., field=..., item=lookup)``, with
            ``dicom=None`` here (no dataset is read) and ``field`` a
            :class:`~deidscope.fields.DicomField` built from the row.

        Returns
        -------
        pandas.DataFrame
            One row per (file, uid) a line acted on, grouped by file in the
            frame's order: ``file``, ``uid``, ``before`` (<NA> for an element
            the recipe adds), ``after`` (<NA> when removed, "" when blanked),
            ``action`` (the line that decided: ``KEEP``, ``ADD``,
            ``REPLACE``, ``JITTER``, ``REMOVE``, ``BLANK``) and ``line`` (its
            line number; see :meth:`action_at`).

        Raises
        ------
        InputError
            If `df_or_ids` is not identifier data, or a field expression is
            one deid would fail on (a regular expression that does not
            compile).
        RecipeFunctionError
            If a ``func:`` function of `lookup` (or a ``deid_func:`` with
            parameters it cannot take) raises: it names the file, the recipe
            line and the function, and chains the function's own error.

        Examples
        --------
        >>> from deidscope import read_identifiers
        >>> from deidscope.data import get_dataset
        >>> df = read_identifiers(get_dataset("dicom-cookies"))
        >>> recipe = Recipe.from_text(
        ...     "FORMAT dicom\n%header\n"
        ...     "REPLACE PatientID var:id\nREMOVE endswith:Date\n"
        ... )
        >>> out = recipe.preview(df, lookup={"id": "anon"})
        >>> row = out[out.uid == "(0010, 0020)"].iloc[0]
        >>> row.before, row.after, row.action, int(row.line)
        ('cookie-47', 'anon', 'REPLACE', 3)
        """
        from deidscope.recipe._run import RecipeRun

        return RecipeRun(
            self, df_or_ids, lookup, caller="Recipe.preview"
        )._preview_table()

    def run(
        self,
        df_or_ids: IdentifierData,
        lookup: Mapping[Any, Any] | None = None,
        *,
        errors: Literal["raise", "collect"] = "raise",
        key: str | bytes | None = None,
    ) -> RecipeRun:
        r"""Run the ``%header`` once over the data; return the :class:`RecipeRun`.

        The run (immutable) gives ``run.preview()``, ``run.matches(line)``,
        ``run.line_matches()`` and ``run.line_counts()``; :meth:`lint` and
        :func:`deidscope.audit.coverage` take it too, so one run serves all.

        Parameters
        ----------
        df_or_ids : pandas.DataFrame or mapping
            As for :meth:`preview`.
        lookup : mapping or None, optional
            As for :meth:`preview`.
        errors : {"raise", "collect"}, optional
            ``"raise"``: fail as :meth:`preview` does. ``"collect"``: leave
            out lines deid fails on (``run.skipped``), keep each file's
            first function that raised (``run.failures``), go on.
        key : str, bytes or None, optional
            A secret for keyed pseudonyms, as for
            :func:`deidscope.dicom.replace_identifiers`: the preview shows
            the pseudonyms, UIDs and date offsets that run would write.

        Examples
        --------
        >>> from deidscope import read_identifiers
        >>> from deidscope.data import get_dataset
        >>> df = read_identifiers(get_dataset("dicom-cookies"))
        >>> run = Recipe.from_text("FORMAT dicom\n%header\nBLANK PatientID\n").run(df)
        >>> len(run.preview()), len(run.matches(3))
        (7, 7)
        """
        from deidscope.recipe._run import RecipeRun

        return RecipeRun(self, df_or_ids, lookup, errors=errors, key=key)

    def matches(
        self,
        line: Action | int | str,
        df_or_ids: IdentifierData,
        lookup: Mapping[Any, Any] | None = None,
    ) -> pd.DataFrame:
        """Return the rows of the data one line's field expression names.

        The line is matched on its own, as if it were the recipe's only
        ``%header`` line (``KEEP`` lines and earlier removals do not hide
        anything), with the recipe's ``%values`` and ``%fields`` lists built
        from the data; use :meth:`preview` for the combined effect.

        Parameters
        ----------
        line : Action, int or str
            A header :class:`Action`, the line number of one, or a field
            expression such as ``"contains:Date"``.
        df_or_ids : pandas.DataFrame or mapping
            An identifier frame or ``get_identifiers`` output.
        lookup : mapping or None, optional
            As for :meth:`preview`.

        Returns
        -------
        pandas.DataFrame
            The rows of the frame the line names (a copy), with its columns;
            not those nested in a sequence it also names (it acts on that).
            :meth:`line_matches` gives every line's from one run.

        Raises
        ------
        InputError
            If there is no header line with that number, or `line` is of
            another type.
        """
        from deidscope.recipe._run import RecipeRun

        run = RecipeRun(
            self, df_or_ids, lookup, errors="collect", caller="Recipe.matches"
        )
        return run.matches(line)

    def line_matches(
        self, df_or_ids: IdentifierData, lookup: Mapping[Any, Any] | None = None
    ) -> pd.DataFrame:
        """Return the rows every ``%header`` line names, from one engine run.

        Each line as :meth:`matches` names it (see
        :meth:`RecipeRun.line_matches`; ``run.line_counts()`` counts them).

        Returns
        -------
        pandas.DataFrame
            ``line`` (int64, the line number) and ``row`` (int64, the row's
            position in the frame), one row per (line, row named).
        """
        from deidscope.recipe._run import RecipeRun

        run = RecipeRun(
            self, df_or_ids, lookup, errors="collect", caller="Recipe.line_matches"
        )
        return run.line_matches()

    def lint(
        self,
        df_or_ids: IdentifierData | RecipeRun | None = None,
        lookup: Mapping[Any, Any] | None = None,
        *,
        warn: bool = False,
    ) -> pd.DataFrame:
        r"""List what the recipe will not do the way its author may think.

        Without data, only the recipe is checked; with data, also which
        expressions match nothing, which lines fight over the same fields
        (and which wins), and which filter fields the data never carries.
        The codes are listed in :mod:`deidscope.recipe._lint`.

        Parameters
        ----------
        df_or_ids : pandas.DataFrame, mapping, RecipeRun or None, optional
            An identifier frame or ``get_identifiers`` output (run once over
            it), or a run of this recipe (:meth:`run`), whose frame and
            lookup are used.
        lookup : mapping or None, optional
            The lookup you will pass to :meth:`preview` or
            ``replace_identifiers`` (as there: per-file entries allowed);
            None checks ``var:``/``func:`` names against an empty lookup.
        warn : bool, optional
            Also issue a :class:`RecipeLintWarning` per finding.

        Returns
        -------
        pandas.DataFrame
            One row per finding, in line order: ``line`` (Int64, the line
            number, <NA> if unknown), ``text`` (the line's text), ``code``
            and ``message``. Empty, with the same columns, when all is well.

        Raises
        ------
        InputError
            If `df_or_ids` is a run of another recipe, or a run with a
            `lookup` too.

        Examples
        --------
        >>> recipe = Recipe.from_text(
        ...     "FORMAT dicom\n%header\nREMOVE PatientID # old\nJITTER StudyDate x\n"
        ... )
        >>> recipe.lint()[["line", "code"]]
           line          code
        0     3  remove-never
        1     4  jitter-value
        """
        from deidscope.recipe._lint import lint

        return lint(self, df_or_ids, lookup, warn=warn)
