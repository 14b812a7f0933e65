"""A scorecard of a de-identification: the checks the MIDI-B challenge scores.

:func:`scorecard` pairs each file after de-identification with its original
(:func:`~deidscope.audit.pair_files`) and judges every element of the
original by what PS3.15 Table E.1-1, with the options used, says should
happen to it:

``kept``
    An element the table keeps (not listed, ``K``, or kept by an option) is
    still there with the same value. Elements the heuristics call
    identifying are left to :func:`~deidscope.audit.leaks`, and the
    de-identification's own marks (group 0012, Longitudinal Temporal
    Information Modified, group lengths) may change, as may the other
    elements of an overlay plane (its data goes, the plane may go with it).
    In a sequence coded ``X/Z/U*`` (remove it, or keep it with new UIDs)
    either choice passes: its UIDs must be gone or changed, nothing else in
    it is judged (nor a SOP class UID, a vendor's included).
``not_empty``
    An element whose action is ``D`` (a dummy value) is there and not empty.
``text_kept``
    A text element an option cleans (``C``: descriptors, structured content,
    graphics) is there and not empty, and unchanged when it held no
    identifying value of its file.
``text_removed``
    An element the table removes, empties or replaces (and every private
    element but the safe ones Retain Safe Private keeps) is gone, empty, or
    holds another value that does not contain the original.
``dates_shifted``
    With Retain Longitudinal Temporal Information with Modified Dates: each
    date and date-time is there, changed, and moved by the same number of
    days for every date of one patient (the original PatientID).
``uids_changed``
    A UID the table replaces (``U``) is there, not empty and changed.
``uids_consistent``
    One original UID became one new UID everywhere, in every file, and two
    original UIDs did not become one.
``patient_ids_consistent``
    One original PatientID became one PatientID in every file, and two did
    not become one non-empty PatientID (an emptied PatientID is consistent).
``pixels``
    The pixel data is unchanged, byte for byte (or, when the encoding
    changed, once decoded), except in the boxes given for a file, where
    every pixel is 0 (what :func:`deidscope.pixels.clean` writes).

Each check gets a pass rate over the elements (or files, or UIDs) it
applies to; a check that applies to nothing passes.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydicom.datadict import keyword_for_tag

from deidscope import ps315
from deidscope.audit._identifying import (
    BINARY,
    check_options,
    identifying,
    leak_frame,
    path_tags,
)
from deidscope.audit._pairs import files_of, pair_files
from deidscope.audit._report import _esc, _page, _table, _value, _write
from deidscope.audit._rules import KINDS, WELL_KNOWN_UID_ROOTS
from deidscope.audit._scan import raw_values
from deidscope.errors import InputError
from deidscope.files import check_output

__all__ = ["CHECKS", "FAILURE_COLUMNS", "Scorecard", "scorecard"]

logger = logging.getLogger(__name__)

#: The checks, in the order the scorecard lists them.
CHECKS: tuple[str, ...] = (
    "kept",
    "not_empty",
    "text_kept",
    "text_removed",
    "dates_shifted",
    "uids_changed",
    "uids_consistent",
    "patient_ids_consistent",
    "pixels",
)
#: What each check asks, for the summary and the HTML page.
CHECK_TEXT: dict[str, str] = {
    "kept": "element kept where it must be",
    "not_empty": "text not empty where it must not be (D: dummy value)",
    "text_kept": "text kept (cleaned, not removed) where an option cleans it",
    "text_removed": "text removed where the standard removes it",
    "dates_shifted": "dates shifted, by one offset per patient",
    "uids_changed": "UIDs changed",
    "uids_consistent": "UIDs consistent across files",
    "patient_ids_consistent": "patient IDs consistent across files",
    "pixels": "pixels unchanged, or hidden where a box says so",
}
#: The columns of :attr:`Scorecard.failures`.
FAILURE_COLUMNS: tuple[str, ...] = (
    "check",
    "file",
    "source_file",
    "uid",
    "name",
    "before",
    "after",
    "reason",
)
# the rows each check judges, before the output file is named
_ROW_COLUMNS = [
    "check",
    "source_file",
    "uid",
    "name",
    "before",
    "after",
    "passed",
    "reason",
]
_DATE_VRS = frozenset({"DA", "DT"})
# elements a de-identification writes or may change: its own marks
_MARKS = frozenset({0x00280303})
_PIXEL_DATA = "(7fe0, 0010)"


@dataclasses.dataclass(frozen=True)
class Scorecard:
    """The result of :func:`scorecard`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per check of :data:`CHECKS`: ``check``, ``description``,
        ``passed``, ``total``, ``rate`` (``passed / total``, 1.0 when the
        check applies to nothing).
    files : pandas.DataFrame
        One row per file and check that applies to it: ``file`` (after),
        ``source_file``, ``check``, ``passed``, ``total``, ``rate``.
    failures : pandas.DataFrame
        One row per failed element, UID or file, with the columns of
        :data:`FAILURE_COLUMNS`.
    unpaired : pandas.DataFrame
        Files left out (``file``, ``side``).
    """

    summary: pd.DataFrame
    files: pd.DataFrame
    failures: pd.DataFrame
    unpaired: pd.DataFrame

    @property
    def passed(self) -> int:
        """How many judgements passed, over every check."""
        return int(self.summary["passed"].sum())

    @property
    def total(self) -> int:
        """How many judgements were made, over every check."""
        return int(self.summary["total"].sum())

    @property
    def rate(self) -> float:
        """The overall pass rate (1.0 when nothing was judged)."""
        return 1.0 if self.total == 0 else self.passed / self.total

    @property
    def ok(self) -> bool:
        """Whether every judgement passed."""
        return self.passed == self.total

    def to_html(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        title: str = "deidscope scorecard",
        limit: int = 500,
    ) -> Path:
        """Write the scorecard as one self-contained, escaped HTML page.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.html`` file to write (its folder must exist).
        overwrite : bool, optional
            Replace an existing file.
        title : str, optional
            The page's title.
        limit : int, optional
            The most failures listed per check.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        target = Path(check_output(path, overwrite=overwrite, caller="scorecard"))
        _write(
            target, scorecard_html(self, title=title, limit=limit), overwrite=overwrite
        )
        return target

    def _repr_html_(self) -> str:
        return _summary_table(self)


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f} %"


