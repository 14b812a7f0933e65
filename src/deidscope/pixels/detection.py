"""Flag images from their headers with a recipe's ``%filter`` section, as deid does.

:func:`detect` gives, for every file of an identifier frame (or of paths),
the answer of deid 0.4.13's ``DicomCleaner.detect`` with the same recipe:
whether any LABEL matched, the filter group and LABEL of the first match,
and the boxes its cleaner would blank and keep. It works on the frame's
columns, a test at a time for all files together, and reads a file only
for the rare test the frame cannot answer (see
:mod:`deidscope.pixels._criteria`).

deid's rules, kept here because recipes are written for them:

- groups are checked in recipe order, and the LABELs of a group in order;
  every LABEL is checked, and the file's group is the first that matched;
- the tests of one criteria line combine left to right (``a || b + c`` is
  ``(a or b) and c``); the lines of a LABEL are all required, whatever
  ``+`` or ``||`` starts them (deid's detector does not use those);
- a LABEL with coordinates and no criteria matches every image, one with
  neither matches none;
- a LABEL's coordinates count when it matches, in every group (a whitelist
  match is flagged too, with group ``whitelist``), and deid's cleaner blanks
  the boxes of every matching LABEL; ``coordinates all`` is the whole image
  and ``from:Sequence`` takes the RegionLocation boxes of its items.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as PydicomSequence

from deidscope.errors import (
    BatchErrors,
    Errors,
    ReadError,
    RecipeSyntaxError,
)
from deidscope.files import PathLike, read_dataset
from deidscope.frame import check_frame, read_identifiers
from deidscope.pixels._criteria import (
    FieldValues,
    compile_expression,
    dataset_answer,
    field_values,
    frame_answers,
    frame_exact,
    needs_dataset,
    tag_text,
)
from deidscope.pixels.boxes import Box
from deidscope.recipe._types import RecipeLike, as_recipe

__all__ = ["DEFAULT_RECIPE", "DETECT_COLUMNS", "detect"]

logger = logging.getLogger(__name__)

#: deidscope's own filter recipe (documented line by line in data/README.md).
DEFAULT_RECIPE = os.path.join(os.path.dirname(__file__), "data", "default.deid")

#: The columns of :func:`detect`'s result, in order.
DETECT_COLUMNS = (
    "file",
    "flagged",
    "group",
    "label",
    "reason",
    "coordinates",
    "keep_coordinates",
    "matches",
)
_REGION = (
    "RegionLocationMinX0",
    "RegionLocationMinY0",
    "RegionLocationMaxX1",
    "RegionLocationMaxY1",
)
_ITEM = re.compile(r"__(\d+)__")


@dataclass
class _Test:
    action: str
    field: str
    value: str | None  # what deid passes (its value list is not aligned)


@dataclass
class _Line:
    tests: list[_Test]
    operators: list[str]


@dataclass
class _Label:
    group: str
    name: str
    lines: list[_Line]
    always: bool  # coordinates and no criteria
    never: bool  # neither
    coordinates: list[tuple[bool, str]] = field(default_factory=list)  # (keep, value)
    reason: str = ""


def _criterion_text(action: str, field: str, value: str | None) -> str:
    return f"{action} {field}" + (f" {value}" if value is not None else "")


def _compile(recipe: Any) -> list[_Label]:
    """Return the recipe's filter labels with deid's values, checked up front."""
    labels: list[_Label] = []
    for group in getattr(recipe, "filters", []):
        for label in group.labels:
            lines = []
            reasons = []
            for line in label.criteria:
                # deid keeps only the values of tests that take one, then
                # reads them by the test's position: a test after a
                # value-less one gets the next test's value (or None).
                values = [c.value for c in line.criteria if c.value is not None]
                tests = []
                words = []
                for i, criterion in enumerate(line.criteria):
                    value = values[i] if i < len(values) else None
                    tests.append(
                        _Test(criterion.action, criterion.field, value or None)
                    )
                    words.append(
                        _criterion_text(
                            criterion.action, criterion.field, criterion.value
                        )
                    )
                    if criterion.action in ("contains", "notcontains"):
                        try:
                            compile_expression(value or None)
                        except re.error as exc:
                            raise RecipeSyntaxError(
                                f"detect: not a regular expression ({exc})",
                                line=words[-1],
                                lineno=line.lineno or 0,
                                path=getattr(recipe, "path", None),
                            ) from None
                    if "0x" in criterion.field:
                        try:
                            int(criterion.field, 0)
                        except ValueError:
                            raise RecipeSyntaxError(
                                "detect: not a tag (0xGGGGEEEE)",
                                line=words[-1],
                                lineno=line.lineno or 0,
                                path=getattr(recipe, "path", None),
                            ) from None
                ops = list(line.inner_operators)
                lines.append(_Line(tests, ops))
                text = words[0]
                for op, word in zip(ops, words[1:], strict=False):
                    text += f" {'+' if op == 'and' else '||'} {word}"
                reasons.append(text)
            coords = [(c.keep, c.deid_value) for c in label.coordinates]
            reason = " + ".join(f"({r})" if "||" in r else r for r in reasons)
            labels.append(
                _Label(
                    group=group.name,
                    name=label.name,
                    lines=lines,
                    always=not lines and bool(coords),
                    never=not lines and not coords,
                    coordinates=coords,
                    reason=reason or "coordinates without criteria: every image",
                )
            )
    return labels


class _Files:
    """The frame's files, their top-level values, and a dataset cache."""

    def __init__(
        self, frame: pd.DataFrame, errors: list[tuple[str, str]], fields: set[str]
    ) -> None:
        column = frame["file"]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cat_codes = column.cat.codes.to_numpy()
            seen = pd.unique(cat_codes[cat_codes >= 0])
            position = np.full(len(column.cat.categories), -1, dtype=np.int64)
            position[seen] = np.arange(len(seen))
            codes = np.where(cat_codes >= 0, position[cat_codes], -1)
            names = column.cat.categories[seen]
        else:
            codes, names = pd.factorize(column)
        self.files = [str(f) for f in names]
        self.n = len(self.files)
        self.errors = errors
        self.failed: set[int] = set()
        self._frame = frame
        self._codes = np.asarray(codes)
        # Only the top-level rows of the fields the recipe tests are needed:
        # take them out of the (possibly millions of) rows once.
        tags = {tag for tag in (tag_text(f) for f in fields) if tag is not None}
        wanted = (
            frame["tag"].isin(tags).to_numpy(bool)
            & (frame["depth"].to_numpy() == 0)
            & ~frame["is_filemeta"].to_numpy(bool)
        )
        rows = np.flatnonzero(wanted)
        subset = frame.iloc[rows]
        self._sub_codes = self._codes[rows]
        self._sub_tags = subset["tag"].astype(str).to_numpy()
        self._sub_vrs = subset["VR"].astype(str).to_numpy()
        self._sub_values = subset["value"].to_numpy(dtype=object, na_value="")
        self._values: dict[str, FieldValues] = {}
        self._datasets: dict[int, Any] = {}

    def values(self, field: str) -> FieldValues:
        got = self._values.get(field)
        if got is not None:
            return got
        tag = tag_text(field)
        if tag is None:
            got = FieldValues.absent(self.n)
        else:
            rows = np.flatnonzero(self._sub_tags == tag)
            got = field_values(
                self.n,
                self._sub_codes[rows],
                self._sub_vrs[rows],
                self._sub_values[rows],
            )
        self._values[field] = got
        return got

    def dataset(self, pos: int) -> Any:
        if pos in self._datasets:
            return self._datasets[pos]
        path = self.files[pos]
        try:
            ds = read_dataset(path)
        except (OSError, ReadError) as exc:
            ds = None
            if pos not in self.failed:
                self.failed.add(pos)
                self.errors.append(
                    (
                        path,
                        f"detect: a test needs the file, which cannot be read: {exc}",
                    )
                )
        self._datasets[pos] = ds
        return ds

    def number(self, keyword: str) -> list[int | None]:
        vals = self.values(keyword)
        out: list[int | None] = []
        for text in vals.text:
            try:
                out.append(int(text) if text is not None else None)
            except ValueError:
                out.append(None)
        return out

    def regions(self, field: str) -> dict[int, list[Box]]:
        """``from:field`` boxes per file position, from the nested rows."""
        names = {f"{field}__{name}": name for name in _REGION}
        frame = self._frame
        mask = (frame["depth"].to_numpy() == 1) & frame["name"].isin(
            list(names)
        ).to_numpy(bool)
        found: dict[int, dict[int, dict[str, int]]] = {}
        rows = np.flatnonzero(mask)
        subset = frame.iloc[rows]
        for pos, uid, name, value in zip(
            self._codes[rows],
            subset["uid"].astype(str).to_numpy(),
            subset["name"].astype(str).to_numpy(),
            subset["value"].to_numpy(dtype=object, na_value=""),
            strict=True,
        ):
            match = _ITEM.search(str(uid))
            try:
                number = int(str(value))
            except ValueError:
                continue
            if match:
                item = found.setdefault(int(pos), {}).setdefault(
                    int(match.group(1)), {}
                )
                item[names[str(name)]] = number
        out: dict[int, list[Box]] = {}
        for pos, items in found.items():
            out[pos] = [
                (v[_REGION[0]], v[_REGION[1]], v[_REGION[2]], v[_REGION[3]])
                for _, v in sorted(items.items())
                if all(k in v for k in _REGION)
            ]
        return out


