"""``Recipe.lint``: what a recipe will not do the way its author may think.

Each finding has the line number (``line``) and text (``text``) of the
line, a code (the table below) and a message. Findings that need the data
are only made when a frame (or a :class:`~deidscope.recipe.RecipeRun`) is
given; they are read from one run of the recipe over it, and the conflicts
are found in time linear in the number of lines (lines are grouped by the
fields they name, and only lines that share a field are compared).

================== =========================================================
code               finding
================== =========================================================
no-match           a field expression names no field of the data
unknown-list       ``values:``/``fields:`` names a list the recipe lacks
missing-name       a ``var:``/``func:`` name the lookup lacks (per file)
unknown-deid-func  a ``deid_func:`` deid does not provide
comment-in-value   an inline comment leaves a trailing space in the value
remove-never       ``REMOVE x # ...``: deid reads "" and never removes
conflict           two lines act on the same fields; says which wins
split-param        ``SPLIT`` parameters deid ignores or cannot read
jitter-value       a ``JITTER`` amount that is not a whole number of days
bad-expression     a field expression deid fails on
add-field          an ``ADD`` field that is not a keyword or a hex tag
keep-nested        ``KEEP`` of a nested field: deid keeps only top-level tags
ignored-label      a ``LABEL`` line in ``%header``: deid ignores it
filter-field       a filter field unknown to DICOM, or absent from the data
================== =========================================================
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from pydicom.datadict import tag_for_keyword

from deidscope.errors import InputError
from deidscope.frame import STRING
from deidscope.recipe._actions import DEID_FUNCS
from deidscope.recipe._clean import CLEAN_FUNCTION
from deidscope.recipe._expand import FieldKeys, check_expression, split_expander
from deidscope.recipe._format import item_text
from deidscope.recipe._keyed import PSEUDONYM_FUNCTION
from deidscope.recipe._model import Action, GroupAction
from deidscope.recipe._preview import file_lookups
from deidscope.recipe._run import RecipeRun

if TYPE_CHECKING:
    from deidscope.recipe._recipe import Recipe

__all__ = ["LINT_COLUMNS", "RecipeLintWarning", "lint"]

#: The columns of :meth:`Recipe.lint`.
LINT_COLUMNS: tuple[str, ...] = ("line", "text", "code", "message")

_DYNAMIC = re.compile(r"^(var|func|deid_func):(\S*)")
# What wins when two actions name the same field (deid 0.4.13's code).
_ALWAYS_WINS = {"KEEP": {"REPLACE", "JITTER", "REMOVE", "BLANK"}}
_PROTECTS = {"REPLACE": {"REMOVE"}, "JITTER": {"REMOVE"}}


class RecipeLintWarning(UserWarning):
    """A finding of :meth:`Recipe.lint`, when asked to warn."""


class Finding(NamedTuple):
    """One lint finding."""

    line: int | None
    text: str
    code: str
    message: str


def _text(item: Action | GroupAction) -> str:
    return item_text(item)


def _header_findings(recipe: Recipe) -> Iterator[Finding]:
    lists = {"values": recipe.values, "fields": recipe.fields}
    for lineno, action in recipe._numbered():
        text = _text(action)
        reason = check_expression(action.field)
        if reason is not None:
            yield Finding(lineno, text, "bad-expression", reason)
        parts = split_expander(action.field)
        if (
            parts is not None
            and parts[0] in ("values", "fields")
            and parts[1] not in lists[parts[0]]
        ):
            yield Finding(
                lineno,
                text,
                "unknown-list",
                f"no %{parts[0]} {parts[1]} in the recipe: the line does nothing",
            )
        if action.action == "LABEL":
            yield Finding(
                lineno, text, "ignored-label", "deid ignores LABEL in %header"
            )
        if action.action == "KEEP" and "__" in action.field:
            yield Finding(
                lineno,
                text,
                "keep-nested",
                "deid keeps only top-level tags: a nested KEEP protects nothing",
            )
        if action.action == "ADD" and not (
            tag_for_keyword(action.field) is not None
            or re.fullmatch(r"[0-9a-fA-F]{1,8}", action.field)
        ):
            yield Finding(
                lineno,
                text,
                "add-field",
                f"deid can only ADD a keyword or a hex tag, not {action.field!r}",
            )
        value = action.value
        if value is None:
            continue
        if action.comment is not None and value.endswith(" "):
            yield Finding(
                lineno,
                text,
                "comment-in-value",
                f"deid reads the value as {value!r} (the comment leaves a space)"
                + ("; its lookup will fail" if _DYNAMIC.match(value) else ""),
            )
        if action.action == "REMOVE" and value == "":
            yield Finding(
                lineno,
                text,
                "remove-never",
                "deid reads the comment as an empty condition and never removes; "
                "put the comment on its own line",
            )
        match = _DYNAMIC.match(value)
        if match and match.group(1) == "deid_func" and match.group(2) not in DEID_FUNCS:
            yield Finding(
                lineno,
                text,
                "unknown-deid-func",
                f"deid has no function {match.group(2)!r} "
                f"(it has {', '.join(sorted(DEID_FUNCS))}); the line does nothing",
            )
        if action.action == "JITTER" and not match:
            try:
                int(value.strip())
            except ValueError:
                yield Finding(
                    lineno,
                    text,
                    "jitter-value",
                    f"JITTER needs whole days, not {value!r} (deid fails)",
                )


def _split_findings(recipe: Recipe) -> Iterator[Finding]:
    for name, items in recipe.values.items():
        for item in items:
            if item.action != "SPLIT" or item.value is None:
                continue
            text = _text(item)
            for param in item.value.split(";"):
                key, _, setting = param.partition("=")
                key, setting = key.strip(), setting.strip()
                if key == "minlength" and not setting.isdigit():
                    yield Finding(
                        item.lineno,
                        text,
                        "split-param",
                        f"deid cannot read minlength={setting} (it calls int() on "
                        "it and fails); write minlength=4",
                    )
                elif key == "by" and not setting.strip("'\""):
                    yield Finding(
                        item.lineno, text, "split-param", "by= is empty: deid fails"
                    )
                elif key not in ("by", "minlength"):
                    yield Finding(
                        item.lineno,
                        text,
                        "split-param",
                        f"deid ignores {key}= (it reads only by= and minlength=) "
                        f"in %values {name}; it splits at spaces",
                    )


def _names(recipe: Recipe) -> Iterator[tuple[int, Action, str, str]]:
    for lineno, action in recipe._numbered():
        match = _DYNAMIC.match(action.value or "")
        if match and match.group(1) in ("var", "func"):
            option = (action.value or "")[match.end(1) + 1 :]
            yield lineno, action, match.group(1), option


def _lookup_findings(
    recipe: Recipe, files: list[str], lookup: Mapping[Any, Any] | None
) -> Iterator[Finding]:
    lookups = file_lookups(files or ["<recipe>"], lookup, caller="Recipe.lint")
    for lineno, action, kind, name in _names(recipe):
        if kind == "func" and name in (PSEUDONYM_FUNCTION, CLEAN_FUNCTION):
            continue  # deidscope provides it; without it the line is meant to skip
        lacking = [
            file
            for file, table in zip(files or ["<recipe>"], lookups, strict=True)
            if name not in table or (kind == "func" and not callable(table[name]))
        ]
        if lacking:
            where = f" for {len(lacking)} of {len(lookups)} files" if files else ""
            what = "function" if kind == "func" else "value"
            yield Finding(
                lineno,
                _text(action),
                "missing-name",
                f"the lookup has no {what} {name!r}{where}: deid skips the line",
            )


def _data_findings(recipe: Recipe, run: RecipeRun) -> Iterator[Finding]:
    keys = run.keys
    present = run.present
    masks: dict[int, np.ndarray] = {}
    numbered = recipe._numbered()
    for lineno, action in numbered:
        parts = split_expander(action.field)
        if parts is not None and parts[0] in ("values", "fields"):
            if parts[1] not in getattr(recipe, parts[0]):
                continue  # reported as unknown-list
            hits = len(run.rows(action)) if action.action != "ADD" else 1
        elif action.action == "ADD" or check_expression(action.field):
            continue
        else:
            masks[lineno] = keys.match(action.field) & present
            hits = int(masks[lineno].sum())
        if not hits and action.action != "ADD":
            yield Finding(
                lineno,
                _text(action),
                "no-match",
                f"{action.field} names no field of the data",
            )
    for kind in ("values", "fields"):
        for name, items in getattr(recipe, kind).items():
            for item in items:
                if check_expression(item.field):
                    continue
                if not (keys.match(item.field) & present).any():
                    yield Finding(
                        item.lineno,
                        _text(item),
                        "no-match",
                        f"{item.field} (in %{kind} {name}) names no field of the data",
                    )
    acting = [(n, a) for n, a in numbered if n in masks and a.action != "LABEL"]
    yield from _conflicts(acting, masks, keys)


def _winner(first: Action, second: Action) -> str:
    for a, b in ((first, second), (second, first)):
        if b.action in _ALWAYS_WINS.get(a.action, set()):
            return f"{a.action} wins"
        if b.action in _PROTECTS.get(a.action, set()):
            return f"{a.action} wins (it protects the field from REMOVE)"
    return f"the later line ({second.action}) wins"


def _signature(action: Action) -> tuple[str, str | None]:
    """Return what two lines must share not to conflict.

    The same action, and for actions that set a value the same value
    (``KEEP``, ``REMOVE`` and ``BLANK`` never conflict with themselves).
    """
    if action.action in ("KEEP", "REMOVE", "BLANK"):
        return action.action, None
    return action.action, action.value


def conflict_pairs(
    acting: Sequence[tuple[int, Action]],
    masks: Mapping[int, np.ndarray],
    *,
    stats: dict[str, int] | None = None,
) -> dict[tuple[int, int], list[int]]:
    """Find the pairs of lines that act on the same fields with different effects.

    Each line is filed under the fields its mask flags, grouped by
    :func:`_signature`; a line is compared only with the groups already
    filed under its own fields, never with every other line. The work is
    linear in the number of lines (times the fields each names) plus the
    size of the answer.

    Parameters
    ----------
    acting : sequence of (int, Action)
        The lines, in recipe order, with their numbers.
    masks : mapping of int to numpy.ndarray of bool
        Per line number, the fields (of a :class:`FieldKeys`) the line names.
    stats : dict or None, optional
        If given, ``stats["visits"]`` counts the groups looked at and
        ``stats["pairs"]`` the pairs found.

    Returns
    -------
    dict of (int, int) to list of int
        ``(i, j)`` (positions in `acting`, ``i < j``) to the fields both
        name, for each pair that conflicts; ordered by ``j``, then ``i``.
    """
    filed: dict[int, dict[tuple[str, str | None], list[int]]] = {}
    found: dict[tuple[int, int], list[int]] = {}
    visits = 0
    for j, (lineno, action) in enumerate(acting):
        mine = _signature(action)
        earlier: dict[int, list[int]] = {}
        for k in np.flatnonzero(masks[lineno]).tolist():
            groups = filed.setdefault(k, {})
            for signature, lines in groups.items():
                visits += 1
                if signature != mine:
                    for i in lines:
                        earlier.setdefault(i, []).append(k)
            groups.setdefault(mine, []).append(j)
        for i in sorted(earlier):
            found[(i, j)] = earlier[i]
    if stats is not None:
        stats["visits"] = stats.get("visits", 0) + visits
        stats["pairs"] = stats.get("pairs", 0) + len(found)
    return found


def _conflicts(
    acting: Sequence[tuple[int, Action]],
    masks: Mapping[int, np.ndarray],
    keys: FieldKeys,
) -> Iterator[Finding]:
    for (i, j), both in conflict_pairs(acting, masks).items():
        (first_line, first), (second_line, second) = acting[i], acting[j]
        names = sorted({keys.deid_names[k] or keys.uids[k] for k in both})
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        yield Finding(
            second_line,
            _text(second),
            "conflict",
            f"line {first_line} ({first.action} {first.field}) also acts on "
            f"{len(names)} of these fields ({shown}); {_winner(first, second)}",
        )


def _filter_findings(recipe: Recipe, df: pd.DataFrame | None) -> Iterator[Finding]:
    carried: set[str] | None = None
    if df is not None:
        top = df[df["depth"] == 0] if "depth" in df.columns else df
        carried = (
            {str(k) for k in top["keyword"].dropna().unique()}
            if "keyword" in top
            else set()
        )
        carried |= (
            {
                f"0x{str(t)[1:5]}{str(t)[7:11]}".lower()
                for t in top["tag"].dropna().unique()
            }
            if "tag" in top
            else set()
        )
    for group in recipe.filters:
        for label in group.labels:
            fields = [
                (c.field, line.lineno) for line in label.criteria for c in line.criteria
            ]
            fields += [
                (c.value[5:], c.lineno)
                for c in label.coordinates
                if c.value.startswith("from:")
            ]
            for name, lineno in fields:
                text = f"LABEL {label.name}: {name}"
                is_hex = "0x" in name
                if not is_hex and tag_for_keyword(name) is None:
                    yield Finding(
                        lineno,
                        text,
                        "filter-field",
                        f"{name!r} is not a DICOM keyword "
                        "(write a keyword or 0xGGGGEEEE)",
                    )
                elif (
                    carried is not None
                    and name.lower() not in carried
                    and name not in carried
                ):
                    yield Finding(
                        lineno,
                        text,
                        "filter-field",
                        f"no file of the data has {name} at the top level",
                    )


def _run_for(
    recipe: Recipe, df_or_ids: Any, lookup: Mapping[Any, Any] | None
) -> tuple[RecipeRun | None, Mapping[Any, Any] | None]:
    """Return the run the data findings read, and the lookup to check."""
    if df_or_ids is None:
        return None, lookup
    if isinstance(df_or_ids, RecipeRun):
        if lookup is not None and lookup is not df_or_ids.lookup:
            raise InputError(
                "Recipe.lint: the run has its lookup; pass lookup to Recipe.run, "
                "not with the run"
            )
        if not df_or_ids.is_run_of(recipe):
            raise InputError(
                "Recipe.lint: expected a run of this recipe, but the run's lines "
                "or lists differ (make it again with recipe.run(df))"
            )
        return df_or_ids, df_or_ids.lookup
    run = RecipeRun(recipe, df_or_ids, lookup, errors="collect", caller="Recipe.lint")
    return run, lookup


def _table(findings: list[Finding]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "line": pd.array([f.line for f in findings], dtype="Int64"),
            "text": pd.array([f.text for f in findings], dtype=STRING),
            "code": pd.array([f.code for f in findings], dtype=STRING),
            "message": pd.array([f.message for f in findings], dtype=STRING),
        },
        columns=list(LINT_COLUMNS),
    )
    table = table.sort_values("line", kind="stable", na_position="last")
    return table.reset_index(drop=True)


def lint(
    recipe: Recipe,
    df_or_ids: Any = None,
    lookup: Mapping[Any, Any] | None = None,
    *,
    warn: bool = False,
) -> pd.DataFrame:
    """Implement :meth:`Recipe.lint`."""
    run, lookup = _run_for(recipe, df_or_ids, lookup)
    findings = [*_header_findings(recipe), *_split_findings(recipe)]
    files: list[str] = []
    df = None
    if run is not None:
        df = run.frame
        files = list(run.outcome.files)
        findings += _data_findings(recipe, run)
    findings += _lookup_findings(recipe, files, lookup)
    findings += _filter_findings(recipe, df)
    table = _table(findings)
    if warn:
        for row in table.itertuples():
            warnings.warn(
                f"line {row.line}: {row.code}: {row.message} ({row.text})",
                RecipeLintWarning,
                stacklevel=3,
            )
    return table
