"""Run a recipe's ``%header`` over an identifier frame, as deid's parser would.

deid's ``DicomParser.parse`` works file by file, line by line. This engine
does the same work for every file at once: each line is matched against the
frame's distinct fields (:mod:`deidscope.recipe._expand`) and its effect is
recorded on numpy arrays of row states. The rules are deid 0.4.13's:

- ``KEEP`` lines are expanded first, over all fields; the *tags* of the
  top-level fields they name are then skipped at every depth, with
  everything nested in them: no other line can touch those (but ``ADD`` can
  overwrite one, as in deid).
- ``%values`` and ``%fields`` lists are built from the fields left, before
  any header line runs.
- Header lines then run in recipe order on the fields still there:
  ``BLANK`` empties, ``REPLACE`` sets, ``JITTER`` shifts dates, ``ADD``
  sets or creates a top-level element, ``REMOVE`` deletes, unless a
  ``REPLACE`` or ``JITTER`` line anywhere in the recipe names the field.
  Blanking or removing a sequence takes its items with it. A later line
  wins over an earlier one (``REPLACE`` then ``BLANK`` blanks, ``BLANK``
  then ``REPLACE`` replaces), ``REMOVE`` over ``BLANK``.
- The protected fields (pixel data and deid's skip list) are not in the
  frame and cannot be touched; ``ADD`` does not create them.

Beyond deid: when a recipe changes ``SOPInstanceUID`` (``SOPClassUID``), the
file meta's ``MediaStorageSOPInstanceUID`` (``MediaStorageSOPClassUID``)
follows it, and random ``deid_func`` values are memoised per original value
so UIDs stay consistent across a study.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from deidscope.errors import InputError
from deidscope.fields import SINGLE_VALUE_TEXT_VRS, format_tag
from deidscope.recipe._actions import (
    MISSING,
    FunctionCallError,
    RecipeFunctionError,
    deid_str,
    jitter_text,
    resolve,
    value_from_text,
)
from deidscope.recipe._expand import FieldKeys
from deidscope.recipe._model import Action, GroupAction
from deidscope.recipe._parse import split_minlength
from deidscope.recipe._state import (
    PROTECTED_TAGS,
    SOP_FOLLOWERS,
    Outcome,
    RecipeField,
    Run,
    element_text,
)

__all__ = ["Outcome", "RecipeField", "list_rows", "run_header"]

logger = logging.getLogger("deidscope.recipe")


#: A recipe line being run: its number and its action.
Where = tuple[int, Action]


def _line_text(action: Action) -> str:
    return " ".join(p for p in (action.action, action.field, action.value) if p)


def _failed(run: Run, file: int, where: Where, exc: FunctionCallError) -> Any:
    """Report a function that raised: raise, or record the file and go on."""
    lineno, action = where
    error = RecipeFunctionError(
        run.caller,
        function=exc.function,
        file=run.files[file],
        lineno=lineno,
        line=_line_text(action),
        reason=f"{type(exc.error).__name__}: {exc.error}",
        recipe_path=action.path,
    )
    if run.on_error == "raise":
        raise error from exc.error
    run.failures.setdefault(file, error)
    return MISSING


def _call(run: Run, file: int, where: Where, value: str, **kwargs: Any) -> Any:
    """:func:`resolve` for one file, a function that raises reported."""
    try:
        return resolve(
            value,
            lookup=run.lookups[file],
            dicom=run.dicom(file),
            memo=run.memo,
            keyed=run.keyed,
            **kwargs,
        )
    except FunctionCallError as exc:
        return _failed(run, file, where, exc)


def _lookup_value(run: Run, value: str, row: int, where: Where) -> Any:
    return _call(
        run, int(run.file[row]), where, value, vr=run.vr(row), field=run.field(row)
    )


def _is_plain(value: str) -> bool:
    return re.match(r"^(var|func|deid_func):", value) is None


def _resolved(run: Run, value: str, rows: np.ndarray, where: Where) -> list[Any]:
    """Resolve `value` for each row (cached where it can be)."""
    if _is_plain(value):
        by_vr: dict[str, Any] = {}
        out = []
        for row in rows:
            vr = run.vr(row)
            if vr not in by_vr:
                by_vr[vr] = resolve(value, vr=vr, lookup={})
            out.append(by_vr[vr])
        return out
    if value.startswith("var:"):
        return [
            resolve(value, vr=None, lookup=run.lookups[int(run.file[r])]) for r in rows
        ]
    return [_lookup_value(run, value, int(r), where) for r in rows]


def _keep(run: Run, actions: list[tuple[int, Action]]) -> None:
    """Deid's KEEP: skip the tags of the top-level fields named, at every depth."""
    keeps = [(n, a) for n, a in actions if a.action == "KEEP"]
    if not keeps:
        return
    kept_line: dict[tuple[int, int], int] = {}
    for lineno, action in keeps:
        rows = np.flatnonzero(
            run.keys.match(action.field)[run.rowkey]
            & (run.keys.depths[run.rowkey] == 0)
        )
        for f, t in zip(run.file[rows], run.keys.tags[run.rowkey[rows]], strict=True):
            kept_line.setdefault((int(f), int(t)), lineno)
    kept_tags = {t for _, t in kept_line}
    path_hits = np.array(
        [any(t in kept_tags for t in path) for path in run.keys.paths], dtype=bool
    )
    for row in np.flatnonzero(path_hits[run.rowkey]):
        path = run.keys.paths[run.rowkey[row]]
        file = int(run.file[row])
        lines = [kept_line[(file, t)] for t in path if (file, t) in kept_line]
        if lines:
            run.alive[row] = False
            run.action[row] = "KEEP"
            run.line[row] = lines[0]
            _keep_creator(run, int(row), lines[0])