def _dataset_regions(ds: Any, field: str) -> list[Box]:
    """Return deid's ``from:`` boxes, read from a dataset's sequence items."""
    if ds is None or field not in ds:
        return []
    value = ds.get(field)
    items = list(value) if isinstance(value, PydicomSequence) else [value]
    out: list[Box] = []
    for item in items:
        if not isinstance(item, Dataset) or not all(k in item for k in _REGION):
            continue
        try:
            numbers = [int(item.get(k)) for k in _REGION]
        except (TypeError, ValueError):
            continue
        out.append((numbers[0], numbers[1], numbers[2], numbers[3]))
    return out


def _evaluate(files: _Files, labels: list[_Label]) -> np.ndarray:
    """Return a (labels, files) boolean matrix: which LABEL matches which file."""
    matched = np.zeros((len(labels), files.n), bool)
    for i, label in enumerate(labels):
        if label.always:
            matched[i] = True
            continue
        if label.never:
            continue
        result = np.ones(files.n, bool)
        for line in label.lines:
            if not result.any():
                break  # the lines are all required: no file can match now
            flags = []
            for test in line.tests:
                values = files.values(test.field)
                flag = frame_answers(test.action, values, test.value)
                if frame_exact(test.field):
                    fallback = np.flatnonzero(needs_dataset(test.action, values))
                else:
                    fallback = np.arange(files.n)
                for pos in fallback:
                    ds = files.dataset(int(pos))
                    if ds is not None:
                        flag[pos] = dataset_answer(
                            ds, test.action, test.field, test.value
                        )
                flags.append(flag)
            line_flag = flags[0]
            for op, flag in zip(line.operators, flags[1:], strict=False):
                line_flag = (flag & line_flag) if op == "and" else (flag | line_flag)
            result &= line_flag
        matched[i] = result
    return matched


