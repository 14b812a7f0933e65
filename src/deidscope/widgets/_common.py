"""Small helpers shared by the widgets: escaping, frames as HTML, recipes, paging."""

from __future__ import annotations

import html
import logging
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

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
  font-size: 12px; }
</style>"""


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
