"""Small helpers shared by the widgets: escaping, frames as HTML, recipes, paging."""

from __future__ import annotations

import base64
import html
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from deidscope.files import atomic_output, check_output
from deidscope.parallel._write import frame_to_csv
from deidscope.pixels import to_png
from deidscope.recipe import Recipe
from deidscope.recipe._types import as_recipe as _as_recipe

__all__: list[str] = []

logger = logging.getLogger("deidscope.widgets")

#: CSS for the widgets, scoped by class names; shown once per widget.
STYLE = """<style>
.deidscope-rows select { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; }
.deidscope-header { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; white-space: pre; font-weight: bold; }
.deidscope-table table { border-collapse: collapse; font-size: 12px; }
.deidscope-table td, .deidscope-table th { padding: 2px 6px;
  border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.deidscope-error { color: #b00020; }
.deidscope-flagged img { outline: 3px solid #d32f2f; }
.deidscope-recipe textarea { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; line-height: 18px; white-space: pre; overflow-wrap: normal;
  overflow-x: auto; resize: none; }
.deidscope-gutter pre { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; line-height: 18px; margin: 0; padding: 5px 0 0 6px;
  color: #555; white-space: pre; }
.deidscope-compact { max-height: 320px; overflow: auto; max-width: 100%; }
.deidscope-compact table { border-collapse: collapse; font-size: 12px; }
.deidscope-compact th { position: sticky; top: 0;
  background: var(--jp-layout-color1, #fff); }
.deidscope-compact td, .deidscope-compact th { padding: 1px 6px; line-height: 16px;
  border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top;
  white-space: nowrap; max-width: 32em; overflow: hidden; text-overflow: ellipsis; }
.deidscope-download { font-size: 12px; margin-left: 8px; }
.deidscope-line { margin: 6px 0 2px 0; padding: 2px 6px; font-size: 12px;
  border-left: 4px solid #888; background: #f6f6f6; }
.deidscope-line code { font-size: 12px; }
.deidscope-act-REMOVE { border-left-color: #c62828; }
.deidscope-act-BLANK { border-left-color: #ef6c00; }
.deidscope-act-REPLACE { border-left-color: #1565c0; }
.deidscope-act-JITTER { border-left-color: #6a1b9a; }
.deidscope-act-KEEP { border-left-color: #2e7d32; }
.deidscope-act-ADD { border-left-color: #00838f; }
.deidscope-tag { display: inline-block; padding: 0 4px; border-radius: 3px;
  color: #fff; font-size: 11px; background: #888; }
.deidscope-tag.deidscope-act-REMOVE { background: #c62828; }
.deidscope-tag.deidscope-act-BLANK { background: #ef6c00; }
.deidscope-tag.deidscope-act-REPLACE { background: #1565c0; }
.deidscope-tag.deidscope-act-JITTER { background: #6a1b9a; }
.deidscope-tag.deidscope-act-KEEP { background: #2e7d32; }
.deidscope-tag.deidscope-act-ADD { background: #00838f; }
.deidscope-diff del { background: #ffd7d5; text-decoration: line-through; }
.deidscope-diff ins { background: #ccf0d1; text-decoration: none; }
.deidscope-detail { font-size: 12px; max-height: 220px; overflow: auto; }
.deidscope-detail table.deidscope-kv td, .deidscope-detail table.deidscope-kv th {
  padding: 0 6px; line-height: 16px; vertical-align: top; text-align: left;
  white-space: pre-wrap; word-break: break-all; border: none; }
</style>"""

#: Largest CSV (bytes) a table's download link carries; bigger tables offer
#: their first rows only (and say so).
DOWNLOAD_BYTES = 2_000_000
#: Characters of a cell shown in a compact table (the full text is its title).
CELL_CHARS = 120


def escape(value: Any) -> str:
    """Escape header text for HTML (values are untrusted)."""
    return html.escape(str(value), quote=True)


def frame_html(df: pd.DataFrame, *, max_rows: int = 50, index: bool = False) -> str:
    """Return an escaped HTML table of the first `max_rows` rows of a frame."""
    shown = df.head(max_rows)
    table = shown.to_html(
        index=index,
        escape=True,
        border=0,
        na_rep="",
        max_cols=20,
        notebook=False,
        justify="left",
    )
    more = len(df) - len(shown)
    tail = f"<div><i>… {more:,} more rows</i></div>" if more > 0 else ""
    return f'<div class="deidscope-table">{table}{tail}</div>'