def _summary_table(card: Scorecard) -> str:
    rows = [
        (
            _esc(check),
            _esc(description),
            str(int(passed)),
            str(int(total)),
            _pct(rate) if total else "n/a",
        )
        for check, description, passed, total, rate in zip(
            card.summary["check"],
            card.summary["description"],
            card.summary["passed"],
            card.summary["total"],
            card.summary["rate"],
            strict=True,
        )
    ]
    return _table(["check", "what", "passed", "of", "rate"], rows, numeric=(2, 3, 4))


def scorecard_html(card: Scorecard, *, title: str, limit: int = 500) -> str:
    """Render a scorecard as an HTML page (every value escaped)."""
    verdict = "every check passed" if card.ok else "some checks failed"
    summary = (
        f"<p>{_esc(verdict)}: {card.passed} of {card.total} judgements passed "
        f"({_esc(_pct(card.rate))}).</p>"
    )
    sections = [("summary", "Checks", _summary_table(card))]
    per_file = card.files.pivot_table(
        index="file", columns="check", values=["passed", "total"], aggfunc="sum"
    )
    file_rows = []
    for file in per_file.index:
        cells = [_value(file)]
        for check in CHECKS:
            try:
                passed = per_file.loc[file, ("passed", check)]
                total = per_file.loc[file, ("total", check)]
            except KeyError:
                cells.append("")
                continue
            if pd.isna(total) or not total:
                cells.append("")
            else:
                mark = "" if passed == total else ' class="flag"'
                cells.append(f"<span{mark}>{int(passed)}/{int(total)}</span>")
        file_rows.append(cells)
    sections.append(
        (
            "files",
            "Per file",
            _table(["file", *CHECKS], file_rows, numeric=range(1, len(CHECKS) + 1)),
        )
    )
    for check in CHECKS:
        failed = card.failures[card.failures["check"] == check]
        if not len(failed):
            continue
        rows = [
            [
                _value(row["file"]),
                _value(row["name"]),
                _value(row["before"]),
                _value(row["after"]),
                _esc(row["reason"]),
            ]
            for row in failed.head(limit).to_dict("records")
        ]
        more = (
            f'<p class="small">{len(failed) - limit} more not shown.</p>'
            if len(failed) > limit
            else ""
        )
        sections.append(
            (
                f"fail-{check}",
                f"Failed: {CHECK_TEXT[check]} ({len(failed)})",
                _table(["file", "element", "before", "after", "reason"], rows) + more,
            )
        )
    if len(card.unpaired):
        rows = [
            [_value(f), _esc(s)]
            for f, s in zip(card.unpaired["file"], card.unpaired["side"], strict=True)
        ]
        sections.append(
            ("unpaired", "Files not paired", _table(["file", "side"], rows))
        )
    return _page(title, summary, sections)


