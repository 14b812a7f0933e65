"""Small helpers shared by the widgets: escaping, frames as HTML, late imports."""

from __future__ import annotations

import html
import importlib
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from deidscope.errors import InputError

__all__: list[str] = []

logger = logging.getLogger("deidscope.widgets")
logger.addHandler(logging.NullHandler())

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


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    """Return ``module.name`` if another part of deidscope provides it yet."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        logger.debug("%s is not available", module)
        return None
    function = getattr(found, name, None)
    return function if callable(function) else None


def check_frame(df: Any, *, caller: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Check that `df` is an identifier frame with `columns`."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(
            f"{caller}: expected an identifier DataFrame (deidscope.read_identifiers),"
            f" but got {type(df).__name__}"
        )
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise InputError(
            f"{caller}: the frame lacks the columns {missing}; expected a frame "
            "from deidscope.read_identifiers"
        )
    return df


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Summarise each field, for when deidscope.audit is not installed yet."""
    if df.empty:
        return pd.DataFrame(columns=["name", "VR", "n_files", "n_values", "example"])
    grouped = df.groupby("name", observed=True, sort=True)
    out = pd.DataFrame(
        {
            "VR": grouped["VR"].first().astype(str),
            "n_files": grouped["file"].nunique(),
            "n_values": grouped["value"].nunique(),
            "example": grouped["value"].first(),
        }
    )
    return out.reset_index()
