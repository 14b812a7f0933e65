"""Read deid recipe text into the model, line by line, as deid 0.4.13 reads it.

Every line is read with deid's rules (``deid/config/utils.py``), so a recipe
means here what it means to deid. Where deid would stop with an error, or
silently drop a line the author meant (a lower-case action, a criterion it
does not know, a parameter it ignores), :class:`RecipeSyntaxError` names the
file, the line number and the line instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from deidscope.errors import RecipeSyntaxError
from deidscope.recipe._model import (
    ACTIONS,
    COORDINATE_KINDS,
    CRITERIA,
    FORMATS,
    GROUP_ACTIONS,
    SECTIONS,
    VALUE_CRITERIA,
    Action,
    Coordinates,
    CriteriaLine,
    Criterion,
    FilterGroup,
    GroupAction,
    Label,
    Operator,
)

__all__ = [
    "LineError",
    "RecipeParts",
    "parse_action_line",
    "parse_group_line",
    "parse_member",
    "parse_text",
    "split_tokens",
]

# A token: a run of characters that are not spaces or quotes, or quoted
# strings (which may hold spaces), glued together; deid's token grammar.
_TOKEN = re.compile(r"""(?:[^\s"']|"(?:\\.|[^"])*"|'(?:\\.|[^'])*')+""")
_SPLIT_PARAM = re.compile(r"^[^=]*=[^=]*$")


class LineError(Exception):
    """A line that cannot be read; the caller adds where it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def split_tokens(line: str) -> list[re.Match[str]]:
    """Split an action line into tokens as deid does (quotes keep spaces).

    Parameters
    ----------
    line : str
        The line, stripped.

    Returns
    -------
    list of re.Match
        One match per token, with its text and position.

    Examples
    --------
    >>> [m.group() for m in split_tokens('REMOVE (0033,"A B",1E) # x')]
    ['REMOVE', '(0033,"A B",1E)', '#', 'x']
    """
    return list(_TOKEN.finditer(line))


def _tail(line: str, tokens: list[re.Match[str]]) -> tuple[str | None, str | None]:
    """Return deid's value (tokens after the field, single-spaced, cut at ``#``)."""
    rest = tokens[2:]
    if not rest:
        return None, None
    joined = " ".join(token.group() for token in rest)
    value, hash_, _ = joined.partition("#")
    comment: str | None = None
    if hash_:
        raw = line[rest[0].start() :]
        comment = raw.partition("#")[2].strip() or None
    return value, comment


def _comment_only(line: str, tokens: list[re.Match[str]]) -> str | None:
    """Return the comment after the field of a line that takes nothing more."""
    value, comment = _tail(line, tokens)
    if value:
        raise LineError(
            f"{tokens[0].group()} takes only a field, and deid ignores the rest "
            f"({value.strip()!r}); remove it or start it with '#'"
        )
    return comment


def _head(line: str) -> tuple[list[re.Match[str]], str]:
    """Return the tokens of an action line and its first (the action, or "")."""
    tokens = split_tokens(line)
    return tokens, tokens[0].group() if tokens else ""


def _rest(
    line: str, tokens: list[re.Match[str]], action: str, *, takes_value: bool
) -> tuple[str, str | None, str | None]:
    """Return the field, value and comment after a checked `action`."""
    if len(tokens) < 2:
        raise LineError(f"{action} needs a field")
    if not takes_value:
        return tokens[1].group(), None, _comment_only(line, tokens)
    return tokens[1].group(), *_tail(line, tokens)


def parse_action_line(line: str) -> Action:
    """Read a ``%header`` or ``%labels`` line into an :class:`Action`.

    Parameters
    ----------
    line : str
        The line, stripped.

    Returns
    -------
    Action
        Without line number.

    Raises
    ------
    LineError
        If deid would stop, or silently ignore the line or part of it.
    """
    tokens, action = _head(line)
    if action not in ACTIONS:
        upper = action.upper()
        if upper in ACTIONS:
            raise LineError(
                f"actions are upper case: deid ignores {action!r}, write {upper!r}"
            )
        raise LineError(
            f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
        )
    takes_value = action not in ("BLANK", "KEEP")
    field_, value, comment = _rest(line, tokens, action, takes_value=takes_value)
    if action in ("ADD", "REPLACE", "JITTER") and value is None:
        raise LineError(f"{action} needs a value after the field")
    return Action(action, field_, value, comment)


def parse_group_line(line: str, *, section: str) -> GroupAction:
    """Read a ``%values`` or ``%fields`` line into a :class:`GroupAction`.

    Parameters
    ----------
    line : str
        The line, stripped.
    section : {"values", "fields"}
        The section it is in.

    Returns
    -------
    GroupAction
        Without line number.

    Raises
    ------
    LineError
        If deid would stop, or silently ignore the line or part of it.
    """
    tokens, action = _head(line)
    if action not in GROUP_ACTIONS:
        raise LineError(
            f"%{section} lines are FIELD or SPLIT in upper case; "
            f"deid ignores {action!r}"
        )
    if action == "SPLIT" and section == "fields":
        raise LineError("%fields only takes FIELD lines; SPLIT belongs in %values")
    takes_value = action == "SPLIT"
    field_, value, comment = _rest(line, tokens, action, takes_value=takes_value)
    if value is not None:
        check_split_parameters(value)
    return GroupAction(action, field_, value, comment)


def check_split_parameters(value: str) -> None:
    """Raise LineError unless deid can read ``SPLIT`` parameters.

    deid splits them at ``;`` and each at ``=``; ``minlength`` must be an
    integer. Names other than ``by`` and ``minlength`` are read and ignored
    (the linter reports them). A quoted ``minlength`` is read as a
    number (see :func:`split_minlength`).
    """
    for param in value.split(";"):
        if not _SPLIT_PARAM.match(param):
            raise LineError(
                f"SPLIT parameters are name=value pairs joined by ';' "
                f'(by="^";minlength=4), but deid cannot read {param!r}'
            )
        name, _, number = param.partition("=")
        if name.strip() == "minlength":
            try:
                split_minlength(number)
            except ValueError:
                raise LineError(
                    f"SPLIT minlength must be an integer, but got {number.strip()!r}"
                ) from None


def split_minlength(text: str) -> int:
    """Read a ``minlength`` parameter; quotes around it are allowed.

    deid's documentation writes ``minlength='4'``, which deid itself cannot
    read (it calls ``int("'4'")``); deidscope reads it as 4.
    """
    return int(text.strip().strip("'\""))


def _split_operator(member: str) -> tuple[str, str | None, str]:
    """Split at the first ``||`` or ``+`` as deid does: (left, operator, rest)."""
    at_or = member.find("||")
    at_and = member.find("+")
    if at_or < 0 and at_and < 0:
        return member, None, ""
    if at_and < 0 or (0 <= at_or < at_and):
        left, _, rest = member.partition("||")
        return left, "||", rest
    left, _, rest = member.partition("+")
    return left, "+", rest


def _parse_criteria(text: str, operator: Operator | None) -> CriteriaLine:
    """Read one criteria line as deid does (its leading operator removed)."""
    queue = [text]
    criteria: list[Criterion] = []
    inner: list[Operator] = []
    while queue:
        member = queue.pop(0).strip()
        left, found, rest = _split_operator(member)
        # an operator not followed by a test is part of a value: deid keeps it
        if found is not None and any(word in rest for word in CRITERIA):
            queue.append(rest.strip())
            inner.append("or" if found == "||" else "and")
            member = left
        action, space, remainder = member.partition(" ")
        action = action.lower().strip()
        if not space:
            raise LineError(f"criterion {member.strip()!r} needs a field")
        if action in VALUE_CRITERIA:
            field_, space, value = remainder.partition(" ")
            if not space:
                raise LineError(
                    f"{action} needs a field and a value, but got {member.strip()!r}"
                )
            criterion = Criterion(action, field_.strip(), value.strip())
        elif action in CRITERIA:
            criterion = Criterion(action, remainder.strip(), None)
        else:
            raise LineError(
                f"{action!r} is not a filter test; deid split this line at "
                f"'+' or '||' inside a value (expected one of {', '.join(CRITERIA)})"
            )
        if not criterion.field:
            raise LineError(f"{action} needs a field, but got {member.strip()!r}")
        criteria.append(criterion)
    return CriteriaLine(criteria, operator, inner)


def _check_coordinates(kind: str, value: str) -> None:
    if value.lower() == "all":
        return
    if value.startswith("from:"):
        if kind.startswith("ctp"):
            raise LineError(f"{kind} takes x,y,width,height, not {value!r}")
        if not value[5:].strip():
            raise LineError(f"{kind} from: needs a field name")
        return
    parts = value.split(",")
    if kind.startswith("ctp"):
        parts = [part for part in parts if part]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4:
        form = "x,y,width,height" if kind.startswith("ctp") else "xmin,ymin,xmax,ymax"
        raise LineError(
            f"{kind} takes four integers ({form}), 'all' or 'from:<field>', "
            f"but got {value!r} (deid reads comments here too)"
        )


def parse_member(line: str) -> CriteriaLine | Coordinates | None:
    """Read one line of a ``LABEL`` block.

    Parameters
    ----------
    line : str
        The line, stripped.

    Returns
    -------
    CriteriaLine, Coordinates or None
        None for a comment line.

    Raises
    ------
    LineError
        If deid would stop, or silently drop the line.
    """
    lower = line.lower()
    for kind in ("ctpcoordinates", "ctpkeepcoordinates", *COORDINATE_KINDS[:2]):
        if lower.startswith(kind):
            if not line.startswith(kind):
                raise LineError(f"write {kind!r} in lower case; deid misreads {line!r}")
            value = line.replace(kind, "").strip()
            _check_coordinates(kind, value)
            return Coordinates(kind, value)
    operator: Operator | None = None
    member = line
    if member.startswith("+"):
        operator = "and"
        member = member.replace("+", "", 1).strip()
    elif member.startswith("||"):
        operator = "or"
        member = member.replace("||", "", 1).strip()
    if member.startswith("#"):
        return None
    if not member.lower().startswith(CRITERIA):
        raise LineError(
            f"not a filter criterion or coordinates line; expected one of "
            f"{', '.join(CRITERIA)} or {', '.join(COORDINATE_KINDS)}"
        )
    return _parse_criteria(member, operator)


def _parse_section(line: str) -> tuple[str, str | None]:
    text = line.partition("#")[0].strip()
    parts = text.split(" ")
    name = " ".join(parts[1:]) if len(parts) > 1 else None
    section = re.sub(r"[%\s]", "", parts[0]).lower()
    if section not in SECTIONS:
        raise LineError(
            f"unknown section %{section}; expected one of "
            f"{', '.join('%' + s for s in SECTIONS)}"
        )
    if section in ("filter", "values", "fields") and not name:
        raise LineError(f"%{section} needs a name, e.g. '%{section} mylist'")
    if section in ("header", "labels") and name is not None:
        raise LineError(f"%{section} takes no name, but got {name!r}")
    return section, name


def _parse_format(line: str) -> str:
    match = re.fullmatch(r"FORMAT\s*(\S+)", line)
    if match is None or match.group(1).lower() not in FORMATS:
        raise LineError(
            f"expected 'FORMAT {FORMATS[0]}' ({', '.join(FORMATS)} only, "
            "FORMAT in upper case, nothing after it)"
        )
    return match.group(1).lower()


@dataclass
class RecipeParts:
    """What :func:`parse_text` reads, before it becomes a Recipe."""

    format: str = "dicom"
    header: list[Action] = field(default_factory=list)
    filters: list[FilterGroup] = field(default_factory=list)
    values: dict[str, list[GroupAction]] = field(default_factory=dict)
    fields: dict[str, list[GroupAction]] = field(default_factory=dict)
    labels: list[Action] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    trailing_comments: list[str] = field(default_factory=list)


class _Reader:
    """The state of one pass over a recipe's lines."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.parts = RecipeParts()
        self.section: str | None = None
        self.name: str | None = None
        self.label: Label | None = None
        self.pending: list[str] = []
        self.seen_item = False

    def take_comments(self) -> list[str]:
        comments, self.pending = self.pending, []
        self.seen_item = True
        return comments

    def group(self, name: str, lineno: int) -> FilterGroup:
        for group in self.parts.filters:
            if group.name == name:
                return group
        group = FilterGroup(name, [], lineno)
        self.parts.filters.append(group)
        return group

    def member(self, line: str, lineno: int) -> None:
        assert self.label is not None
        item = parse_member(line)
        if item is None:
            self.pending.append(line)
            return
        item.comments = self.take_comments()
        item.lineno = lineno
        if isinstance(item, Coordinates):
            self.label.coordinates.append(item)
        else:
            self.label.criteria.append(item)

    def start_label(self, line: str, lineno: int) -> None:
        keyword = line[:5]
        rest = line[5:]
        if rest and not rest[0].isspace() and rest[0] != "#":
            raise LineError(f"expected a space after {keyword}")
        text, _, comment = rest.partition("#")
        name = text[1:].rstrip() if text[:1].isspace() else text.rstrip()
        assert self.name is not None
        self.label = Label(
            name,
            keyword=keyword,
            comment=comment.strip() or None,
            comments=self.take_comments(),
            lineno=lineno,
        )
        self.group(self.name, lineno).labels.append(self.label)

    def line(self, line: str, lineno: int) -> None:
        if self.label is not None:
            if not (line.upper().startswith("LABEL") or line.startswith("%")):
                self.member(line, lineno)
                return
            self.label = None
        if line.startswith("#"):
            self.pending.append(line)
        elif re.match("format", line, re.IGNORECASE):
            self.parts.format = _parse_format(line)
            if not self.seen_item:
                self.parts.comments += self.pending
                self.pending = []
        elif line.startswith("%"):
            self.section, self.name = _parse_section(line)
            if self.section == "filter":
                assert self.name is not None
                self.group(self.name, lineno)
            elif self.section in ("values", "fields"):
                assert self.name is not None
                getattr(self.parts, self.section).setdefault(self.name, [])
        elif self.section in ("values", "fields") and line.upper().startswith(
            GROUP_ACTIONS
        ):
            assert self.name is not None
            item = parse_group_line(line, section=self.section)
            item.comments, item.lineno, item.path = (
                self.take_comments(),
                lineno,
                self.path,
            )
            getattr(self.parts, self.section)[self.name].append(item)
        elif line.upper().startswith(ACTIONS):
            if self.section == "filter" and line.upper().startswith("LABEL"):
                self.start_label(line, lineno)
            elif self.section in ("header", "labels"):
                action = parse_action_line(line)
                action.comments, action.lineno = self.take_comments(), lineno
                action.path = self.path
                getattr(self.parts, self.section).append(action)
            elif self.section is None:
                raise LineError("an action before any section: start with %header")
            else:
                raise LineError(
                    f"%{self.section} does not take {line.split()[0]} lines"
                    + (
                        "; filters are LABEL blocks"
                        if self.section == "filter"
                        else "; its lines are FIELD or SPLIT"
                    )
                )
        else:
            where = f" in %{self.section}" if self.section else ""
            raise LineError(f"not a recipe line{where}")


def parse_text(text: str, *, path: str | os.PathLike[str] | None = None) -> RecipeParts:
    """Read recipe text.

    Parameters
    ----------
    text : str
        The recipe.
    path : str or os.PathLike or None, optional
        The file it came from, for messages and line sources.

    Returns
    -------
    RecipeParts
        The sections, in the model's classes, with line numbers.

    Raises
    ------
    RecipeSyntaxError
        For the first line that cannot be read, naming the file, the line
        number and the line.
    """
    source = None if path is None else os.fspath(path)
    reader = _Reader(source)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            reader.line(line, lineno)
        except LineError as exc:
            raise RecipeSyntaxError(
                exc.message, line=raw, lineno=lineno, path=source
            ) from None
    reader.parts.trailing_comments = reader.pending
    return reader.parts