def _keep_creator(run: Run, row: int, lineno: int) -> None:
    """Keep the private creator of a kept private element's block.

    Beyond deid (which can write a private element whose creator another
    line removed): a block's creator goes only with the last element kept.
    """
    tag = run.tag(row)
    group, element = tag >> 16, tag & 0xFFFF
    if not group & 1 or element < 0x1000:
        return
    parent, _, _ = run.uid(row).rpartition("__")
    creator = f"({group:04x}, {element >> 8:04x})"
    uid = f"{parent}__{creator}" if parent else creator
    found = run.row_of(int(run.file[row]), uid)
    if found is not None and run.alive[found]:
        run.alive[found] = False
        run.action[found] = "KEEP"
        run.line[found] = lineno


def _values_lists(run: Run, lists: Mapping[str, list[GroupAction]]) -> dict[str, Any]:
    """Per list name, per file, the values deid extracts (before any line runs)."""
    result: dict[str, list[set[str]]] = {}
    for name, items in lists.items():
        per_file: list[set[str]] = [set() for _ in run.files]
        for item in items:
            rows = run.key_rows(item.field)
            if item.action == "FIELD":
                for row in rows:
                    vr, text = run.vr(row), str(run.text[row])
                    if (
                        vr == "SQ"
                        or text == ""
                        or (text.startswith("<") and text.endswith(" bytes>"))
                    ):
                        continue
                    parts = (
                        text.split("\\") if vr not in SINGLE_VALUE_TEXT_VRS else [text]
                    )
                    per_file[int(run.file[row])].update(parts)
                continue
            by, minlength = " ", 1
            for param in (item.value or "").split(";") if item.value else []:
                key, _, text = param.partition("=")
                if key.strip() == "minlength":
                    minlength = split_minlength(text)
                elif key.strip() == "by":
                    by = text.strip().strip("'").strip('"')
            for row in rows:
                vr = run.vr(row)
                if vr == "SQ" or by == "":
                    continue
                words = deid_str(str(run.text[row]), vr).split(by)
                per_file[int(run.file[row])].update(
                    w for w in words if len(w) >= minlength
                )
        result[name] = per_file
    return result


def _fields_lists(run: Run, lists: Mapping[str, list[GroupAction]]) -> dict[str, Any]:
    """Per list name, the (file, tag) pairs of the fields deid lists."""
    result: dict[str, set[tuple[int, int]]] = {}
    for name, items in lists.items():
        pairs: set[tuple[int, int]] = set()
        for item in items:
            rows = run.key_rows(item.field)
            pairs.update(
                zip(
                    run.file[rows].tolist(),
                    run.keys.tags[run.rowkey[rows]].tolist(),
                    strict=True,
                )
            )
        result[name] = pairs
    return result