def _effective(code: str) -> str:
    if not code or code == "K":
        return "keep"
    if code == "C":
        return "clean"
    if code == "D":
        return "dummy"
    if code == "U":
        return "uid"
    return "remove"


@functools.cache
def _category(uid: str, vr: str, options: tuple[str, ...]) -> str:
    """Say what the table says must happen to the element at `uid`.

    One of "kept", "dummy", "clean", "shift", "remove", "uid" or "" (not
    judged: file meta, private creators, the de-identification's marks).
    """
    tags = path_tags(uid)
    if not tags or -1 in tags:
        return ""
    if tags[0] >> 16 == 0x0002:
        return ""
    last = tags[-1]
    if last & 0xFFFF == 0 or last in _MARKS or last >> 16 == 0x0012:
        return ""
    if last >> 16 & 1 and 0x0010 <= last & 0xFFFF <= 0x00FF:
        return ""  # a private creator goes or stays with its block
    if any(tag >> 16 & 1 for tag in tags):
        return "remove"  # private (the safe ones are sorted out by the caller)
    effects = []
    for tag in tags:
        row = ps315.lookup(tag)
        if row is None:
            effects.append("keep")
            continue
        code = next((row[o] for o in options if row.get(o)), row["basic_profile"])
        # X/Z/U*: remove the sequence, or keep it with its UIDs replaced
        effects.append("uids" if code == "X/Z/U*" else _effective(code))
    ancestors, own = effects[:-1], effects[-1]
    if "remove" in ancestors or "dummy" in ancestors:
        return "remove"
    if "uids" in ancestors:
        # either choice passes: UIDs gone or changed, the rest not judged (nor
        # a SOP class, a vendor's included: it names a kind of object)
        own_class = keyword_for_tag(last).endswith("SOPClassUID")
        return "remove" if vr == "UI" and not own_class else ""
    if own == "uids":
        return ""
    if 0x6000 <= last >> 16 <= 0x601E and not last >> 16 & 1 and own == "keep":
        return ""  # an overlay plane may go with its data (60xx,3000)
    if own == "clean":
        return "shift" if vr in _DATE_VRS else ("clean" if vr != "SQ" else "")
    if own == "dummy":
        return "" if vr == "SQ" else "dummy"
    if own == "uid":
        return "uid" if vr == "UI" else "remove"
    if own == "remove":
        return "" if vr == "SQ" else "remove"
    if "clean" in ancestors:
        return ""  # inside cleaned content: cleaning may change it
    return "" if vr == "SQ" else "kept"


def _contains(after: str, before: str) -> bool:
    """Whether `after` still holds `before` (case-insensitive)."""
    if not before:
        return False
    return before.casefold() in after.casefold()


def _days(value: str, vr: str) -> int | None:
    """Return the day number of a DA or DT value, or None."""
    text = value.strip()[:8]
    if not re.fullmatch(r"[0-9]{8}", text):
        return None
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:])).toordinal()
    except ValueError:
        return None


