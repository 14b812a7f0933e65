"""FieldBrowser: filter, page through and pick the rows of an identifier frame."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from deidscope import ps315
from deidscope.audit import profile
from deidscope.errors import InputError
from deidscope.frame import check_frame
from deidscope.frame._query import (
    NOT_LISTED,
    REQUIRED_COLUMNS,
    FieldQuery,
    filter_mask,
    parse_groups,
)
from deidscope.widgets._common import STYLE, PagedBox, error_html, escape, frame_html

__all__ = ["FieldBrowser"]

#: Profile the selection automatically up to this many rows (else on a click).
AUTO_PROFILE_ROWS = 100_000
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


def _cell(value: Any, width: int) -> str:
    text = _CONTROL.sub(" ", "" if value is None or value is pd.NA else str(value))
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


class FieldBrowser(PagedBox):
    """Filter, page through and pick the rows of an identifier frame.

    The filters are traits, linked to the boxes a user types in, so a script
    can set them too (``browser.text = "Patient"``). The rows kept are
    computed by :func:`deidscope.frame.filter_fields`, so the widget
    shows what a script would get.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame (:func:`deidscope.read_identifiers`). Not modified.
    page_size : int
        Rows per page of the table.

    Attributes
    ----------
    filtered : pandas.DataFrame
        The rows the filters keep (read-only property).
    selected : pandas.DataFrame
        The rows the user picked in the table, in frame order (read-only).
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
    error = traitlets.Unicode("", read_only=True)
    #: Increments whenever the picked rows change (observe it to follow picks).
    selection_version = traitlets.Int(0, read_only=True)

    def __init__(self, df: pd.DataFrame, *, page_size: int = 25, **kwargs: Any) -> None:
        check_frame(df, caller="FieldBrowser", columns=REQUIRED_COLUMNS)
        super().__init__(**kwargs)
        self._df = df
        self._mask = np.ones(len(df), dtype=bool)
        self._filtered = df
        #: Positions in df of the filtered rows, and of the picked ones (the
        #: table's values are positions too: an index may repeat labels).
        self._positions = np.arange(len(df))
        self._picked: dict[int, None] = {}
        self._syncing = False
        self._query = FieldQuery()
        self.page_size = page_size

        self._text = widgets.Text(
            description="Field",
            placeholder="name, keyword or tag",
            continuous_update=True,
        )
        self._regex = widgets.Checkbox(description="regex", indent=False)
        self._value = widgets.Text(
            description="Value", placeholder="value text", continuous_update=True
        )
        self._file = widgets.Text(
            description="File", placeholder="file path text", continuous_update=True
        )
        vrs = sorted(str(vr) for vr in pd.unique(df["VR"].dropna()))
        self._vrs = widgets.SelectMultiple(
            options=vrs, rows=min(6, max(2, len(vrs))), description="VR"
        )
        self._groups = widgets.Text(
            description="Group", placeholder="0010, 0008", continuous_update=True
        )
        self._private = widgets.ToggleButtons(options=_PRIVATE, description="Private")
        self._nested = widgets.ToggleButtons(options=_NESTED, description="Nested")
        action_options = [("any", _ANY)]
        action_options += [
            (f"{code}: {meaning}", code) for code, meaning in ps315.ACTION_CODES.items()
        ]
        action_options.append(("not in Table E.1-1", NOT_LISTED))
        self._action = widgets.Dropdown(
            options=action_options, value=_ANY, description="PS3.15"
        )
        for name in _FILTERS:
            traitlets.link((self, name), (getattr(self, f"_{name}"), "value"))

        self._status = widgets.HTML()
        self._status.add_class("deidscope-browser-status")
        self._pick_all = widgets.Button(description="Pick all matching")
        self._clear = widgets.Button(description="Clear picks")
        self._header = widgets.HTML()
        self._header.add_class("deidscope-header")
        self._table = widgets.SelectMultiple(
            options=[], rows=self.page_size, layout={"width": "100%"}
        )
        self._table.add_class("deidscope-rows")
        self._profile_button = widgets.Button(description="Profile")
        self._profile = widgets.HTML()
        self._pick_all.on_click(self._on_pick_all_click)
        self._clear.on_click(self._on_clear_click)
        self._profile_button.on_click(self._on_profile_button_click)
        self._table.observe(self._on_table_value, "value")

        filters = widgets.VBox(
            [
                widgets.HBox([self._text, self._regex, self._value, self._file]),
                widgets.HBox([self._vrs, widgets.VBox([self._groups, self._action])]),
                widgets.HBox([self._private, self._nested]),
            ]
        )
        pager = widgets.HBox(
            [self._prev, self._page_label, self._next, self._pick_all, self._clear]
        )
        profile = widgets.Accordion(
            children=[widgets.VBox([self._profile_button, self._profile])],
            titles=("Profile of the picked rows (or of all matching rows)",),
        )
        self.children = [
            widgets.HTML(STYLE),
            filters,
            self._status,
            pager,
            self._header,
            self._table,
            profile,
        ]
        self.observe(self._on_filters_change, list(_FILTERS))
        self.observe(self._on_page_change, ["page", "page_size"])
        self._apply_filters()

    # -- public state --------------------------------------------------------

    @property
    def df(self) -> pd.DataFrame:
        """The frame being browsed."""
        return self._df

    @property
    def filtered(self) -> pd.DataFrame:
        """The rows the filters keep."""
        return self._filtered

    @property
    def selected(self) -> pd.DataFrame:
        """The rows the user picked, in frame order (one per pick)."""
        return self._df.iloc[sorted(self._picked)]

    @property
    def query(self) -> FieldQuery:
        """The filters as a :class:`FieldQuery`."""
        return self._query

    @property
    def page_rows(self) -> pd.DataFrame:
        """The rows on the page shown."""
        return self._filtered.iloc[self._page_slice()]

    @property
    def status(self) -> str:
        """The status line as plain text (count of rows, fields and files)."""
        return re.sub(r"<[^>]+>", "", self._status.value)

    @property
    def profile_html(self) -> str:
        """The HTML of the profile shown (empty until profiled)."""
        return str(self._profile.value)

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
        picks = [int(p) for p in positions]
        bad = [p for p in picks if not 0 <= p < len(self._df)]
        if bad:
            raise InputError(
                f"FieldBrowser.pick_positions: expected positions 0-"
                f"{len(self._df) - 1}, got {bad[:5]}"
            )
        for position in picks:
            self._picked[position] = None
        self._after_pick()

    def clear_picks(self) -> None:
        """Forget every picked row."""
        self._picked.clear()
        self._after_pick()

    def profile(self) -> pd.DataFrame:
        """Profile the picked rows, or all matching rows when none are picked.

        Returns
        -------
        pandas.DataFrame
            :func:`deidscope.audit.profile` of those rows, also shown in the
            widget.
        """
        rows = self.selected if self._picked else self._filtered
        result = profile(rows)
        what = "picked" if self._picked else "matching"
        self._profile.value = f"<b>{len(rows):,} {what} rows</b>" + frame_html(
            result, max_rows=100
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

    # -- handlers --------------------------------------------------------------

    def _on_filters_change(self, change: dict[str, Any]) -> None:
        self._apply_filters()

    def _on_page_change(self, change: dict[str, Any]) -> None:
        if change["name"] == "page_size":
            self._table.rows = self.page_size
            if self.page >= self.n_pages:
                self.page = self.n_pages - 1
        self._show_page()

    def _on_pick_all_click(self, button: widgets.Button) -> None:
        self.pick_positions(self._positions)

    def _on_clear_click(self, button: widgets.Button) -> None:
        self.clear_picks()

    def _on_profile_button_click(self, button: widgets.Button) -> None:
        self.profile()

    def _on_table_value(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        for position in self._positions[self._page_slice()]:
            self._picked.pop(int(position), None)
        for position in change["new"]:
            self._picked[int(position)] = None
        self._after_pick(sync_table=False)

    # -- internals ---------------------------------------------------------------

    def _n_items(self) -> int:
        return len(self._filtered)

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
        self._mask = mask
        self._filtered = self._df if mask.all() else self._df[mask]
        self._positions = np.flatnonzero(mask)
        if self.page != 0:
            self.page = 0  # fires _on_page_change -> _show_page
        else:
            self._show_page()
        self._show_status()
        if len(self._filtered) <= AUTO_PROFILE_ROWS and not self._picked:
            self.profile()
        elif not self._picked:
            self._profile.value = (
                f"<i>{len(self._filtered):,} rows: click Profile to profile them</i>"
            )

    def _show_status(self) -> None:
        df = self._filtered
        line = (
            f"<b>{len(df):,} of {len(self._df):,} rows</b> · "
            f"{df['name'].nunique():,} fields · {df['file'].nunique():,} files"
            f" · {len(self._picked):,} picked"
        )
        if self.error:
            line += "<br>" + error_html(self.error)
        self._status.value = line

    def _show_page(self) -> None:
        rows = self.page_rows
        widths = {"name": 42, "VR": 3, "value": 42, "file": 24}
        header = f"{'row':>8} " + " ".join(
            _cell(column, width) for column, width in widths.items()
        )
        self._header.value = escape(header)
        labels = []
        positions = self._positions[self._page_slice()]
        for position, label, name, vr, value, path in zip(
            positions.tolist(),
            rows.index,
            rows["name"].to_numpy(dtype=object),
            rows["VR"].to_numpy(dtype=object),
            rows["value"].to_numpy(dtype=object),
            rows["file"].to_numpy(dtype=object),
            strict=True,
        ):
            base = str(path).replace("\\", "/").rsplit("/", 1)[-1]
            labels.append(
                (
                    f"{label!s:>8} {_cell(name, widths['name'])} "
                    f"{_cell(vr, widths['VR'])} {_cell(value, widths['value'])} "
                    f"{_cell(base, widths['file'])}",
                    position,
                )
            )
        self._syncing = True
        try:
            self._table.value = ()
            self._table.options = labels
            self._table.value = tuple(
                position for _, position in labels if position in self._picked
            )
        finally:
            self._syncing = False
        self._update_pager()

    def _after_pick(self, *, sync_table: bool = True) -> None:
        if sync_table:
            self._show_page()
        self._show_status()
        self.set_trait("selection_version", self.selection_version + 1)
        if self._picked and len(self._picked) <= AUTO_PROFILE_ROWS:
            self.profile()