def _boxes(
    files: _Files, labels: list[_Label], matched: np.ndarray
) -> tuple[list[list[Box]], list[list[Box]]]:
    """Return the blank and keep boxes of every file, in deid's order."""
    rows = files.number("Rows")
    columns = files.number("Columns")
    regions: dict[str, dict[int, list[Box]]] = {}
    blank: list[list[Box]] = [[] for _ in range(files.n)]
    keep: list[list[Box]] = [[] for _ in range(files.n)]
    for i, label in enumerate(labels):
        if not label.coordinates:
            continue
        for pos in np.flatnonzero(matched[i]):
            for is_keep, value in label.coordinates:
                target = keep[pos] if is_keep else blank[pos]
                if value.lower() == "all":
                    if rows[pos] is None or columns[pos] is None:
                        logger.info("%s: coordinates all, but no Rows/Columns", pos)
                        continue
                    target.append((0, 0, columns[pos], rows[pos]))  # type: ignore[arg-type]
                elif value.startswith("from:"):
                    name = value[len("from:") :]
                    if name not in regions:
                        regions[name] = files.regions(name)
                    found = regions[name].get(int(pos))
                    sequence = files.values(name)
                    if (
                        found is None
                        and sequence.present[pos]
                        and not sequence.empty[pos]
                    ):
                        found = _dataset_regions(files.dataset(int(pos)), name)
                    target.extend(found or [])
                else:
                    numbers = [int(part) for part in value.split(",")]
                    target.append((numbers[0], numbers[1], numbers[2], numbers[3]))
    return blank, keep


#: The columns detect reads besides the tag, depth and file-meta flag.
_COLUMNS = ("file", "uid", "name", "VR", "value")


def _frame(
    df_or_paths: pd.DataFrame | PathLike | Iterable[PathLike], errors: Errors
) -> pd.DataFrame:
    if isinstance(df_or_paths, pd.DataFrame):
        check_frame(
            df_or_paths,
            caller="detect",
            columns=(
                "file",
                "uid",
                "name",
                "VR",
                "value",
                "tag",
                "depth",
                "is_filemeta",
            ),
        )
        return df_or_paths
    # detect warns once, for the files it could not read or test
    return read_identifiers(
        df_or_paths, errors="ignore" if errors == "warn" else errors
    )


