"""FieldBrowser: filter, sort, pick and export the rows of an identifier frame."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets
from traitlets import observe

from deidscope import ps315
from deidscope.audit import profile
from deidscope.errors import DeidscopeError, InputError
from deidscope.frame import check_frame
from deidscope.frame._query import (
    NOT_LISTED,
    REQUIRED_COLUMNS,
    FieldQuery,
    filter_mask,
    parse_groups,
)
from deidscope.widgets._common import (
    STYLE,
    error_html,
    escape,
    export_frame,
    table_html,
)

with warnings.catch_warnings():
    # bqscales (ipydatagrid -> bqplot) still sets trait metadata the old way
    warnings.filterwarnings(
        "ignore", "metadata .* was set from the constructor", DeprecationWarning
    )
    from ipydatagrid import StreamingDataGrid

__all__ = ["FieldBrowser"]

#: Profile the selection automatically up to this many rows (else on a click).
AUTO_PROFILE_ROWS = 100_000
#: The columns the grid shows (the export and :attr:`selected` keep them all).
GRID_COLUMNS: tuple[str, ...] = ("name", "tag", "VR", "value", "file", "depth")
_WIDTHS = {"name": 200, "tag": 100, "VR": 50, "value": 260, "file": 320, "depth": 50}
#: Characters of a cell sent to the grid (the detail panel shows them all).
GRID_CELL_CHARS = 500
#: Most rectangles used to show the picks of a view in the grid.
_MAX_RECTS = 1000
_ROW_PX = 22
_PRIVATE = ("any", "private", "public")
_NESTED = ("any", "top level", "nested")
_ANY = "any"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The filter traits, each linked to the box of the same name with a "_".
_FILTERS = (
    "text",
    "regex",
    "vrs",
    "groups",
    "private",
    "nested",
    "value",
    "action",
    "file",
)


def sort_keys(series: pd.Series) -> np.ndarray:
    """Return each row's rank in text (or number) order; missing values last.

    Ranks are small integers (numpy sorts 16-bit ones by radix), so sorting
    a view is a gather and one stable integer sort; a missing value ranks as
    the dtype's largest integer. A categorical column
    ranks by its text, not by the order of its categories (deidscope's
    frames keep categories in reading order).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        order = np.argsort(np.asarray(categories.astype(str), dtype=object))
        rank = np.empty(len(categories) + 1, dtype=np.int64)
        rank[order] = np.arange(len(categories))
        top = len(categories)
        dtype = np.int16 if top < np.iinfo(np.int16).max else np.int32
        rank[-1] = np.iinfo(dtype).max  # code -1 (missing) takes the last slot
        return rank[series.cat.codes.to_numpy()].astype(dtype)
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    dtype = np.int16 if len(uniques) < np.iinfo(np.int16).max else np.int32
    return np.where(codes < 0, np.iinfo(dtype).max, codes).astype(dtype)


def _order(keys: np.ndarray, *, descending: bool) -> np.ndarray:
    """Return the stable order of `keys`; missing (the dtype's largest) last."""
    if descending:
        missing = np.iinfo(keys.dtype).max
        flipped = (missing - 1 - keys.astype(np.int64)).astype(keys.dtype)
        keys = np.where(keys == missing, keys, flipped)
    return np.argsort(keys, kind="stable")


def _shorten(page: pd.DataFrame) -> pd.DataFrame:
    """Cut long text cells of a page and blank control characters (a copy)."""
    out = page.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(
            dtype
        ):
            values = out[column].astype(object).to_numpy()
            out[column] = [
                v
                if v is None or v is pd.NA or not isinstance(v, str)
                else _CONTROL.sub(
                    " ",
                    v if len(v) <= GRID_CELL_CHARS else v[:GRID_CELL_CHARS] + "…",
                )
                for v in values
            ]
    return out