def _sequence_texts(run: Run) -> dict[tuple[int, str], str]:
    """Return each sequence's text roughly as ``str(Sequence)`` shows it.

    One ``(GGGG,EEEE) Name VR: value`` line per element nested in it.
    """
    texts: dict[tuple[int, str], list[str]] = {}
    for row in np.flatnonzero(run.present & (run.keys.depths[run.rowkey] > 0)):
        key = int(run.rowkey[row])
        tag = int(run.keys.tags[key])
        line = (
            f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {run.keys.element_name(key)} "
            f"{run.keys.vrs[key]}: {run.text[row]}"
        )
        for uid in run.keys.ancestors(key):
            texts.setdefault((int(run.file[row]), uid), []).append(line)
    return {key: "\n".join(lines) for key, lines in texts.items()}


def _value_rows(run: Run, per_file: list[set[str]]) -> np.ndarray:
    """Alive rows whose value deid's ``values:`` search finds.

    deid searches ``str(element.value)``; for a sequence that is the text of
    every element in it, names included, which :func:`_sequence_texts`
    imitates.
    """
    patterns: dict[frozenset[str], re.Pattern[str]] = {}
    hits: list[int] = []
    cache: dict[tuple[int, str, str], bool] = {}
    sequences: dict[tuple[int, str], str] | None = None
    for row in np.flatnonzero(run.alive):
        values = frozenset(per_file[int(run.file[row])])
        if not values:
            continue
        if values not in patterns:
            text = "(" + "|".join(sorted(values)) + ")"
            try:
                patterns[values] = re.compile(text, re.IGNORECASE)
            except re.error:
                escaped = "(" + "|".join(re.escape(v) for v in sorted(values)) + ")"
                patterns[values] = re.compile(escaped, re.IGNORECASE)
        pattern = patterns[values]
        vr, current = run.vr(row), str(run.text[row])
        if vr == "SQ":
            if sequences is None:
                sequences = _sequence_texts(run)
            inside = sequences.get((int(run.file[row]), run.uid(row)), "")
            if pattern.search(inside):
                hits.append(int(row))
            continue
        key = (id(pattern), vr, current)
        if key not in cache:
            cache[key] = pattern.search(deid_str(current, vr)) is not None
        if cache[key]:
            hits.append(int(row))
    return np.array(hits, dtype=np.int64)


def _target_rows(
    run: Run,
    field_: str,
    values: Mapping[str, list[set[str]]],
    fields_: Mapping[str, set[tuple[int, int]]],
) -> np.ndarray:
    if re.match("^values", field_):
        per_file = values.get(re.sub("^values:", "", field_))
        if per_file is None:
            return np.zeros(0, dtype=np.int64)
        return _value_rows(run, per_file)
    if re.match("^fields", field_):
        pairs = fields_.get(re.sub("^fields:", "", field_), set())
        if not pairs:
            return np.zeros(0, dtype=np.int64)
        tags = np.array(sorted({t for _, t in pairs}), dtype=np.int64)
        rows = np.flatnonzero(np.isin(run.keys.tags, tags)[run.rowkey] & run.alive)
        keep = [
            r
            for r in rows
            if (int(run.file[r]), int(run.keys.tags[run.rowkey[r]])) in pairs
        ]
        return np.array(keep, dtype=np.int64)
    return run.key_rows(field_)


def list_rows(
    run: Run,
    expressions: Sequence[str],
    values_lists: Mapping[str, list[GroupAction]],
    fields_lists: Mapping[str, list[GroupAction]],
) -> dict[str, np.ndarray]:
    """Return the rows each ``values:``/``fields:`` expression names on its own.

    The lists are built from every field of a run no line has touched (no
    ``KEEP`` hides anything), as :meth:`Recipe.matches` documents.
    """
    values = _values_lists(run, values_lists) if values_lists else {}
    fields_ = _fields_lists(run, fields_lists) if fields_lists else {}
    return {e: _target_rows(run, e, values, fields_) for e in expressions}


