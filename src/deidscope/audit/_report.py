"""The audit report: one self-contained HTML file.

Every header value, file name and error message is untrusted text: it goes
through :func:`_esc` (HTML-escaped, control characters shown as hex escapes,
long values cut), never into a tag or an attribute unescaped. The page loads
nothing: no scripts, no fonts, no images, and a Content-Security-Policy that
forbids them, so it opens the same offline.
"""

from __future__ import annotations

import datetime
import html
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from deidscope._optional import import_optional
from deidscope._version import __version__
from deidscope.audit._partial import check_frame, is_dask
from deidscope.audit._profile import finish, hits, keep_for, reduce_frame_with
from deidscope.audit._rules import KINDS
from deidscope.errors import InputError
from deidscope.files import atomic_output, check_output
from deidscope.ps315 import ACTION_CODES, OPTIONS

__all__ = ["report"]

logger = logging.getLogger(__name__)

#: Top-level fields the equipment tables count, with their headings.
EQUIPMENT: dict[str, str] = {
    "Modality": "Modality",
    "Manufacturer": "Manufacturer",
    "ManufacturerModelName": "Model",
}

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_MISSING = "(missing)"

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 3px 6px; vertical-align: top;
  text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.v { font-family: ui-monospace, monospace; white-space: pre-wrap;
  word-break: break-all; }