def _safe_private_uids(
    before: pd.DataFrame, options: tuple[str, ...]
) -> set[tuple[str, str]]:
    """(file, uid) of the private elements Retain Safe Private keeps."""
    check = getattr(ps315, "is_safe_private", None)
    if "retain_safe_private" not in options or check is None:
        return set()
    out = set()
    private = before[before["private_creator"].notna()]
    for file, uid, creator in zip(
        private["file"].astype(str),
        private["uid"].astype(str),
        private["private_creator"].astype(str),
        strict=True,
    ):
        tags = path_tags(uid)
        if len(tags) == 1 and tags[0] != -1 and check(tags[0] >> 16, creator, tags[0]):
            out.add((file, uid))
    return out


def _pixels(
    paired: Mapping[str, str], boxes: Mapping[str, Iterable[Sequence[int]]]
) -> list[tuple[str, str, bool, str]]:
    """(after file, before file, passed, reason) per pair, for the pixel check."""
    out = []
    for after_file, before_file in paired.items():
        given = boxes.get(after_file, boxes.get(before_file))
        if not given:
            old = raw_values(before_file, [_PIXEL_DATA]).get(_PIXEL_DATA)
            new = raw_values(after_file, [_PIXEL_DATA]).get(_PIXEL_DATA)
            if old is None and new is None:
                continue
            if old == new:
                out.append((after_file, before_file, True, ""))
                continue
            same = _decoded_equal(before_file, after_file)
            reason = (
                ""
                if same
                else ("pixel data removed" if new is None else "pixel data changed")
            )
            out.append((after_file, before_file, bool(same), reason))
            continue
        out.append(
            (after_file, before_file, *_boxes_hidden(before_file, after_file, given))
        )
    return out


def _array(path: str) -> np.ndarray | None:
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            arr = np.asarray(ds.pixel_array)
            frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    except Exception as exc:
        logger.info("scorecard: cannot decode the pixels of %s: %s", path, exc)
        return None
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if frames == 1:
        arr = arr[np.newaxis]
    if samples == 1 and arr.ndim == 3:
        return arr
    return arr


def _decoded_equal(before: str, after: str) -> bool:
    old, new = _array(before), _array(after)
    return (
        old is not None
        and new is not None
        and old.shape == new.shape
        and bool(np.array_equal(old, new))
    )


def _boxes_hidden(
    before: str, after: str, boxes: Iterable[Sequence[int]]
) -> tuple[bool, str]:
    old, new = _array(before), _array(after)
    if old is None or new is None:
        return False, "pixels cannot be decoded"
    if old.shape != new.shape:
        return False, f"pixel array shape changed: {old.shape} -> {new.shape}"
    mask = np.zeros(old.shape[1:3], dtype=bool)
    for xmin, ymin, xmax, ymax in boxes:
        mask[int(ymin) : int(ymax), int(xmin) : int(xmax)] = True
    if not np.all(new[:, mask] == 0):
        return False, "a box is not hidden (not every pixel in it is 0)"
    if not np.array_equal(old[:, ~mask], new[:, ~mask]):
        return False, "pixels outside the boxes changed"
    return True, ""