def _add(run: Run, action: Action, lineno: int) -> None:
    """Deid's ADD: set a top-level element, or create it, in every file."""
    name = action.field
    found = tag_for_keyword(name)
    tag: int | None = None if found is None else int(found)
    vr: str | None = None
    if tag is not None:
        vr = str(dictionary_VR(tag)).split(" or ")[0]
    elif re.fullmatch(r"[0-9a-fA-F]{1,8}", name):
        tag, vr = int(name, 16), "ST"
    assert action.value is not None
    tops = run.tops()
    pending: list[tuple[int, Any]] = []
    for file in range(len(run.files)):
        existing = None if tag is None else tops.get((file, tag))
        convert_vr = None
        if (
            existing is not None
            and run.present[existing]
            and not run.is_filemeta[existing]
        ):
            convert_vr = run.vr(existing)
        value = _call(
            run, file, (lineno, action), action.value, vr=convert_vr, field=name
        )
        if value is MISSING:
            continue
        if tag is None or vr is None:
            logger.warning(
                "ADD %s: not a DICOM keyword or hex tag (deid would fail); skipped",
                name,
            )
            return
        if tag in PROTECTED_TAGS or vr == "SQ":
            logger.warning("ADD %s: a protected field or a sequence; skipped", name)
            return
        if (existing is None or not run.alive[existing]) and element_text(
            vr, value, tag
        ) is None:
            logger.warning(
                "ADD %s: %r is not a valid %s value; skipped", name, value, vr
            )
            continue
        if existing is not None and run.alive[existing]:
            run.set_value(existing, value, "ADD", lineno)
            continue
        pending.append((file, value))
    if not pending or tag is None or vr is None:
        return
    # deid writes a new element (the dictionary's VR) over a kept or removed one
    key = run.keys.add(format_tag(tag), None, vr)
    run.key_vr = np.array(run.keys.vrs, dtype=object)
    new = [(f, tag, name, vr) for f, _ in pending if tops.get((f, tag)) is None]
    created = iter(run.extend(new)) if new else iter(())
    for file, value in pending:
        row = tops.get((file, tag))
        if row is None:
            row = int(next(created))
            tops[(file, tag)] = row
        run.rowkey[row] = key
        run.alive[row] = run.present[row] = True
        run.removed[row] = False
        run.set_value(row, value, "ADD", lineno)


def _apply_line(
    run: Run,
    lineno: int,
    action: Action,
    rows: np.ndarray,
    protected: np.ndarray,
) -> None:
    verb = action.action
    if verb == "BLANK":
        for row in rows:
            run.values.pop(int(row), None)
            if run.keep_values:
                run.values[int(row)] = None
        run.text[rows] = ""
        run.text[rows[run.key_vr[run.rowkey[rows]] == "SQ"]] = "<0 items>"
        run.record(rows, "BLANK", lineno)
        run.drop_descendants(rows, "BLANK", lineno)
        return
    if verb == "REMOVE":
        if action.value is not None:
            wanted = _resolved(run, action.value, rows, (lineno, action))
            rows = (
                rows[[v is not MISSING and bool(v) for v in wanted]]
                if len(rows)
                else rows
            )
        rows = rows[~protected[run.rowkey[rows]]]
        run.alive[rows] = False
        run.present[rows] = False
        run.removed[rows] = True
        run.record(rows, "REMOVE", lineno)
        run.drop_descendants(rows, "REMOVE", lineno)
        return
    assert action.value is not None
    rows = rows[run.key_vr[run.rowkey[rows]] != "SQ"]
    if verb == "REPLACE":
        replaced = _resolved(run, action.value, rows, (lineno, action))
        for row, value in zip(rows, replaced, strict=True):
            if value is not MISSING:
                run.set_value(int(row), value, "REPLACE", lineno)
        return
    if verb == "JITTER":
        cache: dict[tuple[str, str, int], str | None] = {}
        for row in rows:
            row = int(row)
            text, vr = str(run.text[row]), run.vr(row)
            current = (
                run.values[row] if row in run.values else value_from_text(text, vr)
            )
            if not current:
                continue
            days = _resolved(run, action.value, np.array([row]), (lineno, action))[0]
            try:
                days = int(days)
            except (TypeError, ValueError):
                logger.warning(
                    "JITTER %s: %r is not a number of days", action.field, days
                )
                continue
            key = (text, vr, days)
            if key not in cache:
                cache[key] = jitter_text(text, vr, days)
            new = cache[key]
            if new:
                run.set_value(row, new, "JITTER", lineno)


