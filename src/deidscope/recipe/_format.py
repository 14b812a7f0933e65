"""Write the model back as recipe text, and as the dict deid builds from it.

Every line written is read back with :mod:`deidscope.recipe._parse` before it
is accepted, so text we write always means to deid what the model says; a
value deid cannot represent (two spaces in a row, a ``#``, an unmatched
quote) raises :class:`~deidscope.errors.InputError` naming the line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from deidscope.errors import InputError
from deidscope.recipe._model import (
    Action,
    Coordinates,
    CriteriaLine,
    FilterGroup,
    GroupAction,
    Label,
)
from deidscope.recipe._parse import (
    LineError,
    parse_action_line,
    parse_group_line,
    parse_member,
)

if TYPE_CHECKING:
    from deidscope.recipe._recipe import Recipe

__all__ = ["format_item", "format_recipe", "item_text", "recipe_to_deid"]

_INDENT = "  "
# the fields each kind of line must read back the same
_ACTION_FIELDS = ("action", "field", "value", "comment")
_COORDINATE_FIELDS = ("kind", "value")
_CRITERIA_FIELDS = ("criteria", "operator", "inner_operators")


def _tail(value: str | None, comment: str | None) -> str:
    """Return what follows the field so that deid reads back `value`, `comment`."""
    note = "" if comment is None else comment
    if value is None:
        return "" if comment is None else f" # {note}"
    if value == "":
        return f" # {note}".rstrip()
    if value.endswith(" "):
        return f" {value.rstrip(' ')} # {note}".rstrip()
    if comment is None:
        return f" {value}"
    return f" {value}#{note}"


def _fail(item: object, line: str, reason: str) -> InputError:
    return InputError(
        f"to_text: cannot write {item!r} so that deid reads it back: {reason} "
        f"(line would be {line!r})"
    )


def _read_back(
    item: object, line: str, parse: Callable[[str], object], fields: tuple[str, ...]
) -> str:
    """Return `line` if `parse` reads back `item`'s `fields` from it, else raise."""
    try:
        read = parse(line)
    except LineError as exc:
        raise _fail(item, line, exc.message) from None
    for name in fields:
        if getattr(read, name) != getattr(item, name):
            raise _fail(
                item,
                line,
                f"deid would read {name} as {getattr(read, name)!r}",
            )
    return line


def format_item(
    item: Action | GroupAction | CriteriaLine | Coordinates, *, section: str = "header"
) -> str:
    """Write one recipe line (without comments before it or indentation).

    Parameters
    ----------
    item : Action, GroupAction, CriteriaLine or Coordinates
        The line.
    section : str, optional
        The section a :class:`GroupAction` belongs to (``values`` or
        ``fields``).

    Returns
    -------
    str
        The line.

    Raises
    ------
    InputError
        If deid would read the line back differently.

    Examples
    --------
    >>> format_item(Action("REPLACE", "PatientID", "var:id"))
    'REPLACE PatientID var:id'
    """
    if isinstance(item, Action | GroupAction):
        parse: Callable[[str], object] = (
            parse_action_line
            if isinstance(item, Action)
            else functools.partial(parse_group_line, section=section)
        )
        line = f"{item.action} {item.field}{_tail(item.value, item.comment)}"
        return _read_back(item, line, parse, _ACTION_FIELDS)
    if isinstance(item, Coordinates):
        line = f"{item.kind} {item.value}"
        return _read_back(item, line, parse_member, _COORDINATE_FIELDS)
    if isinstance(item, CriteriaLine):
        if len(item.inner_operators) != max(len(item.criteria) - 1, 0):
            raise InputError(
                f"to_text: {item!r} needs one inner operator between each two criteria"
            )
        if not item.criteria:
            raise InputError(f"to_text: {item!r} has no criteria")
        parts: list[str] = []
        for i, criterion in enumerate(item.criteria):
            if i:
                parts.append("||" if item.inner_operators[i - 1] == "or" else "+")
            text = f"{criterion.action} {criterion.field}"
            if criterion.value is not None:
                text += f" {criterion.value}"
            parts.append(text)
        prefix = {"and": "+ ", "or": "|| ", None: ""}[item.operator]
        line = prefix + " ".join(parts)
        return _read_back(item, line, parse_member, _CRITERIA_FIELDS)
    raise InputError(f"to_text: cannot write a {type(item).__name__}")


def item_text(item: Action | GroupAction) -> str:
    """Return a line's text for messages and tables, as :func:`format_item` writes.

    Unlike :func:`format_item`, the line is not read back: text that deid
    would read differently (a value with two spaces in a row, built in
    Python) is shown as it is instead of raising.

    Examples
    --------
    >>> item_text(Action("REMOVE", "PatientID", comment="old"))
    'REMOVE PatientID # old'
    >>> item_text(Action("REPLACE", "PatientID", "a  b"))
    'REPLACE PatientID a  b'
    """
    return f"{item.action} {item.field}{_tail(item.value, item.comment)}"