def detect(
    df_or_paths: pd.DataFrame | PathLike | Iterable[PathLike],
    recipe: RecipeLike,
    *,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """Flag images whose headers match a recipe's ``%filter`` LABELs, as deid does.

    Parameters
    ----------
    df_or_paths : pandas.DataFrame, path or iterable of paths
        An identifier frame (:func:`deidscope.read_identifiers`, not
        modified) or files and folders to read one from.
    recipe : deidscope.recipe.Recipe, str or os.PathLike
        The recipe, or its file; :data:`DEFAULT_RECIPE` is deidscope's.
    errors : {"warn", "ignore", "raise"}, optional
        Files that cannot be read (or, for a test the frame cannot answer,
        re-read) are listed in ``result.attrs["errors"]``; ``"warn"``
        (default) also warns once, ``"raise"`` raises on the first.

    Returns
    -------
    pandas.DataFrame
        One row per file, in the frame's order, with the columns
        :data:`DETECT_COLUMNS`:

        ``file``
            the path, as in the frame;
        ``flagged``
            True if any LABEL matched (deid's ``flagged``; a whitelist
            match counts);
        ``group``, ``label``, ``reason``
            the filter group, LABEL name and criteria of the first match
            (None when not flagged);
        ``coordinates``, ``keep_coordinates``
            lists of ``(xmin, ymin, xmax, ymax)`` boxes to blank and to keep,
            from every matching LABEL in recipe order, as deid's cleaner
            uses them (``coordinates all`` is ``(0, 0, Columns, Rows)``);
        ``matches``
            every matching ``(group, label)``, in order.

    Raises
    ------
    InputError
        If `recipe` is not a recipe, the frame lacks columns, or `errors`
        is not a valid option.
    RecipeSyntaxError
        If a ``contains`` value is not a regular expression.
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> from deidscope.dicom import get_files
    >>> files = sorted(get_files(get_dataset("ultrasounds")))
    >>> flags = detect(files, DEFAULT_RECIPE)
    >>> flags.loc[0, ["group", "label"]].tolist()
    ['graylist', 'Ultrasound outside its imaging regions']
    >>> flags.loc[0, "keep_coordinates"]
    [(14, 38, 1010, 758)]
    """
    batch = BatchErrors("detect", errors, listed_in="result.attrs['errors']")
    recipe = as_recipe(recipe, caller="detect")
    labels = _compile(recipe)
    frame = _frame(df_or_paths, batch.errors)
    read_errors: list[tuple[str, str]] = []
    previous = frame.attrs.get("errors")
    if isinstance(previous, pd.DataFrame) and len(previous):
        pairs = previous[["file", "error"]].itertuples(index=False)
        read_errors += [(str(f), str(e)) for f, e in pairs]
    fields = {"Rows", "Columns"}
    for label in labels:
        fields.update(test.field for line in label.lines for test in line.tests)
        fields.update(
            value[len("from:") :]
            for _, value in label.coordinates
            if value.startswith("from:")
        )
    files = _Files(frame, read_errors, fields)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's, for files re-read
        matched = _evaluate(files, labels)
        blank, keep = _boxes(files, labels, matched)
    result = _result(files, labels, matched, blank, keep)
    batch.extend(read_errors)
    total = len(set(files.files) | {file for file, _ in read_errors})
    result.attrs["errors"] = batch.finish(total=total)
    return result


def _result(
    files: _Files,
    labels: list[_Label],
    matched: np.ndarray,
    blank: Sequence[list[Box]],
    keep: Sequence[list[Box]],
) -> pd.DataFrame:
    flagged = np.zeros(files.n, bool)
    if len(labels):
        flagged = np.asarray(matched.any(axis=0), dtype=bool)
    first: np.ndarray = (
        matched.argmax(axis=0) if len(labels) else np.zeros(files.n, int)
    )
    group: list[str | None] = []
    label: list[str | None] = []
    reason: list[str | None] = []
    matches: list[list[tuple[str, str]]] = []
    for pos in range(files.n):
        if not flagged[pos]:
            group.append(None)
            label.append(None)
            reason.append(None)
            matches.append([])
            continue
        hit = labels[first[pos]]
        group.append(hit.group)
        label.append(hit.name)
        reason.append(hit.reason)
        matches.append(
            [(labels[i].group, labels[i].name) for i in np.flatnonzero(matched[:, pos])]
        )
    return pd.DataFrame(
        {
            "file": files.files,
            "flagged": flagged.astype(bool),
            "group": pd.Series(group, dtype=object),
            "label": pd.Series(label, dtype=object),
            "reason": pd.Series(reason, dtype=object),
            "coordinates": pd.Series(list(blank), dtype=object),
            "keep_coordinates": pd.Series(list(keep), dtype=object),
            "matches": pd.Series(matches, dtype=object),
        },
        columns=list(DETECT_COLUMNS),
    )
