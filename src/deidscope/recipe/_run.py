"""One run of a recipe over a frame, and everything read from it.

:class:`RecipeRun` runs a recipe's ``%header`` once over an identifier frame
(:func:`deidscope.recipe._engine.run_header`) and holds the outcome. The
preview, the rows each line names, the linter's data checks, the PS3.15
coverage and ``replace_identifiers`` all read a run, so what they show is
what one run of the engine did: no line is run twice, and nothing is
recomputed per line.

The rows a line names are matched on their own (see
:meth:`RecipeRun.matches`): from the field table the engine built
(:class:`~deidscope.recipe._expand.FieldKeys`), one mask per distinct field
expression, turned into rows through an index of the rows of each field.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from pydicom.dataset import Dataset

from deidscope.errors import InputError
from deidscope.frame import STRING, IdentifierData
from deidscope.recipe._actions import RecipeFunctionError
from deidscope.recipe._clean import CLEAN_FUNCTION, cleaner, file_values
from deidscope.recipe._engine import Outcome, list_rows, run_header
from deidscope.recipe._expand import FieldKeys, check_expression, frame_keys
from deidscope.recipe._finish import profile_options
from deidscope.recipe._format import item_text
from deidscope.recipe._keyed import PSEUDONYM_FUNCTION, Keyed, as_key
from deidscope.recipe._model import Action, GroupAction
from deidscope.recipe._preview import as_frame, file_lookups, outcome_frame
from deidscope.recipe._rows import EMPTY, RowIndex
from deidscope.recipe._state import Run

if TYPE_CHECKING:
    from deidscope.recipe._recipe import Recipe

__all__ = ["LINE_COUNTS_COLUMNS", "LINE_MATCHES_COLUMNS", "RecipeRun"]

#: The columns of :meth:`RecipeRun.line_matches`.
LINE_MATCHES_COLUMNS: tuple[str, ...] = ("line", "row")
#: The columns of :meth:`RecipeRun.line_counts`.
LINE_COUNTS_COLUMNS: tuple[str, ...] = ("line", "text", "matched", "files", "decided")

Errors = Literal["raise", "collect"]
_LISTS = ("values", "fields")
_Item = TypeVar("_Item", Action, GroupAction)


def _is_list(field: str) -> bool:
    """Tell whether the engine reads `field` as a ``values:``/``fields:`` list."""
    return field.startswith(_LISTS)


def _copy(item: _Item) -> _Item:
    """Return a copy of a recipe line (faster than :func:`copy.copy`)."""
    return type(item)(
        item.action,
        item.field,
        item.value,
        item.comment,
        list(item.comments),
        item.lineno,
        item.path,
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _add_keyed(
    keyed: Keyed, frame: pd.DataFrame, files: list[str], lookups: list[dict[str, Any]]
) -> None:
    """Give each file's lookup the keyed names (the caller's own entries win).

    ``func:deidscope_pseudonym`` (a field's keyed pseudonym) and ``jitter``
    (the date offset of the file's patient, from its top-level PatientID).
    """
    patient = frame[frame["uid"] == "(0010, 0020)"]
    values = ["" if pd.isna(v) else str(v) for v in patient["value"]]
    ids = dict(zip(patient["file"].astype(str), values, strict=True))
    function = keyed.function()
    for file, lookup in zip(files, lookups, strict=True):
        lookup.setdefault(PSEUDONYM_FUNCTION, function)
        lookup.setdefault("jitter", keyed.date_offset(ids.get(file, "")))


def _add_cleaner(
    frame: pd.DataFrame,
    files: list[str],
    lookups: list[dict[str, Any]],
    options: tuple[str, ...],
) -> None:
    """Give each file's lookup ``func:deidscope_clean`` (unless it has one)."""
    values = file_values(frame, options)
    for file, lookup in zip(files, lookups, strict=True):
        lookup.setdefault(CLEAN_FUNCTION, cleaner(values.get(file, frozenset())))


class RecipeRun:
    r"""One run of a recipe's ``%header`` over an identifier frame.

    Made by :meth:`Recipe.run`; the engine runs once, when the run is made,
    and everything else is read from its outcome. A run is immutable: it
    keeps a copy of the recipe's lines as they were, its arrays are
    read-only, and the frames it returns are new ones. It holds the caller's
    frame (not a copy): do not change that frame while you use the run.

    Parameters
    ----------
    recipe : Recipe
        The recipe; its lines are copied.
    df_or_ids : pandas.DataFrame or mapping
        An identifier frame or ``get_identifiers`` output. Not changed.
    lookup : mapping or None, optional
        As for :meth:`Recipe.preview`.
    errors : {"raise", "collect"}, optional
        ``"raise"`` (the default): a field expression deid would fail on
        raises :class:`~deidscope.errors.InputError` before anything runs,
        and a function that raises raises
        :class:`~deidscope.recipe.RecipeFunctionError`. ``"collect"``: such
        lines (and ``%values``/``%fields`` items) are left out and listed in
        :attr:`skipped`, and each file's first failing function is kept in
        :attr:`failures` while the other files go on.
    skip_invalid : bool or None, optional
        Leave out lines deid would fail on; by default only when `errors`
        is ``"collect"``.
    caller : str, optional
        The public function, for messages.
    dicoms : callable or None, optional
        The dataset of a file code, for ``func:`` functions (used by
        ``replace_identifiers``).
    keep_values : bool, optional
        Keep the python values set, to write them into datasets.
    memo : dict or None, optional
        Memo of random ``deid_func`` values, shared across runs of a batch.
    key : str, bytes or None, optional
        A secret for keyed pseudonyms (:mod:`deidscope.recipe._keyed`):
        ``deid_func:pydicom_uuid`` gives keyed UIDs, and every file's lookup
        gets ``func:deidscope_pseudonym`` and ``jitter`` (its patient's date
        offset) unless the caller's lookup has them.

    Raises
    ------
    InputError
        If `df_or_ids` is not identifier data, `lookup` is not a mapping, or
        (with ``errors="raise"``) a field expression is one deid fails on.
    RecipeFunctionError
        With ``errors="raise"``, if a ``func:`` or ``deid_func:`` raises.

    Examples
    --------
    >>> from deidscope import read_identifiers
    >>> from deidscope.data import get_dataset
    >>> from deidscope.recipe import Recipe
    >>> df = read_identifiers(get_dataset("dicom-cookies"))
    >>> recipe = Recipe.from_text(
    ...     "FORMAT dicom\n%header\nKEEP PatientName\nBLANK contains:Patient\n"
    ... )
    >>> run = recipe.run(df)
    >>> run.preview().action.value_counts().to_dict()
    {'BLANK': 28, 'KEEP': 7}
    >>> run.line_counts()[["line", "matched", "files", "decided"]]
       line  matched  files  decided
    0     3        7      7        7
    1     4       35      7       28
    """

    def __init__(
        self,
        recipe: Recipe,
        df_or_ids: IdentifierData,
        lookup: Mapping[Any, Any] | None = None,
        *,
        errors: Errors = "raise",
        skip_invalid: bool | None = None,
        caller: str = "Recipe.run",
        dicoms: Callable[[int], Dataset | None] | None = None,
        keep_values: bool = False,
        memo: dict[tuple[Any, ...], Any] | None = None,
        key: str | bytes | None = None,
    ) -> None:
        if errors not in ("raise", "collect"):
            raise InputError(
                f"{caller}: errors must be 'raise' or 'collect', but got {errors!r}"
            )
        skip = errors == "collect" if skip_invalid is None else skip_invalid
        frame = as_frame(df_or_ids, caller=caller)
        self._lines = tuple((n, _copy(a)) for n, a in recipe._numbered())
        self._values = {
            name: [_copy(i) for i in items] for name, items in recipe.values.items()
        }
        self._fields = {
            name: [_copy(i) for i in items] for name, items in recipe.fields.items()
        }
        files = frame["file"]
        categories = (
            files.cat.categories
            if isinstance(files.dtype, pd.CategoricalDtype)
            else pd.Index(sorted(set(files.astype(str))))
        )
        lookups = file_lookups([str(f) for f in categories], lookup, caller=caller)
        secret = as_key(key, caller=caller)
        keyed = None if secret is None else Keyed(secret)
        if keyed is not None:
            _add_keyed(keyed, frame, [str(f) for f in categories], lookups)
        if any(a.value == f"func:{CLEAN_FUNCTION}" for _, a in self._lines):
            options = profile_options(recipe.comments) or ()
            _add_cleaner(frame, [str(f) for f in categories], lookups, options)
        self._lookups = tuple(types.MappingProxyType(dict(x)) for x in lookups)
        keys, rowkey = frame_keys(frame)
        self._skipped, invalid = self._check(skip)
        left_out = {id(item) for item in invalid}
        lines = [(n, a) for n, a in self._lines if id(a) not in left_out]
        values, fields = (
            {
                name: [i for i in items if id(i) not in left_out]
                for name, items in lists.items()
            }
            for lists in (self._values, self._fields)
        )
        self._run_lists = (values, fields)
        outcome = run_header(
            lines,
            values,
            fields,
            frame,
            lookups,
            dicoms=dicoms,
            keep_values=keep_values,
            memo=memo,
            caller=caller,
            on_error=errors,
            keys=(keys, rowkey),
            keyed=keyed,
        )
        for name in (
            "file",
            "rowkey",
            "is_filemeta",
            "before",
            "text",
            "removed",
            "action",
            "line",
        ):
            _frozen(getattr(outcome, name))
        self._frame = frame
        self._lookup = lookup
        self._keys = keys
        self._rowkey = _frozen(rowkey)
        self._outcome = outcome
        self._failures = types.MappingProxyType(
            {outcome.files[code]: error for code, error in outcome.failures.items()}
        )
        self._index: RowIndex | None = None
        self._probe: Run | None = None
        self._rows: dict[str, np.ndarray] = {}
        self._table: pd.DataFrame | None = None

    def _check(
        self, skip: bool
    ) -> tuple[tuple[tuple[int | None, str, str], ...], list[Action | GroupAction]]:
        """Check every expression the engine will match, in the engine's order.

        Return the lines left out, as :attr:`skipped` lists them, and the items.
        """
        keep = [a for _, a in self._lines if a.action == "KEEP"]
        protect = [a for _, a in self._lines if a.action in ("REPLACE", "JITTER")]
        rest = [
            a
            for _, a in self._lines
            if a.action not in ("KEEP", "LABEL", "ADD", "REPLACE", "JITTER")
        ]
        items: list[Action | GroupAction] = [*keep]
        for lists in (self._values, self._fields):
            items += [i for group in lists.values() for i in group]
        items += protect + rest
        skipped: list[tuple[int | None, str, str]] = []
        invalid: list[Action | GroupAction] = []
        for item in items:
            reason = check_expression(item.field)
            if reason is None:
                continue
            message = f"recipe field {item.field!r}: {reason}"
            if not skip:
                raise InputError(message)
            invalid.append(item)
            number = next((n for n, a in self._lines if a is item), item.lineno)
            skipped.append((number, item_text(item), message))
        return tuple(skipped), invalid

    # -- what the run holds ----------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """The identifier frame the run is over (the caller's own)."""
        return self._frame

    def file_lookup(self, file: str) -> Mapping[str, Any]:
        """Return the names ``var:`` and ``func:`` saw for one file (read-only).

        The caller's lookup for that file, and with a key the keyed names
        (``jitter``: the patient's date offset in days).
        """
        codes = {str(f): i for i, f in enumerate(self._outcome.files)}
        if file not in codes:
            raise InputError(f"{file!r} is not a file of this run")
        return self._lookups[codes[file]]

    @property
    def lookup(self) -> Mapping[Any, Any] | None:
        """The lookup the run used."""
        return self._lookup

    @property
    def keys(self) -> FieldKeys:
        """The distinct fields of the frame (``keys.match(expression)``)."""
        return self._keys

    @property
    def rowkey(self) -> np.ndarray:
        """For each row of :attr:`frame`, its field in :attr:`keys` (read-only)."""
        return self._rowkey

    @property
    def present(self) -> np.ndarray:
        """One flag per field of :attr:`keys`: True if a row of the frame has it."""
        present = np.zeros(len(self._keys), dtype=bool)
        present[self._rowkey] = True
        return present

    @property
    def outcome(self) -> Outcome:
        """The engine's outcome: the state of every row (arrays read-only)."""
        return self._outcome

    @property
    def lines(self) -> tuple[tuple[int, Action], ...]:
        """The ``%header`` lines run, with their line numbers (copies)."""
        return tuple((n, _copy(a)) for n, a in self._lines)

    @property
    def failures(self) -> Mapping[str, RecipeFunctionError]:
        """Per file, the first function that raised (``errors="collect"``)."""
        return self._failures

    @property
    def skipped(self) -> tuple[tuple[int | None, str, str], ...]:
        """The lines left out, ``(line number, text, reason)`` each."""
        return self._skipped

    def check(self) -> None:
        """Raise the first problem of the run, if it had any.

        Raises
        ------
        InputError
            For the first line left out (a field expression deid fails on).
        RecipeFunctionError
            For the first file where a function raised.
        """
        if self._skipped:
            raise InputError(self._skipped[0][2])
        for error in self._failures.values():
            raise error

    def is_run_of(self, recipe: Recipe) -> bool:
        """Tell whether this run is of `recipe` as it is now.

        The same ``%header`` lines with the same line numbers, and the same
        ``%values`` and ``%fields`` lists.
        """
        numbered = recipe._numbered()
        return (
            len(numbered) == len(self._lines)
            and all(
                n == m and a == b
                for (n, a), (m, b) in zip(numbered, self._lines, strict=True)
            )
            and recipe.values == self._values
            and recipe.fields == self._fields
        )

    def is_over(self, df: pd.DataFrame) -> bool:
        """Tell whether the run is over `df` (the same frame, or equal rows)."""
        if df is self._frame:
            return True
        if len(df) != len(self._frame) or "file" not in df or "uid" not in df:
            return False
        return bool(
            np.array_equal(
                df["file"].astype(str).to_numpy(),
                self._frame["file"].astype(str).to_numpy(),
            )
            and np.array_equal(
                df["uid"].astype(str).to_numpy(),
                self._frame["uid"].astype(str).to_numpy(),
            )
        )

    # -- what the recipe does ----------------------------------------------------

    def _preview_table(self) -> pd.DataFrame:
        if self._table is None:
            self._table = outcome_frame(self._outcome)
        return self._table

    def preview(self) -> pd.DataFrame:
        """Return the preview: :meth:`Recipe.preview`'s frame, from this run.

        Returns
        -------
        pandas.DataFrame
            One row per (file, uid) a line acted on: ``file``, ``uid``,
            ``before``, ``after``, ``action``, ``line``.
        """
        return self._preview_table().copy()

    def _decided(self) -> pd.Series:
        """Return how many rows of the preview each line decides, by line number."""
        lines = self._outcome.line[self._outcome.touched()]
        numbers, counts = np.unique(lines, return_counts=True)
        return pd.Series(counts, index=numbers, dtype=np.int64, name="decided")

    # -- what each line names ------------------------------------------------------

    def _action(self, line: Action | int | str, caller: str) -> Action:
        if isinstance(line, int) and not isinstance(line, bool):
            for number, action in self._lines:
                if number == line:
                    return action
            raise InputError(f"{caller}: no %header line {line} in the recipe")
        if isinstance(line, Action):
            return line
        if isinstance(line, str):
            return Action("BLANK", line)
        raise InputError(
            f"{caller}: expected an Action, a line number or a field "
            f"expression, but got {type(line).__name__}"
        )

    def _ensure_index(self) -> RowIndex:
        if self._index is None:
            self._index = RowIndex(
                self._keys, self._rowkey, self._outcome.file[: self._outcome.n_original]
            )
        return self._index

    def _field_rows(self, field: str) -> np.ndarray:
        """Return the rows `field` names on its own (cached per expression)."""
        found = self._rows.get(field)
        if found is not None:
            return found
        if _is_list(field):
            self._list_rows([field])
            return self._rows[field]
        index = self._ensure_index()
        mask = self._keys.match(field)
        rows = index.without_nested(index.rows_of(mask), mask)
        self._rows[field] = _frozen(rows)
        return rows

    def _list_rows(self, fields: list[str]) -> None:
        """Match ``values:``/``fields:`` expressions, the lists built from all rows."""
        wanted = [f for f in dict.fromkeys(fields) if f not in self._rows]
        if not wanted:
            return
        index = self._ensure_index()
        if self._probe is None:
            self._probe = Run(
                self._frame,
                [{} for _ in self._outcome.files],
                dicoms=None,
                keep_values=False,
                memo={},
                keys=(self._keys, self._rowkey),
            )
        values, fields_ = self._run_lists
        found = list_rows(self._probe, wanted, values, fields_)
        for field, rows in found.items():
            rows = np.sort(np.asarray(rows, dtype=np.int64))
            self._rows[field] = _frozen(index.without_nested(rows))

    def rows(
        self, line: Action | int | str, *, caller: str = "RecipeRun.rows"
    ) -> np.ndarray:
        """Return the positions in :attr:`frame` of the rows a line names.

        See :meth:`matches`; this gives the row positions (sorted) instead of
        the rows.

        Returns
        -------
        numpy.ndarray of int64
            Read-only.
        """
        action = self._action(line, caller)
        return self._field_rows(action.field)

    def matches(self, line: Action | int | str) -> pd.DataFrame:
        """Return the rows of the frame one line's field expression names.

        Exactly :meth:`Recipe.matches`: the line is matched on its own, as if
        it were the recipe's only ``%header`` line (``KEEP`` lines and
        earlier removals hide nothing), with the ``%values`` and ``%fields``
        lists built from every row; a row nested in a sequence the line also
        names is left out (the line acts on the sequence).

        Parameters
        ----------
        line : Action, int or str
            A header :class:`Action`, the line number of one, or a field
            expression such as ``"contains:Date"``.

        Returns
        -------
        pandas.DataFrame
            The rows of :attr:`frame` (a copy), with its columns.

        Raises
        ------
        InputError
            If there is no header line with that number, `line` is of another
            type, or its expression is one deid fails on.
        """
        rows = self.rows(line, caller="Recipe.matches")
        return self._frame.iloc[rows]

    def _line_rows(self) -> list[tuple[int, Action, np.ndarray | None]]:
        """Every header line with the rows it names (None: cannot be matched)."""
        self._list_rows([a.field for _, a in self._lines if _is_list(a.field)])
        out: list[tuple[int, Action, np.ndarray | None]] = []
        for number, action in self._lines:
            rows: np.ndarray | None
            if check_expression(action.field) is not None:
                rows = None
            else:
                rows = self._field_rows(action.field)
            out.append((number, action, rows))
        return out

    def line_matches(self) -> pd.DataFrame:
        """Return the rows every ``%header`` line names, from this one run.

        Each line is matched as :meth:`matches` says; a line whose field
        expression deid fails on names no rows.

        Returns
        -------
        pandas.DataFrame
            Long form, one row per (line, row named): ``line`` (int64, the
            line number) and ``row`` (int64, the position of the row in
            :attr:`frame`, for ``frame.iloc``), in the recipe's line order
            then frame order. ``frame.iloc[t.row[t.line == n]]`` is
            ``matches(n)``.
        """
        parts = [
            (number, rows) for number, _, rows in self._line_rows() if rows is not None
        ]
        numbers = [np.full(len(rows), n, dtype=np.int64) for n, rows in parts]
        return pd.DataFrame(
            {
                "line": np.concatenate(numbers) if numbers else EMPTY.copy(),
                "row": (
                    np.concatenate([rows for _, rows in parts])
                    if parts
                    else EMPTY.copy()
                ),
            },
            columns=list(LINE_MATCHES_COLUMNS),
        )

    def line_counts(self) -> pd.DataFrame:
        """Return, per ``%header`` line, how many rows and files it names and decides.

        Returns
        -------
        pandas.DataFrame
            One row per header line, in order: ``line`` (int64, its number),
            ``text`` (the line), ``matched`` (Int64: rows the line names, as
            :meth:`matches`; <NA> if deid fails on its expression), ``files``
            (Int64: files with a row it names) and ``decided`` (int64: rows
            of the preview where it is the line that decides).
        """
        entries = self._line_rows()
        decided = self._decided().to_dict()
        sizes = np.array([0 if r is None else len(r) for _, _, r in entries], np.int64)
        which = np.repeat(np.arange(len(entries)), sizes)
        rows = [r for _, _, r in entries if r is not None]
        file = self._outcome.file[np.concatenate(rows)] if rows else EMPTY
        width = max(len(self._outcome.files), 1)
        pairs = np.unique(which * width + file)
        files = np.bincount(pairs // width, minlength=len(entries))
        unknown = np.array([r is None for _, _, r in entries], dtype=bool)
        return pd.DataFrame(
            {
                "line": np.array([n for n, _, _ in entries], dtype=np.int64),
                "text": pd.array([item_text(a) for _, a, _ in entries], dtype=STRING),
                "matched": pd.arrays.IntegerArray(sizes, unknown.copy()),
                "files": pd.arrays.IntegerArray(files.astype(np.int64), unknown),
                "decided": np.array(
                    [decided.get(n, 0) for n, _, _ in entries], dtype=np.int64
                ),
            },
            columns=list(LINE_COUNTS_COLUMNS),
        )
