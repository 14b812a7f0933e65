"""``Recipe.lint``: what a recipe will not do the way its author may think.

Each finding has a code (the table below), the line number and text of the
line, and a message. Findings that need the data are only made when a frame
is given.

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
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from pydicom.datadict import tag_for_keyword

from deidscope.recipe._actions import DEID_FUNCS
from deidscope.recipe._expand import check_expression, frame_keys, split_expander
from deidscope.recipe._format import format_item
from deidscope.recipe._model import Action, GroupAction
from deidscope.recipe._preview import as_frame, file_lookups

if TYPE_CHECKING:
    from deidscope.recipe._recipe import Recipe

__all__ = ["LINT_COLUMNS", "RecipeLintWarning", "lint"]

#: The columns of :meth:`Recipe.lint`.
LINT_COLUMNS: tuple[str, ...] = ("lineno", "line", "code", "message")

_DYNAMIC = re.compile(r"^(var|func|deid_func):(\S*)")
# What wins when two actions name the same field (deid 0.4.13's code).
_ALWAYS_WINS = {"KEEP": {"REPLACE", "JITTER", "REMOVE", "BLANK"}}
_PROTECTS = {"REPLACE": {"REMOVE"}, "JITTER": {"REMOVE"}}


class RecipeLintWarning(UserWarning):
    """A finding of :meth:`Recipe.lint`, when asked to warn."""


class Finding(NamedTuple):
    """One lint finding."""

    lineno: int | None
    line: str
    code: str
    message: str


def _text(item: Action | GroupAction, section: str = "header") -> str:
    try:
        return format_item(item, section=section)
    except Exception:
        return f"{item.action} {item.field}"


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
            text = _text(item, "values")
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


def _data_findings(recipe: Recipe, df: pd.DataFrame) -> Iterator[Finding]:
    keys, rowkey = frame_keys(df)
    present = np.zeros(len(keys), dtype=bool)
    present[np.unique(rowkey)] = True
    masks: dict[int, np.ndarray] = {}
    numbered = recipe._numbered()
    for lineno, action in numbered:
        parts = split_expander(action.field)
        if parts is not None and parts[0] in ("values", "fields"):
            if parts[1] not in getattr(recipe, parts[0]):
                continue  # reported as unknown-list
            hits = len(recipe.matches(action, df)) if action.action != "ADD" else 1
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
                        _text(item, kind),
                        "no-match",
                        f"{item.field} (in %{kind} {name}) names no field of the data",
                    )
    yield from _conflicts(numbered, masks, keys)


def _winner(first: Action, second: Action) -> str:
    for a, b in ((first, second), (second, first)):
        if b.action in _ALWAYS_WINS.get(a.action, set()):
            return f"{a.action} wins"
        if b.action in _PROTECTS.get(a.action, set()):
            return f"{a.action} wins (it protects the field from REMOVE)"
    return f"the later line ({second.action}) wins"


def _conflicts(
    numbered: list[tuple[int, Action]], masks: dict[int, np.ndarray], keys: Any
) -> Iterator[Finding]:
    acting = [(n, a) for n, a in numbered if n in masks and a.action != "LABEL"]
    for i, (first_line, first) in enumerate(acting):
        for second_line, second in acting[i + 1 :]:
            same = first.action == second.action
            if same and (
                first.action in ("KEEP", "REMOVE", "BLANK")
                or first.value == second.value
            ):
                continue
            both = masks[first_line] & masks[second_line]
            if not both.any():
                continue
            names = sorted(
                {keys.deid_names[k] or keys.uids[k] for k in np.flatnonzero(both)}
            )
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


def lint(
    recipe: Recipe,
    df_or_ids: Any = None,
    lookup: Mapping[Any, Any] | None = None,
    *,
    warn: bool = False,
) -> pd.DataFrame:
    """Implement :meth:`Recipe.lint`."""
    df = None if df_or_ids is None else as_frame(df_or_ids, caller="Recipe.lint")
    findings = [*_header_findings(recipe), *_split_findings(recipe)]
    files: list[str] = []
    if df is not None:
        files = [str(f) for f in pd.Categorical(df["file"]).categories]
        findings += _data_findings(recipe, df)
    findings += _lookup_findings(recipe, files, lookup)
    findings += _filter_findings(recipe, df)
    table = pd.DataFrame(findings, columns=list(LINT_COLUMNS))
    table["lineno"] = table["lineno"].astype("Int64")
    table = table.sort_values("lineno", kind="stable", na_position="last")
    table = table.reset_index(drop=True)
    if warn:
        for row in table.itertuples():
            warnings.warn(
                f"line {row.lineno}: {row.code}: {row.message} ({row.line})",
                RecipeLintWarning,
                stacklevel=3,
            )
    return table