def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV bytes, each cell a spreadsheet would run quoted.

    The escaping is :func:`deidscope.parallel._write.escape_formulas`, as for
    every CSV deidscope writes.
    """
    return str(frame_to_csv(df)).encode("utf-8")


def download_html(
    df: pd.DataFrame, filename: str, *, label: str = "download CSV"
) -> str:
    """Return a link that downloads `df` as a CSV file (no server needed).

    The CSV rides in the link (a ``data:`` URL), so a table bigger than
    :data:`DOWNLOAD_BYTES` offers its first rows only, and the link says how
    many.
    """
    data = csv_bytes(df)
    note = ""
    if len(data) > DOWNLOAD_BYTES and len(df) > 1:
        keep = max(1, int(len(df) * DOWNLOAD_BYTES / len(data)))
        data = csv_bytes(df.head(keep))
        note = f" (first {keep:,} of {len(df):,} rows)"
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<a class="deidscope-download" download="{escape(filename)}" '
        f'href="data:text/csv;base64,{encoded}">⤓ {escape(label)}{note}</a>'
    )


def table_html(
    df: pd.DataFrame,
    *,
    title: str = "",
    filename: str | None = None,
    max_rows: int = 200,
    index: bool = False,
) -> str:
    """Return a compact table: one line a row, scrolling, with a download link.

    Cells are escaped and kept on one line; a long cell is cut at
    :data:`CELL_CHARS` characters with its full text in the cell's tooltip.
    At most `max_rows` rows are shown (the download has them all).
    """
    shown = df.head(max_rows)
    if index:
        shown = shown.reset_index()
    columns = [str(c) for c in shown.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for value in row:
            text = _cell_text(value)
            if len(text) > CELL_CHARS:
                cells.append(
                    f'<td title="{escape(text)}">{escape(text[: CELL_CHARS - 1])}…</td>'
                )
            else:
                cells.append(f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = len(df) - len(shown)
    tail = f"<div><i>… {more:,} more rows</i></div>" if more > 0 else ""
    link = download_html(df, filename) if filename and len(df) else ""
    heading = f"<b>{title}</b>" if title else ""
    return (
        f"<div>{heading}{link}</div>"
        f'<div class="deidscope-compact"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{tail}"
    )


def export_frame(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    caller: str = "export",
) -> Path:
    """Write `df` to a CSV or Parquet file, chosen by the suffix.

    CSV cells a spreadsheet would run as a formula get a leading ``'``
    (:func:`deidscope.parallel._write.escape_formulas`); Parquet keeps the
    values as they are. The file is written under a temporary name and
    moved into place.

    Raises
    ------
    InputError
        If the suffix is not ``.csv``, ``.parquet`` or ``.pq``, or the path
        is a folder.
    FileExistsError
        If the file exists and `overwrite` is False.
    """
    target = check_output(
        path, overwrite=overwrite, caller=caller, suffixes=(".csv", ".parquet", ".pq")
    )
    rows = df.copy(deep=False)
    rows.attrs = {}  # read errors and the like stay with the frame, not the file
    with atomic_output(target, overwrite=overwrite, caller=caller) as temp:
        if target.suffix.lower() == ".csv":
            frame_to_csv(rows, temp)
        else:
            rows.to_parquet(temp, index=False)
    return target


def error_html(message: str) -> str:
    """Return an error line for a status area."""
    return f'<span class="deidscope-error">{escape(message)}</span>'


def placeholder_png(size: int) -> bytes:
    """Return a light grey square, `size` // 2 pixels wide, as PNG bytes."""
    return to_png(np.full((size // 2, size // 2), 235, np.uint8))


def as_recipe(recipe: Any, *, caller: str) -> Recipe:
    """Return a Recipe (a copy) from a Recipe, recipe text or a recipe file.

    Text is told from a path by a newline or a leading ``FORMAT``.

    Raises
    ------
    InputError
        If `recipe` is none of these.
    """
    return _as_recipe(recipe, caller=caller).copy()


class PagedBox(widgets.VBox):  # type: ignore[misc]
    """A box that shows its items a page at a time, with ◀ and ▶ buttons.

    Subclasses give :meth:`_n_items`, place ``self._prev``,
    ``self._page_label`` and ``self._next``, and call
    :meth:`_update_pager` after showing a page.
    """

    page = traitlets.Int(0, help="the page shown, from 0")
    page_size = traitlets.Int(25, help="items per page")
    #: The largest page_size allowed.
    max_page_size: ClassVar[int] = 1000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._prev = widgets.Button(description="◀", layout={"width": "40px"})
        self._next = widgets.Button(description="▶", layout={"width": "40px"})
        self._page_label = widgets.Label()
        self._prev.on_click(self._on_prev_click)
        self._next.on_click(self._on_next_click)

    def _n_items(self) -> int:
        """How many items the pages hold (subclasses say)."""
        raise NotImplementedError(f"{type(self).__name__} must define _n_items")

    @property
    def n_pages(self) -> int:
        """How many pages the items take (at least 1)."""
        return max(1, -(-self._n_items() // self.page_size))

    def _page_slice(self) -> slice:
        start = self.page * self.page_size
        return slice(start, start + self.page_size)

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: dict[str, Any]) -> int:
        size = proposal["value"]
        if not 1 <= size <= self.max_page_size:
            raise traitlets.TraitError(
                f"{type(self).__name__}: page_size must be between 1 and "
                f"{self.max_page_size}, got {size}"
            )
        return int(size)

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        page = proposal["value"]
        if not 0 <= page < self.n_pages:
            raise traitlets.TraitError(
                f"{type(self).__name__}: page must be between 0 and "
                f"{self.n_pages - 1}, got {page}"
            )
        return int(page)

    def _on_prev_click(self, button: widgets.Button) -> None:
        if self.page > 0:
            self.page -= 1

    def _on_next_click(self, button: widgets.Button) -> None:
        if self.page < self.n_pages - 1:
            self.page += 1

    def _update_pager(self) -> None:
        self._page_label.value = f"page {self.page + 1} of {self.n_pages}"
        self._prev.disabled = self.page == 0
        self._next.disabled = self.page >= self.n_pages - 1