def scorecard(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    *,
    options: Iterable[str] = (),
    pairs: Mapping[str, str] | None = None,
    boxes: Mapping[str, Iterable[Sequence[int]]] | None = None,
    pixels: bool = True,
) -> Scorecard:
    """Score a de-identification with the checks of the MIDI-B challenge.

    See the module documentation (:mod:`deidscope.audit._scorecard`) for
    what each check of :data:`CHECKS` asks.

    Parameters
    ----------
    before_df, after_df : pandas.DataFrame
        Frames of :func:`deidscope.read_identifiers` before and after
        de-identification (the files must be readable for the pixel check
        and binary values).
    options : iterable of str, optional
        The PS3.15 options of the de-identification
        (:data:`deidscope.ps315.OPTIONS`).
    pairs : mapping or None, optional
        ``{after_file: before_file}`` where file paths alone cannot pair them.
    boxes : mapping or None, optional
        ``{file: [(xmin, ymin, xmax, ymax), ...]}`` (the file before or
        after): regions that must be hidden (every pixel 0) in the result.
    pixels : bool, optional
        Run the pixel check (it reads the pixel data of both files).

    Returns
    -------
    Scorecard
        ``summary`` (per check), ``files`` (per file and check),
        ``failures`` (one row per failed element) and ``unpaired``; ``rate``
        and ``ok`` over everything, and ``to_html(path)``.

    Raises
    ------
    InputError
        If a frame is not an identifier frame, or an option is unknown.

    Examples
    --------
    >>> card = scorecard(before, after)  # doctest: +SKIP
    >>> card.summary[["check", "rate"]]  # doctest: +SKIP
    """
    before = leak_frame(before_df, caller="scorecard", side="before")
    after = leak_frame(after_df, caller="scorecard", side="after")
    chosen = check_options(options, caller="scorecard")
    if boxes is not None and not isinstance(boxes, Mapping):
        raise InputError(
            "scorecard: boxes must be a mapping {file: [(xmin, ymin, xmax, ymax)]}, "
            f"got {type(boxes).__name__}"
        )
    before_files, after_files = files_of(before), files_of(after)
    paired = pair_files(before_files, after_files, pairs=pairs)
    used = set(paired.values())
    unpaired = pd.DataFrame(
        [(f, "before") for f in before_files if f not in used]
        + [(f, "after") for f in after_files if f not in paired],
        columns=["file", "side"],
    )
    back = {b: a for a, b in paired.items()}

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "file": frame["file"].astype(str).to_numpy(),
                "uid": frame["uid"].astype(str).to_numpy(),
                "name": frame["name"].astype(str).to_numpy(),
                "VR": frame["VR"].astype(str).to_numpy(),
                "value": frame["value"].astype(str).fillna("").to_numpy(),
            }
        )

    left = plain(before)
    left = left[left["file"].isin(used)]
    right = plain(after)
    right["file"] = right["file"].map(paired)
    right = right.dropna(subset=["file"])
    both = left.merge(
        right.drop(columns=["name", "VR"]),
        on=["file", "uid"],
        how="left",
        suffixes=("_before", "_after"),
        indicator=True,
    )
    present = (both["_merge"] == "both").to_numpy()
    value_before = both["value_before"].to_numpy(dtype=object)
    value_after = both["value_after"].fillna("").to_numpy(dtype=object)
    vr = both["VR"].to_numpy(dtype=object)
    uid = both["uid"].to_numpy(dtype=object)
    file_of = both["file"].astype(str).to_numpy(dtype=object)
    name_of = both["name"].astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(
        pd.Series(list(zip(uid, vr, strict=True)), dtype=object)
    )
    categories = (
        np.array([_category(u, v, chosen) for u, v in uniques], dtype=object)[codes]
        if len(both)
        else np.array([], dtype=object)
    )
    safe = _safe_private_uids(before, chosen)
    if safe:
        keep = [(f, u) in safe for f, u in zip(file_of, uid, strict=True)]
        categories[np.asarray(keep, dtype=bool)] = "kept"
    # identifying values (heuristics) are left to leaks, not required kept
    heuristic = identifying(before, KINDS, chosen)
    flagged = set(
        zip(
            heuristic["file"].to_numpy(dtype=object),
            heuristic["uid"].to_numpy(dtype=object),
            strict=True,
        )
    )
    is_flagged = np.array(
        [(f, u) in flagged for f, u in zip(file_of, uid, strict=True)], dtype=bool
    )
    by_file = {
        f: [v for v in g["value"] if len(v) >= 4]
        for f, g in heuristic[~heuristic["binary"]].groupby("file")
    }
    binary = np.array([bool(BINARY.match(v)) for v in value_before], dtype=bool)
    results: list[tuple[Any, ...]] = []
    # (check, source_file, uid, name, before, after, passed, reason)

    def judge(check: str, i: int, passed: bool, reason: str = "") -> None:
        results.append(
            (
                check,
                str(file_of[i]),
                str(uid[i]),
                str(name_of[i]),
                value_before[i],
                value_after[i] if present[i] else "(removed)",
                passed,
                reason,
            )
        )

    shifts: dict[str, list[tuple[int, int]]] = {}
    patient_of = {
        f: v
        for f, u, v in zip(
            left["file"].to_numpy(dtype=object),
            left["uid"].to_numpy(dtype=object),
            left["value"].to_numpy(dtype=object),
            strict=True,
        )
        if u == "(0010, 0020)"
    }
    for i in range(len(both)):
        category = categories[i]
        if not category:
            continue
        old, new = value_before[i], value_after[i]
        if category == "kept":
            if is_flagged[i] or (binary[i] and uid[i] == _PIXEL_DATA):
                continue
            if not present[i]:
                judge("kept", i, False, "removed")
            elif new != old:
                judge("kept", i, False, "changed")
            else:
                judge("kept", i, True)
        elif category == "dummy":
            if not old:
                continue
            if not present[i] or not new:
                judge("not_empty", i, False, "removed" if not present[i] else "emptied")
            elif new == old:
                judge("text_removed", i, False, "kept: a dummy value was expected")
            else:
                judge("not_empty", i, True)
        elif category == "clean":
            if not old:
                continue
            if not present[i] or not new:
                judge("text_kept", i, False, "removed" if not present[i] else "emptied")
                continue
            inside = [v for v in by_file.get(file_of[i], []) if _contains(old, v)]
            if inside:
                left_in = [v for v in inside if _contains(new, v)]
                judge(
                    "text_kept",
                    i,
                    not left_in,
                    f"still holds {left_in[0]!r}" if left_in else "",
                )
            else:
                judge("text_kept", i, new == old, "" if new == old else "changed")
        elif category == "remove":
            if not old or (vr[i] == "UI" and old.startswith(WELL_KNOWN_UID_ROOTS)):
                continue
            if not present[i] or not new:
                judge("text_removed", i, True)
            elif new == old or (
                not binary[i] and len(old) >= 4 and _contains(new, old)
            ):
                judge("text_removed", i, False, "kept" if new == old else "contained")
            else:
                judge("text_removed", i, True)
        elif category == "shift":
            if not old:
                continue
            before_day, after_day = _days(old, vr[i]), _days(new, vr[i])
            if not present[i] or not new:
                judge(
                    "dates_shifted",
                    i,
                    False,
                    "removed" if not present[i] else "emptied",
                )
            elif new == old:
                judge("dates_shifted", i, False, "not shifted")
            elif before_day is None or after_day is None:
                judge("dates_shifted", i, True)
            else:
                patient = patient_of.get(file_of[i], file_of[i])
                shifts.setdefault(patient, []).append((i, after_day - before_day))
        elif category == "uid":
            if not old or old.startswith(WELL_KNOWN_UID_ROOTS):
                continue
            if not present[i] or not new:
                judge(
                    "uids_changed", i, False, "removed" if not present[i] else "emptied"
                )
            elif new == old:
                judge("uids_changed", i, False, "kept")
            else:
                judge("uids_changed", i, True)
    for offsets in shifts.values():
        counts = pd.Series([o for _, o in offsets]).value_counts()
        usual = int(str(counts.index[0]))
        for i, offset in offsets:
            judge(
                "dates_shifted",
                i,
                offset == usual,
                "" if offset == usual else f"moved {offset} days, others {usual}",
            )
    _uid_consistency(both, present, categories, judge)
    judge_file: list[tuple[Any, ...]] = []
    _patient_ids(left, right, judge_file)
    rows = pd.DataFrame(
        results,
        columns=_ROW_COLUMNS,
    )
    extra = pd.DataFrame(
        judge_file,
        columns=_ROW_COLUMNS,
    )
    if pixels:
        pixel_rows = [
            ("pixels", b, _PIXEL_DATA, "PixelData", "", "", ok, reason)
            for a, b, ok, reason in _pixels(paired, boxes or {})
        ]
        extra = pd.concat(
            [extra, pd.DataFrame(pixel_rows, columns=extra.columns)], ignore_index=True
        )
    rows = pd.concat([rows, extra], ignore_index=True) if len(extra) else rows
    rows["file"] = rows["source_file"].map(back)
    rows["passed"] = rows["passed"].astype(bool)
    return _card(rows, unpaired)