def _follow_sop(run: Run) -> None:
    """MediaStorageSOP*UID follows SOP*UID when the recipe changed it."""
    tops = run.tops()
    for file in range(len(run.files)):
        for sop, media in SOP_FOLLOWERS:
            source = tops.get((file, sop))
            target = tops.get((file, media))
            if source is None or target is None or run.removed[source]:
                continue
            if run.action[source] not in ("REPLACE", "JITTER", "ADD"):
                continue
            if not run.present[target] or run.action[target] == "KEEP":
                continue
            new = run.text[source]
            if not new or run.text[target] == new:
                continue
            run.text[target] = new
            if run.keep_values and source in run.values:
                run.values[target] = run.values[source]
            run.action[target] = run.action[source]
            run.line[target] = run.line[source]


def run_header(
    actions: Sequence[tuple[int, Action]],
    values_lists: Mapping[str, list[GroupAction]],
    fields_lists: Mapping[str, list[GroupAction]],
    df: pd.DataFrame,
    lookups: Sequence[Mapping[str, Any]],
    *,
    dicoms: Callable[[int], Dataset | None] | None = None,
    keep_values: bool = False,
    memo: dict[tuple[Any, ...], Any] | None = None,
    caller: str = "run_header",
    on_error: Literal["raise", "collect"] = "raise",
    keys: tuple[FieldKeys, np.ndarray] | None = None,
    keyed: Any = None,
) -> Outcome:
    """Run header actions over a frame.

    Parameters
    ----------
    actions : sequence of (int, Action)
        The ``%header`` lines with their line numbers.
    values_lists, fields_lists : mapping
        The recipe's ``%values`` and ``%fields`` lists.
    df : pandas.DataFrame
        An identifier frame (columns of :data:`deidscope.frame.COLUMNS`).
    lookups : sequence of mapping
        One lookup per file, in the order of ``df.file``'s categories.
    dicoms : callable or None, optional
        Gives the dataset of a file code, for ``func:`` functions.
    keep_values : bool, optional
        Keep the python values set (for writing files).
    memo : dict or None, optional
        Memo of random ``deid_func`` results (shared across calls of a run).
    caller : str, optional
        The public function running the recipe, for messages.
    on_error : {"raise", "collect"}, optional
        What to do when a ``func:`` or ``deid_func:`` function raises:
        raise a :class:`RecipeFunctionError`, or record it in the outcome's
        ``failures`` (the file's first) and go on with the other files.
    keys : tuple of (FieldKeys, numpy.ndarray) or None, optional
        ``frame_keys(df)``, when the caller has it (see
        :class:`deidscope.recipe._run.RecipeRun`): the field table is used
        and extended by ``ADD`` lines, the row array is not changed.
    keyed : Keyed or None, optional
        Keyed pseudonyms (:mod:`deidscope.recipe._keyed`): UIDs of
        ``deid_func:pydicom_uuid`` come from the key.

    Returns
    -------
    Outcome
        The state of every row after the recipe.

    Raises
    ------
    RecipeFunctionError
        If a function raises and `on_error` is ``"raise"``; it names the
        file, the recipe line and the function.
    """
    run = Run(
        df,
        lookups,
        dicoms=dicoms,
        keep_values=keep_values,
        memo={} if memo is None else memo,
        caller=caller,
        on_error=on_error,
        keys=keys,
    )
    run.keyed = keyed
    if len(run.files) != len(lookups):
        raise InputError("run_header: one lookup per file is needed")
    _keep(run, list(actions))
    values = _values_lists(run, values_lists)
    fields_ = _fields_lists(run, fields_lists)
    protected = np.zeros(len(run.keys), dtype=bool)
    for _, action in actions:
        if action.action in ("REPLACE", "JITTER"):
            protected |= run.keys.match(action.field)
    for lineno, action in actions:
        if action.action in ("KEEP", "LABEL"):
            continue
        if action.action == "ADD":
            _add(run, action, lineno)
            if len(protected) < len(run.keys):
                protected = np.zeros(len(run.keys), dtype=bool)
                for _, other in actions:
                    if other.action in ("REPLACE", "JITTER"):
                        protected |= run.keys.match(other.field)
            continue
        rows = _target_rows(run, action.field, values, fields_)
        _apply_line(run, lineno, action, rows, protected)
    _follow_sop(run)
    return Outcome(
        file=run.file,
        files=run.files,
        keys=run.keys,
        rowkey=run.rowkey,
        names=run.names,
        is_filemeta=run.is_filemeta,
        before=run.before,
        text=run.text,
        removed=run.removed,
        action=run.action,
        line=run.line,
        n_original=run.n,
        values=run.values,
        failures=run.failures,
    )