class _Grid(StreamingDataGrid):  # type: ignore[misc]
    """A StreamingDataGrid that sorts by rank and never copies the rows.

    The kernel keeps the rows and serves the pages the browser asks for. A
    sort is an order (positions into the frame) computed from ranks the
    browser caches per column (:func:`sort_keys`), so a page is a gather of
    its rows; long cells are cut per page; a new frame keeps the sort.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        keys: Callable[[str], np.ndarray],
        **kwargs: Any,
    ) -> None:
        self._frame = frame
        self._keys = keys
        self._order: np.ndarray | None = None
        super().__init__(frame, **kwargs)

    @property
    def columns(self) -> list[str]:
        """The columns shown (the grid's key column left out)."""
        return [str(c) for c in self._frame.columns if c != "ipydguuid"]

    @property
    def view_index(self) -> np.ndarray:
        """The frame's index (positions in the browsed frame) in grid order."""
        index = np.asarray(self._frame.index, dtype=np.int64)
        return index if self._order is None else index[self._order]

    @property
    def view(self) -> pd.DataFrame:
        """The rows in the order the grid shows them."""
        frame = self._frame.drop(columns="ipydguuid", errors="ignore")
        return frame if self._order is None else frame.iloc[self._order]

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show other rows, keeping the sort and filters of the grid."""
        self.data = frame  # the grid adds its key column to `frame`: ours
        self._frame = frame
        self._order = self._compute_order(self._transforms)
        self._row_count = len(self.view_index)
        self.tick()

    def _compute_order(self, transforms: list[dict[str, Any]]) -> np.ndarray | None:
        order: np.ndarray | None = None
        for transform in transforms:
            if transform.get("type") == "sort":
                keys = self._keys(str(transform["column"]))
                if order is not None:
                    keys = keys[order]
                step = _order(keys, descending=bool(transform.get("desc", False)))
                order = step if order is None else order[step]
            else:  # the grid's own filter menu: pandas, as ipydatagrid does
                shown = self._frame if order is None else self._frame.iloc[order]
                kept = super()._apply_frontend_transforms([transform], shown)
                order = self._frame.index.get_indexer(kept.index)
        return order

    @observe("_transforms")
    def _on_transforms_changed(self, change: dict[str, Any]) -> None:
        self._order = self._compute_order(change["new"])
        self._row_count = len(self.view_index)
        self.tick()

    def _handle_comm_msg(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        if content.get("type") != "data-request":
            super()._handle_comm_msg(_, content, buffers)
            return
        r1, r2 = int(content["r1"]), int(content["r2"])
        c1, c2 = int(content["c1"]), int(content["c2"])
        rows = slice(r1, r2 + 1) if self._order is None else self._order[r1 : r2 + 1]
        page = self._frame.iloc[rows, c1 : c2 + 1]
        serialized, page_buffers = self._serialize_helper(_shorten(page))
        self.send(
            {
                "event_type": "data-reply",
                "value": serialized,
                "r1": r1,
                "r2": r2,
                "c1": c1,
                "c2": c2,
            },
            page_buffers,
        )


def _grid_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return the grid's frame of all of `df`: the shown columns, by row.

    Files show relative to the folder all of them are under (the export and
    the detail panel keep the full paths).
    """
    columns = [c for c in GRID_COLUMNS if c in df.columns]
    frame = df[columns].copy(deep=False)
    frame.index = pd.RangeIndex(len(df), name="row")
    files = frame.get("file")
    if files is not None and isinstance(files.dtype, pd.CategoricalDtype):
        paths = [str(p) for p in files.cat.categories]
        # the folder every path is under: the common text cut back to a "/"
        # (commonpath splits every path: seconds on a million-row frame)
        prefix = os.path.commonprefix(paths) if len(paths) > 1 else ""  # noqa: RUF071
        cut = prefix.rfind("/") + 1 if all(p.startswith("/") for p in paths) else 0
        if cut > 1:
            short = [p[cut:] for p in paths]
            if len(set(short)) == len(short):
                frame["file"] = files.cat.rename_categories(short)
    return frame


class FieldBrowser(widgets.VBox):  # type: ignore[misc]
    """Filter, sort, pick and export the rows of an identifier frame.

    The rows kept by the filters show in a data grid (ipydatagrid's
    ``StreamingDataGrid``): the rows stay in the kernel and the browser asks
    for the page it scrolls to, so a million rows open at once. Click a
    column header to sort, drag a header's edge to resize, click (shift- or
    ctrl-click) rows to pick them; the picked row's full values show under
    the grid. The filters are traits, linked to the boxes a user types in, so
    a script can set them too (``browser.text = "Patient"``); the rows kept
    are computed by :func:`deidscope.frame.filter_fields`, so the widget
    shows what a script would get. *Export CSV* and *Export Parquet* write
    the rows the grid shows, in its order, with every column.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame (:func:`deidscope.read_identifiers`). Not modified.
    page_size : int
        Rows the grid shows at once (its height; it scrolls for the rest).

    Attributes
    ----------
    filtered : pandas.DataFrame
        The rows the filters keep, in frame order (read-only property).
    view : pandas.DataFrame
        The rows the filters keep, in the grid's order (read-only).
    selected : pandas.DataFrame
        The rows the user picked, in frame order (read-only).
    query : FieldQuery
        The current filters.
    error : str
        Why the last filter change could not be applied ("" if it was).

    Raises
    ------
    InputError
        If `df` is not an identifier frame.

    Examples
    --------
    >>> import deidscope
    >>> from deidscope.data import get_dataset
    >>> from deidscope.widgets import FieldBrowser
    >>> browser = FieldBrowser(deidscope.read_identifiers(get_dataset("dicom-cookies")))
    >>> browser.vrs = ("PN",)
    >>> sorted(browser.filtered["name"].unique())[:2]
    ['NameOfPhysiciansReadingStudy', 'OperatorsName']
    >>> browser.sort_by("value", ascending=False)
    >>> browser.view["value"].iloc[0]
    'sweet brook'
    """

    text = traitlets.Unicode("", help="name, keyword, tag or uid text")
    regex = traitlets.Bool(False, help="read the text filters as regexes")
    vrs = traitlets.Tuple(help="VRs to keep; empty keeps all")
    groups = traitlets.Unicode("", help="hex groups, '0010, 0008'")
    private = traitlets.Enum(_PRIVATE, default_value="any")
    nested = traitlets.Enum(_NESTED, default_value="any")
    value = traitlets.Unicode("", help="value text")
    action = traitlets.Unicode(_ANY, help="PS3.15 Basic Profile action code")
    file = traitlets.Unicode("", help="file path text")
    page_size = traitlets.Int(20, help="rows the grid shows at once")
    error = traitlets.Unicode("", read_only=True)
    #: Increments whenever the picked rows change (observe it to follow picks).
    selection_version = traitlets.Int(0, read_only=True)
    #: The largest page_size allowed.
    max_page_size = 1000

    def __init__(self, df: pd.DataFrame, *, page_size: int = 20, **kwargs: Any) -> None:
        check_frame(df, caller="FieldBrowser", columns=REQUIRED_COLUMNS)
        super().__init__(**kwargs)
        self._df = df
        self._filtered = df
        #: Positions in df of the filtered rows; the picks as a mask over df
        #: (positions, not labels: an index may repeat labels).
        self._positions = np.arange(len(df))
        self._picked = np.zeros(len(df), dtype=bool)
        self._syncing = False
        self._query = FieldQuery()
        self._detail_position: int | None = None
        self._shown = self._positions
        self.page_size = page_size

        wide = {"width": "290px"}
        self._text = widgets.Text(
            description="Field",
            placeholder="name, keyword or tag",
            continuous_update=True,
            layout=wide,
        )
        self._regex = widgets.Checkbox(
            description="regex", indent=False, layout={"width": "80px"}
        )
        self._value = widgets.Text(
            description="Value",
            placeholder="value text",
            continuous_update=True,
            layout=wide,
        )
        self._file = widgets.Text(
            description="File",
            placeholder="file path text",
            continuous_update=True,
            layout=wide,
        )
        vrs = sorted(str(vr) for vr in pd.unique(df["VR"].dropna()))
        self._vrs = widgets.SelectMultiple(
            options=vrs,
            rows=min(5, max(2, len(vrs))),
            description="VR",
            layout={"width": "180px"},
        )
        self._groups = widgets.Text(
            description="Group",
            placeholder="0010, 0008",
            continuous_update=True,
            layout=wide,
        )
        self._private = widgets.ToggleButtons(
            options=_PRIVATE, description="Private", style={"button_width": "70px"}
        )
        self._nested = widgets.ToggleButtons(
            options=_NESTED, description="Nested", style={"button_width": "80px"}
        )
        action_options = [("any", _ANY)]
        action_options += [
            (f"{code}: {meaning}", code) for code, meaning in ps315.ACTION_CODES.items()
        ]
        action_options.append(("not in Table E.1-1", NOT_LISTED))
        self._action = widgets.Dropdown(
            options=action_options, value=_ANY, description="PS3.15", layout=wide
        )
        for name in _FILTERS:
            traitlets.link((self, name), (getattr(self, f"_{name}"), "value"))

        self._status = widgets.HTML()
        self._status.add_class("deidscope-browser-status")
        self._pick_all = widgets.Button(description="Pick all matching")
        self._clear = widgets.Button(description="Clear picks")
        self._all_rows = _grid_frame(df)
        self._ranks: dict[str, np.ndarray] = {}
        self._grid = _Grid(
            self._grid_rows(self._positions),
            self._grid_keys,
            selection_mode="row",
            base_row_size=_ROW_PX,
            base_column_size=120,
            base_row_header_size=80,
            column_widths=dict(_WIDTHS),
            layout={"width": "100%", "height": self._grid_height()},
        )
        self._grid.add_class("deidscope-datagrid")
        self._detail = widgets.HTML()
        self._detail.add_class("deidscope-detail")
        self._export_path = widgets.Text(
            value="fields", description="Export to", layout={"width": "290px"}
        )
        self._export_overwrite = widgets.Checkbox(
            description="overwrite", indent=False, layout={"width": "100px"}
        )
        self._export_csv = widgets.Button(description="Export CSV", icon="download")
        self._export_parquet = widgets.Button(
            description="Export Parquet", icon="download"
        )
        self._exported = widgets.HTML()
        self._profile_button = widgets.Button(description="Profile")
        self._profile = widgets.HTML()
        self._pick_all.on_click(self._on_pick_all_click)
        self._clear.on_click(self._on_clear_click)
        self._profile_button.on_click(self._on_profile_button_click)
        self._export_csv.on_click(self._on_export_click)
        self._export_parquet.on_click(self._on_export_click)
        self._grid.observe(self._on_grid_selections, "selections")
        self._grid.observe(self._on_grid_transforms, "_transforms")

        wrap = {"flex_flow": "row wrap", "width": "100%"}
        filters = widgets.VBox(
            [
                widgets.HBox(
                    [self._text, self._regex, self._value, self._file], layout=wrap
                ),
                widgets.HBox(
                    [self._vrs, widgets.VBox([self._groups, self._action])],
                    layout=wrap,
                ),
                widgets.HBox([self._private, self._nested], layout=wrap),
            ],
            layout={"width": "100%"},
        )
        buttons = widgets.HBox([self._pick_all, self._clear], layout=wrap)
        export = widgets.HBox(
            [
                self._export_path,
                self._export_overwrite,
                self._export_csv,
                self._export_parquet,
            ],
            layout=wrap,
        )
        profile_box = widgets.Accordion(
            children=[widgets.VBox([self._profile_button, self._profile])],
            titles=("Profile of the picked rows (or of all matching rows)",),
        )
        self.layout.width = "100%"
        self.children = [
            widgets.HTML(STYLE),
            filters,
            self._status,
            buttons,
            self._grid,
            self._detail,
            export,
            self._exported,
            profile_box,
        ]
        self.observe(self._on_filters_change, list(_FILTERS))
        self.observe(self._on_page_size_change, "page_size")
        self._apply_filters()

    # -- public state --------------------------------------------------------

    @property
    def df(self) -> pd.DataFrame:
        """The frame being browsed."""
        return self._df

    @property
    def filtered(self) -> pd.DataFrame:
        """The rows the filters keep, in frame order."""
        return self._filtered

    @property
    def view(self) -> pd.DataFrame:
        """The rows the filters keep, in the grid's order, every column."""
        return self._df.iloc[self._view_positions()]

    @property
    def selected(self) -> pd.DataFrame:
        """The rows the user picked, in frame order (one per pick)."""
        return self._df.iloc[np.flatnonzero(self._picked)]

    @property
    def query(self) -> FieldQuery:
        """The filters as a :class:`FieldQuery`."""
        return self._query

    @property
    def status(self) -> str:
        """The status line as plain text (count of rows, fields and files)."""
        return re.sub(r"<[^>]+>", "", self._status.value)

    @property
    def profile_html(self) -> str:
        """The HTML of the profile shown (empty until profiled)."""
        return str(self._profile.value)

    @property
    def detail_html(self) -> str:
        """The HTML of the full values of the row last picked (or shown)."""
        return str(self._detail.value)

    def sort_by(self, column: str, *, ascending: bool = True) -> None:
        """Sort the grid by one column, as a click on its header does.

        Raises
        ------
        InputError
            If the grid has no such column.
        """
        known = ["row", *self._grid.columns]
        if column not in known:
            raise InputError(
                f"FieldBrowser.sort_by: expected one of {known}, got {column!r}"
            )
        self._grid.transform(
            [{"type": "sort", "column": column, "desc": not ascending}]
        )

    def pick(self, index: Sequence[Any] | pd.Index) -> None:
        """Pick rows by their index labels (adds to the picks).

        Every row carrying one of the labels is picked: where the frame's
        index repeats a label, use :meth:`pick_positions`.
        """
        self.pick_positions(np.flatnonzero(self._df.index.isin(list(index))))

    def pick_positions(self, positions: Sequence[int] | np.ndarray) -> None:
        """Pick rows by their positions in :attr:`df` (adds to the picks).

        Raises
        ------
        InputError
            If a position is not one of the frame's rows.
        """
        picks = np.asarray(positions, dtype=np.int64).reshape(-1)
        bad = picks[(picks < 0) | (picks >= len(self._df))]
        if len(bad):
            raise InputError(
                f"FieldBrowser.pick_positions: expected positions 0-"
                f"{len(self._df) - 1}, got {bad[:5].tolist()}"
            )
        self._picked[picks] = True
        if len(picks):
            self._show_detail(int(picks[-1]))
        self._after_pick()

    def clear_picks(self) -> None:
        """Forget every picked row."""
        self._picked[:] = False
        self._after_pick()

    def show_row(self, position: int) -> None:
        """Show the full values of the row at `position` under the grid."""
        if not 0 <= int(position) < len(self._df):
            raise InputError(
                f"FieldBrowser.show_row: expected a position 0-{len(self._df) - 1}, "
                f"got {position}"
            )
        self._show_detail(int(position))

    def export(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the rows the grid shows, in its order, to CSV or Parquet.

        The suffix chooses the format (``.csv``, ``.parquet`` or ``.pq``).
        Every column is written; CSV cells a spreadsheet would run as a
        formula get a leading ``'``, as in every CSV deidscope writes.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        InputError
            If the suffix is none of these or the path is a folder.
        FileExistsError
            If the file exists and `overwrite` is False.
        """
        rows = self.view
        written = export_frame(
            rows, path, overwrite=overwrite, caller="FieldBrowser.export"
        )
        self._exported.value = (
            f"wrote {len(rows):,} rows to <code>{escape(os.fspath(written))}</code>"
        )
        return written

    def profile(self) -> pd.DataFrame:
        """Profile the picked rows, or all matching rows when none are picked.

        Returns
        -------
        pandas.DataFrame
            :func:`deidscope.audit.profile` of those rows, also shown in the
            widget.
        """
        any_picked = bool(self._picked.any())
        rows = self.selected if any_picked else self._filtered
        result = profile(rows)
        what = "picked" if any_picked else "matching"
        self._profile.value = table_html(
            result,
            title=f"{len(rows):,} {what} rows",
            filename="profile.csv",
            max_rows=200,
        )
        return result

    # -- validation ------------------------------------------------------------

    @traitlets.validate("action")
    def _valid_action(self, proposal: dict[str, Any]) -> str:
        action = proposal["value"]
        if action not in (_ANY, NOT_LISTED, *ps315.ACTION_CODES):
            raise traitlets.TraitError(
                f"FieldBrowser: action must be 'any', '' or one of "
                f"{list(ps315.ACTION_CODES)}, got {action!r}"
            )
        return str(action)

    @traitlets.validate("vrs")
    def _valid_vrs(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        vrs = tuple(proposal["value"])
        if not all(isinstance(vr, str) for vr in vrs):
            raise traitlets.TraitError(f"FieldBrowser: vrs must be strings, got {vrs}")
        return vrs

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: dict[str, Any]) -> int:
        size = proposal["value"]
        if not 1 <= size <= self.max_page_size:
            raise traitlets.TraitError(
                f"FieldBrowser: page_size must be between 1 and "
                f"{self.max_page_size}, got {size}"
            )
        return int(size)

    # -- handlers --------------------------------------------------------------

    def _on_filters_change(self, change: dict[str, Any]) -> None:
        self._apply_filters()

    def _on_page_size_change(self, change: dict[str, Any]) -> None:
        self._grid.layout.height = self._grid_height()

    def _on_pick_all_click(self, button: widgets.Button) -> None:
        self.pick_positions(self._positions)

    def _on_clear_click(self, button: widgets.Button) -> None:
        self.clear_picks()

    def _on_profile_button_click(self, button: widgets.Button) -> None:
        self.profile()

    def _on_export_click(self, button: widgets.Button) -> None:
        suffix = ".csv" if button is self._export_csv else ".parquet"
        path = Path(self._export_path.value.strip() or "fields")
        if path.suffix.lower() in (".csv", ".parquet", ".pq"):
            path = path.with_suffix("")
        try:
            self.export(
                path.with_name(path.name + suffix),
                overwrite=self._export_overwrite.value,
            )
        except (OSError, DeidscopeError) as exc:
            self._exported.value = error_html(str(exc))

    def _on_grid_selections(self, change: dict[str, Any]) -> None:
        """Take the rows picked in the grid as the picks of this view."""
        if self._syncing:
            return
        view = self._view_positions()
        chosen = [
            view[max(0, int(r["r1"])) : int(r["r2"]) + 1]
            for r in change["new"]
            if int(r["r2"]) >= 0
        ]
        self._picked[self._positions] = False
        if chosen:
            rows = np.concatenate(chosen)
            self._picked[rows] = True
            if len(rows):
                last = change["new"][-1]
                row = min(max(0, int(last["r1"])), len(view) - 1)
                self._show_detail(int(view[row]))
        self._after_pick(sync_grid=False)

    def _on_grid_transforms(self, change: dict[str, Any]) -> None:
        """Show the picks where their rows went after a sort."""
        self._sync_grid_selection()

    # -- internals ---------------------------------------------------------------

    def _grid_height(self) -> str:
        return f"{(min(self.page_size, 40) + 1) * _ROW_PX + 18}px"

    def _view_positions(self) -> np.ndarray:
        return self._grid.view_index

    def _grid_rows(self, positions: np.ndarray) -> pd.DataFrame:
        if len(positions) == len(self._df):
            return self._all_rows.copy(deep=False)
        return self._all_rows.iloc[positions]

    def _grid_keys(self, column: str) -> np.ndarray:
        """Return the ranks of `column` for the rows the grid holds."""
        if column == "row":
            return self._shown
        if column not in self._ranks:
            self._ranks[column] = sort_keys(self._all_rows[column])
        ranks = self._ranks[column]
        return ranks if len(self._shown) == len(ranks) else ranks[self._shown]

    def _build_query(self) -> FieldQuery:
        return FieldQuery(
            text=self.text,
            regex=self.regex,
            vrs=self.vrs,
            groups=parse_groups(self.groups),
            private=None if self.private == "any" else self.private == "private",
            nested=None if self.nested == "any" else self.nested == "nested",
            value=self.value,
            actions=() if self.action == _ANY else (self.action,),
            file=self.file,
        )

    def _apply_filters(self) -> None:
        try:
            query = self._build_query()
            mask = filter_mask(self._df, query)
        except InputError as exc:
            self.set_trait("error", str(exc))
            self._show_status()
            return
        self.set_trait("error", "")
        self._query = query
        self._filtered = self._df if mask.all() else self._df[mask]
        self._positions = np.flatnonzero(mask)
        if not np.array_equal(self._positions, self._shown):
            self._shown = self._positions
            self._grid.set_frame(self._grid_rows(self._positions))
        self._sync_grid_selection()
        self._show_status()
        any_picked = bool(self._picked.any())
        if len(self._filtered) <= AUTO_PROFILE_ROWS and not any_picked:
            self.profile()
        elif not any_picked:
            self._profile.value = (
                f"<i>{len(self._filtered):,} rows: click Profile to profile them</i>"
            )

    def _sync_grid_selection(self) -> None:
        """Draw the picks of the current view as the grid's selection."""
        if not self._picked.any():
            if self._grid.selections:
                self._syncing = True
                try:
                    self._grid.selections = []
                finally:
                    self._syncing = False
            return
        hit = self._picked[self._view_positions()]
        edges = np.diff(np.concatenate(([0], hit.astype(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1) - 1
        last = sum(c in self._df.columns for c in GRID_COLUMNS) - 1
        rects = [
            {"r1": int(a), "c1": 0, "r2": int(b), "c2": last}
            for a, b in zip(starts[:_MAX_RECTS], ends[:_MAX_RECTS], strict=True)
        ]
        if rects == self._grid.selections:
            return
        self._syncing = True
        try:
            self._grid.selections = rects
        finally:
            self._syncing = False

    def _show_detail(self, position: int) -> None:
        self._detail_position = position
        row = self._df.iloc[position]
        cells = "".join(
            f"<tr><th>{escape(column)}</th><td>{escape(_text(value))}</td></tr>"
            for column, value in row.items()
        )
        self._detail.value = (
            f'<b>row {position:,}</b> (full values)<table class="deidscope-kv">'
            f"{cells}</table>"
        )

    def _show_status(self) -> None:
        df = self._filtered
        line = (
            f"<b>{len(df):,} of {len(self._df):,} rows</b> · "
            f"{df['name'].nunique():,} fields · {df['file'].nunique():,} files"
            f" · {int(self._picked.sum()):,} picked"
        )
        if self.error:
            line += "<br>" + error_html(self.error)
        self._status.value = line

    def _after_pick(self, *, sync_grid: bool = True) -> None:
        if sync_grid:
            self._sync_grid_selection()
        self._show_status()
        self.set_trait("selection_version", self.selection_version + 1)
        n_picked = int(self._picked.sum())
        if n_picked and n_picked <= AUTO_PROFILE_ROWS:
            self.profile()


def _text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)