def _uid_consistency(
    both: pd.DataFrame, present: np.ndarray, categories: np.ndarray, judge: Any
) -> None:
    """One original UID, one new UID; two originals, two new UIDs."""
    is_uid = (both["VR"].to_numpy() == "UI") & present & (categories != "")
    rows = np.flatnonzero(is_uid)
    pairs: list[tuple[int, str, str]] = []
    for i in rows:
        old_values = str(both["value_before"].iat[int(i)]).split("\\")
        new_values = str(both["value_after"].iat[int(i)]).split("\\")
        if len(old_values) != len(new_values):
            continue
        for old, new in zip(old_values, new_values, strict=True):
            if old and new and not old.startswith(WELL_KNOWN_UID_ROOTS):
                pairs.append((int(i), old, new))
    if not pairs:
        return
    frame = pd.DataFrame(pairs, columns=["row", "old", "new"])
    targets = frame.groupby("old")["new"].nunique()
    sources = frame.groupby("new")["old"].nunique()
    split = set(targets[targets > 1].index)
    merged = set(sources[sources > 1].index)
    for row, group in frame.groupby("row", sort=True):
        bad = [o for o in group["old"] if o in split]
        joined = [n for n in group["new"] if n in merged]
        reason = ""
        if bad:
            reason = "this UID became different new UIDs in other elements or files"
        elif joined:
            reason = "two original UIDs became this one new UID"
        judge("uids_consistent", int(str(row)), not reason, reason)