.flag { color: #a40000; font-weight: 600; }
.small { color: #666; font-size: 0.9em; }
.equipment { display: flex; gap: 2em; flex-wrap: wrap; }
ul.top { margin: 0; padding-left: 1.1em; }
"""


def _esc(value: object, limit: int | None = 200) -> str:
    """Escape any value as HTML text; cut it at `limit` characters."""
    text = "" if value is None or value is pd.NA else str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return html.escape(text, quote=True)


def _value(value: object, limit: int = 120) -> str:
    return f'<span class="v">{_esc(value, limit)}</span>'


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
) -> str:
    """Build a table of cells already escaped (headers are escaped here)."""
    head = "".join(f"<th>{_esc(header)}</th>" for header in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="small">None.</p>'
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _is_input(target: Path, files: pd.Series) -> bool:
    """Whether `target` is one of `files` (same file by any path)."""
    if not target.exists():
        return False
    names = pd.Series(pd.unique(files.astype(str)))
    same_name = names[names.map(os.path.basename) == target.name]
    for file in same_name:
        try:
            if os.path.samefile(file, target):
                return True
        except OSError:
            continue
    return False


def _check_errors(errors: Any) -> None:
    """Raise InputError unless `errors` is None or a frame of file and error."""
    if errors is None:
        return
    is_frame = isinstance(errors, pd.DataFrame) or is_dask(errors)
    if is_frame and {"file", "error"} <= set(errors.columns):
        return
    got = f"columns {list(errors.columns)}" if is_frame else type(errors).__name__
    raise InputError(
        "report: expected errors as None or a DataFrame with columns file "
        f"and error (pandas, or Dask from read_errors_dask), but got {got}"
    )


def _write(target: Path, text: str, *, overwrite: bool) -> None:
    """Write `text` to a temporary file beside `target`, then rename it.

    The file is created with the permissions the process umask gives, like
    every other output of deidscope (set a umask such as 077 to keep it
    private).
    """
    try:
        with (
            atomic_output(target, overwrite=overwrite, caller="report") as tmp,
            open(tmp, "x", encoding="utf-8", errors="backslashreplace") as handle,
        ):
            handle.write(text)
    except FileExistsError:
        raise FileExistsError(
            f"report: {os.fspath(target)!r} appeared while the report was "
            "written; pass overwrite=True to replace it"
        ) from None


def _equipment_rows(df: Any) -> Any:
    """Select the rows the equipment tables need (lazy on a Dask frame)."""
    return df[df["name"].isin(list(EQUIPMENT))][["file", "name", "value"]]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def _as_delayed(ddf: Any) -> Any:
    """Return a Dask frame as one delayed pandas frame, from its partitions."""
    dask = import_optional("dask", extra="dask", feature="report of a Dask frame")
    return dask.delayed(_concat, pure=True)(ddf.to_delayed())


def _equipment(wanted: pd.DataFrame) -> pd.DataFrame:
    """One row per file with its modality, manufacturer and model."""
    columns = list(EQUIPMENT)
    wanted = pd.DataFrame(
        {column: wanted[column].astype(str).to_numpy() for column in wanted.columns}
    )
    per_file = (
        wanted.drop_duplicates(["file", "name"])
        .pivot(index="file", columns="name", values="value")
        .reindex(columns=columns)
        .astype(object)
    )
    return per_file.where(per_file.notna() & (per_file != ""), _MISSING)


def _counts_table(values: pd.Series, heading: str, missing: int) -> str:
    counts = values.value_counts(sort=True)
    if missing:
        counts[_MISSING] = counts.get(_MISSING, 0) + missing
    rows = [(_value(value), str(int(count))) for value, count in counts.items()]
    return (
        f"<div><h3>{_esc(heading)}</h3>"
        + _table([heading, "files"], rows, numeric=[1])
        + "</div>"
    )


def _equipment_section(per_file: pd.DataFrame, n_files: int) -> str:
    missing = n_files - len(per_file)
    tables = "".join(
        _counts_table(per_file[column], heading, missing)
        for column, heading in EQUIPMENT.items()
    )
    combos = per_file.groupby(list(EQUIPMENT), sort=False).size()
    table = combos.reset_index(name="files").sort_values(
        "files", ascending=False, kind="stable"
    )
    rows = [
        (*(_value(part) for part in record[:-1]), str(int(record[-1])))
        for record in table.itertuples(index=False, name=None)
    ]
    if missing:
        rows.append((*(_value(_MISSING) for _ in EQUIPMENT), str(missing)))
    combined = _table([*EQUIPMENT.values(), "files"], rows, numeric=[len(EQUIPMENT)])
    return (
        f'<div class="equipment">{tables}</div>'
        f"<h3>Modality, manufacturer and model together</h3>{combined}"
    )


def _ps315_section(prof: pd.DataFrame) -> str:
    codes = prof["basic_profile"].replace("", "(not listed)")
    rows = []
    for code, group in prof.groupby(codes, sort=True):
        meaning = ACTION_CODES.get(str(code), "the table does not list these fields")
        names = ", ".join(_esc(name, 80) for name in group["name"].head(8))
        more = f" … and {len(group) - 8} more" if len(group) > 8 else ""
        rows.append(
            (
                _esc(code),
                _esc(meaning),
                str(len(group)),
                str(int(group["n_rows"].sum())),
                f'<span class="small">{names}{more}</span>',
            )
        )
    actions = _table(
        ["action", "meaning", "fields", "rows", "fields (first few)"],
        rows,
        numeric=[2, 3],
    )
    option_rows = []
    for option in OPTIONS:
        changed = prof[prof[option] != ""]
        summary = changed.groupby(option).size()
        option_rows.append(
            (
                _esc(option),
                str(len(changed)),
                _esc(", ".join(f"{code}: {n}" for code, n in summary.items())),
            )
        )
    options = _table(
        ["option", "fields it changes", "new actions (fields)"],
        option_rows,
        numeric=[1],
    )
    return (
        "<p>What the Basic Profile of DICOM PS3.15 Table E.1-1 does to the fields "
        "found, and what each option changes.</p>" + actions + options
    )


def _flags_section(prof: pd.DataFrame, found: pd.DataFrame) -> str:
    if found.empty:
        return '<p class="small">No field looks identifying to the heuristics.</p>'
    info = {field["name"]: field for field in prof.to_dict("records")}
    kinds = {kind: i for i, kind in enumerate(KINDS)}
    rows = []
    for name, group in sorted(
        found.groupby("name", sort=False),
        key=lambda item: (min(kinds[k] for k in item[1]["kind"]), str(item[0])),
    ):
        why = "".join(
            f"<li>{_esc(reason)} ({int(n)} rows), e.g. {_value(example)}</li>"
            for reason, n, example in zip(
                group["reason"], group["n_rows"], group["example"], strict=True
            )
        )
        field = info[name]
        rows.append(
            (
                _value(name),
                f'<span class="flag">{_esc(field["looks_like"])}</span>',
                f'<ul class="top">{why}</ul>',
                str(int(field["n_files"])),
                _esc(field["basic_profile"] or "(not listed)"),
            )
        )
    return _table(
        ["field", "looks like", "why, with an example", "files", "Basic Profile"],
        rows,
        numeric=[3],
    )


def _profile_section(prof: pd.DataFrame) -> str:
    rows = []
    for field in prof.to_dict("records"):
        top = "".join(
            f"<li>{_value(value, 80)} ×{int(count)}</li>"
            for value, count in field["top_values"]
        )
        options = ", ".join(
            f"{option}: {field[option]}" for option in OPTIONS if field[option]
        )
        where = [
            label
            for label, on in (
                ("private", field["is_private"]),
                ("nested", field["in_sequence"]),
                ("file meta", field["is_filemeta"]),
            )
            if on
        ]
        rows.append(
            (
                _value(field["name"]),
                _esc(field["tag"]),
                _esc(field["VR"]),
                _esc(field["private_creator"] or ""),
                _esc(", ".join(where)),
                str(field["n_files"]),
                str(field["n_rows"]),
                str(field["n_values"]),
                str(field["n_empty"]),
                f'<ul class="top">{top}</ul>',
                _esc(field["basic_profile"]),
                f'<span class="small">{_esc(options)}</span>',
                f'<span class="flag">{_esc(field["looks_like"])}</span>',
            )
        )
    return _table(
        [
            "field",
            "tag",
            "VR",
            "private creator",
            "where",
            "files",
            "rows",
            "distinct",
            "empty",
            "most common values",
            "Basic Profile",
            "options",
            "looks like",
        ],
        rows,
        numeric=[5, 6, 7, 8],
    )


#: What the report says when it cannot know which files were not read.
UNKNOWN_ERRORS = {
    True: (
        "Unknown: a Dask frame does not carry the files that could not be read. "
        "To list them, pass errors=read_errors_dask(paths, files_per_partition=...) "
        "(from deidscope.parallel, with the arguments given to "
        "read_identifiers_dask); the report computes both together, reading "
        "each file once."
    ),
    False: (
        'Unknown: the frame carries no df.attrs["errors"] (the frames of '
        "read_identifiers do). To list the files that could not be read, pass "
        "them as errors= (a DataFrame with columns file and error)."
    ),
}


def _errors_section(errors: pd.DataFrame | None, *, dask: bool) -> str:
    if errors is None:
        return f'<p class="flag">{_esc(UNKNOWN_ERRORS[dask], None)}</p>'
    if len(errors) == 0:
        return '<p class="small">Every file was read.</p>'
    rows = [
        (_value(file, 300), _esc(error, 500))
        for file, error in zip(errors["file"], errors["error"], strict=True)
    ]
    return _table(["file", "error"], rows)


def _page(title: str, summary: str, sections: Sequence[tuple[str, str, str]]) -> str:
    toc = "".join(
        f'<li><a href="#{key}">{_esc(head)}</a></li>' for key, head, _ in sections
    )
    body = "".join(
        f'<section id="{key}"><h2>{_esc(head)}</h2>{content}</section>'
        for key, head, content in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>{summary}<ul>{toc}</ul>{body}</body></html>\n"
    )


def report(
    df: Any,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    title: str | None = None,
    top: int = 5,
    errors: Any = None,
) -> Path:
    """Write an audit of an identifier frame as one self-contained HTML file.

    The report holds the profile of every field (:func:`profile`), counts of
    files by modality, manufacturer and model, a summary of what the PS3.15
    Basic Profile and its options do to the fields found, the fields the
    heuristics flag with the reason and an example, and the files that could
    not be read. Every value is escaped (a value holding ``<script>`` shows
    as text); the page loads nothing from anywhere, so it opens offline. The
    file holds header values; it is created with the permissions the process
    umask gives, like every output of deidscope (set a umask such as 077, or
    write into a private folder, to keep it to yourself).

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        The long frame of :func:`deidscope.read_identifiers`.
    path : str or os.PathLike
        The HTML file to write. Its folder must exist.
    overwrite : bool, optional
        Replace `path` if it exists (default: refuse).
    title : str or None, optional
        The page's title (default: "deidscope audit").
    top : int, optional
        How many of the most common values to list per field.
    errors : pandas.DataFrame, dask.dataframe.DataFrame or None, optional
        The unreadable files (``file``, ``error``); default
        ``df.attrs["errors"]``. A Dask frame carries none: pass
        ``read_errors_dask(paths, files_per_partition=...)`` with the
        arguments given to ``read_identifiers_dask``, and the report computes
        it with `df` in one call, reading every file once. Without it, the
        report says the read errors are unknown (never that every file was
        read).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileNotFoundError
        If the folder of `path` does not exist (checked before any work).
    FileExistsError
        If `path` exists and `overwrite` is False.
    FileNotFoundError
        If the folder of `path` does not exist.
    InputError
        If `path` is a folder, `df` is not an identifier frame, `errors` is
        not a frame of ``file`` and ``error``, or `path` is one of its DICOM
        files.
    """
    target = check_output(path, overwrite=overwrite, caller="report")
    check_frame(df, caller="report")
    if not is_dask(df) and _is_input(target, df["file"]):
        raise InputError(
            f"report: the output path {os.fspath(target)!r} is one of the frame's "
            "DICOM files; choose another name"
        )
    _check_errors(errors)
    if errors is None and not is_dask(df):
        errors = df.attrs.get("errors")  # None: not a frame deidscope read
    wanted: Any = _equipment_rows(df)
    if is_dask(df):
        # one dask.compute of delayed objects only: each read task runs once
        lazy = [_as_delayed(wanted)]
        if is_dask(errors):
            lazy.append(_as_delayed(errors))
        partial, computed = reduce_frame_with(df, keep=keep_for(top), extra=lazy)
        wanted = computed[0]
        if is_dask(errors):
            errors = computed[1]
    else:
        partial = reduce_frame_with(df, keep=keep_for(top))[0]
        if is_dask(errors):
            errors = errors.compute()
    prof = finish(partial, top=top)
    found = hits(partial)
    per_file = _equipment(wanted)
    n_files = len(partial.files)
    n_flagged = int((prof["looks_like"] != "").sum()) if len(prof) else 0
    n_rows = int(prof["n_rows"].sum()) if len(prof) else 0
    if errors is None:
        unreadable = "the files that could not be read are <b>unknown</b> (see below)"
    else:
        unreadable = f"<b>{len(errors)}</b> files could not be read"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary = (
        f"<p><b>{n_files}</b> files, <b>{n_rows}</b> rows, <b>{len(prof)}</b> "
        f"fields; <b>{n_flagged}</b> fields look identifying; {unreadable}."
        f'</p><p class="small">deidscope {_esc(__version__)}'
        f", {stamp}.</p>"
    )
    sections = [
        (
            "equipment",
            "Modality, manufacturer and model",
            _equipment_section(per_file, n_files),
        ),
        ("ps315", "DICOM PS3.15 Basic Profile", _ps315_section(prof)),
        ("flags", "Fields that look identifying", _flags_section(prof, found)),
        ("profile", "Every field", _profile_section(prof)),
        (
            "errors",
            "Files that could not be read",
            _errors_section(errors, dask=is_dask(df)),
        ),
    ]
    text = _page(title or "deidscope audit", summary, sections)
    _write(target, text, overwrite=overwrite)
    logger.info("report: wrote %s (%d fields)", target, len(prof))
    return target