def _label_lines(label: Label) -> Iterator[str]:
    yield from label.comments
    head = f"{label.keyword} {label.name}" if label.name else label.keyword
    if label.comment is not None:
        head += f" # {label.comment}"
    if "#" in label.name or "\n" in label.name:
        raise _fail(label, head, "a LABEL name cannot hold '#' or a new line")
    yield head
    lines: list[CriteriaLine | Coordinates] = [*label.criteria, *label.coordinates]
    for line in lines:
        for comment in line.comments:
            yield _INDENT + comment
        yield _INDENT + format_item(line)


def _section_name(kind: str, name: str) -> str:
    if not name or "#" in name or "\n" in name or name != name.rstrip():
        raise InputError(f"to_text: %{kind} name {name!r} cannot be written")
    return f"%{kind} {name}"


def format_recipe(recipe: Recipe) -> str:
    """Write a recipe as text: comments, FORMAT, filters, lists, header, labels.

    Parameters
    ----------
    recipe : Recipe
        The recipe.

    Returns
    -------
    str
        Recipe text ending with a new line.

    Raises
    ------
    InputError
        If a line cannot be written so that deid reads it back the same.
    """
    blocks: list[list[str]] = []
    blocks.append([*recipe.comments, f"FORMAT {recipe.format}"])
    for group in recipe.filters:
        blocks.append([_section_name("filter", group.name)])
        blocks.extend(list(_label_lines(label)) for label in group.labels)
    for kind in ("values", "fields"):
        lists: dict[str, list[GroupAction]] = getattr(recipe, kind)
        for name, items in lists.items():
            lines = [_section_name(kind, name)]
            for item in items:
                lines += item.comments
                lines.append(format_item(item, section=kind))
            blocks.append(lines)
    for kind in ("header", "labels"):
        actions: list[Action] = getattr(recipe, kind)
        if actions:
            lines = []
            for action in actions:
                lines += action.comments
                lines.append(format_item(action))
            blocks += [[f"%{kind}"], lines]
    if recipe.trailing_comments:
        blocks.append(list(recipe.trailing_comments))
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _action_to_deid(action: Action | GroupAction, *, section: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"action": action.action, "field": action.field}
    if isinstance(action, GroupAction):
        if section == "values" and (
            action.value is not None or action.comment is not None
        ):
            entry["value"] = action.value or ""
        return entry
    if action.action in ("ADD", "REPLACE", "JITTER", "REMOVE") and (
        action.value is not None
    ):
        entry["value"] = action.value
    return entry


def _filter_to_deid(group: FilterGroup) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for label in group.labels:
        filters = []
        for line in label.criteria:
            filters.append(
                {
                    "action": [c.action for c in line.criteria],
                    "field": [c.field for c in line.criteria],
                    "operator": line.operator,
                    "InnerOperators": list(line.inner_operators),
                    "value": [c.value for c in line.criteria if c.value is not None],
                }
            )
        items.append(
            {
                "filters": filters,
                "coordinates": [
                    [1 if c.keep else 0, c.deid_value] for c in label.coordinates
                ],
                "name": label.deid_name,
            }
        )
    return items


def recipe_to_deid(recipe: Recipe) -> dict[str, Any]:
    """Return the dict deid's ``DeidRecipe(...).deid`` holds for this recipe.

    Parameters
    ----------
    recipe : Recipe
        The recipe.

    Returns
    -------
    dict
        ``format``, then the sections deid would have: ``filter`` (group name
        to a list of ``{"filters", "coordinates", "name"}``), ``values`` and
        ``fields`` (list name to ``{"action", "field"[, "value"]}`` entries),
        ``header`` and ``labels`` (lists of ``{"action", "field"[,
        "value"]}``). ``LABEL`` actions of ``%header`` are left out, as deid
        leaves them out; empty ``header`` and ``labels`` sections too.
    """
    deid: dict[str, Any] = {"format": recipe.format}
    if recipe.filters:
        deid["filter"] = {g.name: _filter_to_deid(g) for g in recipe.filters}
    for kind in ("values", "fields"):
        lists: dict[str, list[GroupAction]] = getattr(recipe, kind)
        if lists:
            deid[kind] = {
                name: [_action_to_deid(item, section=kind) for item in items]
                for name, items in lists.items()
            }
    for kind in ("header", "labels"):
        actions = [
            _action_to_deid(a, section=kind)
            for a in getattr(recipe, kind)
            if a.action != "LABEL"
        ]
        if actions:
            deid[kind] = actions
    return deid