def _patient_ids(
    left: pd.DataFrame, right: pd.DataFrame, out: list[tuple[Any, ...]]
) -> None:
    """Per file: its original PatientID maps to one PatientID, and back."""
    old = left[left["uid"] == "(0010, 0020)"].set_index("file")["value"]
    new = right[right["uid"] == "(0010, 0020)"].set_index("file")["value"]
    files = sorted(set(left["file"]))
    mapping = pd.DataFrame(
        {
            "file": files,
            "old": [str(old.get(f, "")) for f in files],
            "new": [str(new.get(f, "")) for f in files],
        }
    )
    mapping = mapping[mapping["old"] != ""]
    if not len(mapping):
        return
    targets = mapping.groupby("old")["new"].nunique()
    nonempty = mapping[mapping["new"] != ""]
    sources = nonempty.groupby("new")["old"].nunique()
    for file, old_id, new_id in zip(
        mapping["file"], mapping["old"], mapping["new"], strict=True
    ):
        reason = ""
        if targets[old_id] > 1:
            reason = (
                f"this patient's files carry {targets[old_id]} different PatientIDs"
            )
        elif new_id and sources.get(new_id, 0) > 1:
            reason = "two patients share this new PatientID"
        out.append(
            (
                "patient_ids_consistent",
                file,
                "(0010, 0020)",
                "PatientID",
                old_id,
                new_id,
                not reason,
                reason,
            )
        )


def _card(rows: pd.DataFrame, unpaired: pd.DataFrame) -> Scorecard:
    counts = rows.groupby("check")["passed"].agg(["sum", "size"])
    summary = pd.DataFrame(
        {
            "check": list(CHECKS),
            "description": [CHECK_TEXT[c] for c in CHECKS],
            "passed": [int(counts["sum"].get(c, 0)) for c in CHECKS],
            "total": [int(counts["size"].get(c, 0)) for c in CHECKS],
        }
    )
    summary["rate"] = np.where(
        summary["total"] > 0, summary["passed"] / summary["total"].clip(lower=1), 1.0
    )
    per_file = (
        rows.groupby(["file", "source_file", "check"], sort=False)["passed"]
        .agg(["sum", "size"])
        .reset_index()
        .rename(columns={"sum": "passed", "size": "total"})
    )
    per_file["rate"] = per_file["passed"] / per_file["total"]
    per_file = per_file.astype({"passed": np.int64, "total": np.int64})
    failures = rows.loc[~rows["passed"], list(FAILURE_COLUMNS)].reset_index(drop=True)
    return Scorecard(
        summary=summary,
        files=per_file.loc[
            :, ["file", "source_file", "check", "passed", "total", "rate"]
        ],
        failures=failures,
        unpaired=unpaired,
    )
