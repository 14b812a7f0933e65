"""ThumbnailGrid: pages of thumbnails, flags and boxes, header fields and box drafting.

Thumbnails come from :func:`deidscope.pixels.thumbnail`, made by a thread
pool off the kernel's main path and encoded as PNG bytes for a
:class:`~deidscope.widgets._canvas.PictureCanvas` (never pyplot: JupyterLab
runs widget callbacks on kernel subshell threads, where pyplot's global
state gave blank or cut pictures). Flags and boxes come from
:func:`deidscope.pixels.detect` and follow :attr:`recipe_text` (and a
connected RecipeBuilder's recipe). Each file's thumbnail array and
PNG bytes share one cache entry, the least recently used evicted past
:data:`CACHE_SIZE`.
A click on a file's thumbnail or its name shows its header fields and a
:class:`~deidscope.widgets.box_editor.BoxEditor` to draft a LABEL, on the
picture at full resolution.

Burned-in text found by OCR (:func:`deidscope.pixels.find_text`, given as
``text=`` or run by :meth:`ThumbnailGrid.find_text`) is drawn as dashed
boxes, in another colour where the text shows a header value; under a shown
file each box has *Accept* (its ``coordinates`` line goes to the recipe, in
a LABEL for the file's device) and *Reject* (its text goes to the
allow-list, :attr:`ThumbnailGrid.allow`). Without text nothing is read by
OCR, and the first page costs what it did.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from deidscope.dicom import get_files
from deidscope.errors import DeidscopeError, InputError
from deidscope.files import read_dataset
from deidscope.frame import check_frame, read_identifiers
from deidscope.pixels import Box, boxes_png, detect, thumbnail, to_png
from deidscope.pixels import find_text as ocr_find_text
from deidscope.pixels.ocr import MAX_SIDE, TEXT_COLUMNS, label_blocks
from deidscope.recipe import Recipe, add_filter_label, header_values
from deidscope.widgets._canvas import PictureCanvas
from deidscope.widgets._common import (
    STYLE,
    PagedBox,
    as_recipe,
    error_html,
    escape,
    frame_html,
    logger,
    placeholder_png,
)
from deidscope.widgets.box_editor import BoxEditor

__all__ = ["ThumbnailGrid"]

#: Files whose thumbnail (array and PNG bytes) a grid keeps, least recently
#: used evicted first.
CACHE_SIZE = 1024


@dataclass
class _Cached:
    """One file's thumbnail, its PNG bytes and the boxes drawn into them."""

    image: np.ndarray
    png: bytes | None = None
    boxes: tuple[list[Box], list[Box], list[tuple[Box, bool]]] | None = None
    shape: tuple[int, int] | None = None


def _files_of(
    df_or_paths: Any, *, caller: str
) -> tuple[list[str], pd.DataFrame | None]:
    if isinstance(df_or_paths, pd.DataFrame):
        check_frame(df_or_paths, caller=caller, columns=("file",))
        column = df_or_paths["file"]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = pd.unique(column.cat.codes.to_numpy())
            categories = column.cat.categories
            files = [str(categories[int(code)]) for code in codes if code >= 0]
        else:
            files = [str(f) for f in pd.unique(column.to_numpy())]
        return files, df_or_paths
    if isinstance(df_or_paths, str | os.PathLike | Iterable):
        return [str(f) for f in get_files(df_or_paths)], None
    raise InputError(
        f"{caller}: expected an identifier frame, a folder or files, "
        f"but got {type(df_or_paths).__name__}"
    )


class ThumbnailGrid(PagedBox):
    """Pages of thumbnails, with flags and boxes from a recipe's ``%filter``.

    Parameters
    ----------
    df_or_paths : pandas.DataFrame, str, os.PathLike or iterable of them
        An identifier frame (its files are shown, its rows give the header
        fields) or DICOM files and folders.
    recipe : deidscope.recipe.Recipe, str or os.PathLike, optional
        Flags and boxes come from ``deidscope.pixels.detect(files, recipe)``.
    size : int
        Thumbnail size in pixels (the longer side).
    page_size : int
        Thumbnails per page.
    workers : int, optional
        Threads making thumbnails (default: up to 4, one per core).

    Attributes
    ----------
    files : list of str
        Every file, in order.
    flags : pandas.DataFrame or None
        :func:`deidscope.pixels.detect`'s result, indexed by file.
    errors : dict
        File -> why its thumbnail could not be made.
    shown_file : str
        The file whose header is shown ("" for none).
    header : pandas.DataFrame
        That file's rows.
    editor : BoxEditor
        The box being drafted on the shown file (``editor.draft_box``), the
        LABEL's name and group.
    label_hits : pandas.DataFrame or None
        Which files the last drafted LABEL flags (``detect`` rows).
    recipe_text : str
        The recipe flagging the files: set it (or :meth:`set_recipe`) to
        flag again. The labels added here go to it when no builder is
        connected; with one, it follows the builder's ``recipe_text``.
    text : pandas.DataFrame or None
        The text boxes shown (:func:`deidscope.pixels.find_text`'s rows),
        with a ``decision`` column: ``""``, ``"accepted"`` or ``"rejected"``.
    allow : list of str
        Allow-list entries added by *Reject* (escaped texts), for
        :func:`~deidscope.pixels.find_text` and
        :func:`~deidscope.pixels.verify`'s ``allow``.
    """

    shown_file = traitlets.Unicode("", read_only=True)
    recipe_text = traitlets.Unicode("")
    max_page_size = 200

    def __init__(
        self,
        df_or_paths: Any,
        *,
        recipe: Any = None,
        text: pd.DataFrame | None = None,
        size: int = 128,
        page_size: int = 24,
        workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        files, df = _files_of(df_or_paths, caller="ThumbnailGrid")
        if not isinstance(size, int) or not 16 <= size <= 1024:
            raise InputError(
                f"ThumbnailGrid: size must be 16-1024 pixels, got {size!r}"
            )
        parsed = None if recipe is None else as_recipe(recipe, caller="ThumbnailGrid")
        super().__init__(**kwargs)
        self.files = files
        self._df = df
        self._size = size
        self._recipe = parsed
        self.recipe_text = self._recipe.to_text() if self._recipe is not None else ""
        self._builder: Any = None
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.RLock()
        self._futures: list[concurrent.futures.Future[Any]] = []
        self._generation = 0
        workers = workers or min(4, os.cpu_count() or 1)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="deidscope-thumbnail"
        )
        self.errors: dict[str, str] = {}
        self.flags: pd.DataFrame | None = None
        self.header: pd.DataFrame = pd.DataFrame()
        self.label_hits: pd.DataFrame | None = None
        self.text: pd.DataFrame | None = None
        self.allow: list[str] = []
        self._proposals: dict[str, list[tuple[int, Box, bool]]] = {}
        self._status_note = ""
        self._placeholder = placeholder_png(size)
        self.page_size = page_size

        self._status = widgets.HTML()
        self._tiles: list[widgets.VBox] = []
        self._images: list[PictureCanvas] = []
        self._names: list[widgets.Button] = []
        self._notes: list[widgets.HTML] = []
        self._slots: list[str] = []
        self._grid = widgets.GridBox(
            layout={
                "grid_template_columns": f"repeat(auto-fill, {size + 16}px)",
                "grid_gap": "6px",
            }
        )
        self._grid.add_class("deidscope-grid")
        self._header_html = widgets.HTML()
        self.editor = BoxEditor()
        self.editor.on_add(self._on_editor_add)
        self._text_box = widgets.VBox()
        self._text_box.add_class("deidscope-text-boxes")
        self._detail = widgets.VBox([self.editor, self._text_box, self._header_html])
        self._detail.layout.display = "none"
        self.children = [
            widgets.HTML(STYLE),
            self._status,
            widgets.HBox([self._prev, self._page_label, self._next]),
            self._grid,
            self._detail,
        ]
        self._detect()
        if text is not None:
            self._set_text(text)
        self.observe(self._on_page_change, ["page", "page_size"])
        self.observe(self._on_recipe_text_change, "recipe_text")
        self._show_page()

    # -- public --------------------------------------------------------------

    @property
    def page_files(self) -> list[str]:
        """The files on the page shown."""
        return self.files[self._page_slice()]

    def png(self, path: str) -> bytes | None:
        """Return a file's thumbnail PNG bytes, boxes drawn, if made yet."""
        with self._lock:
            entry = self._cached(path)
            return None if entry is None else entry.png

    @property
    def page_png(self) -> dict[str, bytes | None]:
        """The PNG bytes of each file on the page (None while being made)."""
        return {path: self.png(path) for path in self.page_files}

    def shown_png(self) -> list[bytes]:
        """Return the bytes each tile's picture shows now, in page order."""
        return [bytes(image.png) for image in self._images[: len(self.page_files)]]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the page's thumbnails are made; True if all are done."""
        with self._lock:
            futures = list(self._futures)
        _, pending = concurrent.futures.wait(futures, timeout=timeout)
        return not pending

    def flagged(self, path: str) -> bool:
        """Whether the recipe's filters flag a file."""
        if self.flags is None or path not in self.flags.index:
            return False
        return bool(self.flags.loc[path, "flagged"])

    def show(self, path: str) -> None:
        """Show one file's header fields and the box editor."""
        if path not in self.files:
            raise InputError(f"ThumbnailGrid.show: {path!r} is not one of the files")
        self.set_trait("shown_file", path)
        if self._df is not None:
            rows = self._df[self._df["file"] == path]
        else:
            rows = read_identifiers([path], errors="ignore")
        self.header = rows
        columns = [c for c in ("name", "VR", "value") if c in rows.columns]
        self._header_html.value = (
            f"<b>{escape(os.path.basename(path))}</b>: {len(rows):,} fields"
            + frame_html(rows[columns], max_rows=500)
        )
        self._detail.layout.display = None
        try:
            self._make(path)
            with self._lock:
                entry = self._cached(path)
            if entry is None:  # evicted at once: a cache smaller than a page
                entry = _Cached(thumbnail(path, size=self._size))
            thumb = entry.image
            shape = self._image_shape(path, entry)
        except Exception as exc:  # one bad file never breaks the widget
            self.editor.clear(note=error_html(f"no picture for this file: {exc}"))
            return
        remove, keep = self._boxes(path)
        try:
            picture = thumbnail(path, size=min(max(shape), MAX_SIDE))
        except Exception as exc:  # the thumbnail was made: show that instead
            logger.info("ThumbnailGrid: no full picture of %s: %s", path, exc)
            picture = thumb
        self.editor.load(
            path,
            thumb,
            image_shape=shape,
            values=self._criteria_values(path),
            boxes=remove,
            keep=keep,
            picture=picture,
            proposed=self._proposed(path),
        )
        self._show_text_boxes(path)

    def add_label(self) -> str:
        """Add a LABEL for the drafted box on the shown file to the recipe.

        The LABEL is :meth:`BoxEditor.label`: the shown file's
        Manufacturer, ManufacturerModelName and Modality as criteria and the
        box as a ``coordinates`` line, in the editor's ``label_group``. With
        a connected :class:`RecipeBuilder` the label goes to its recipe;
        otherwise to :attr:`recipe_text`. Then shows which files that LABEL
        alone flags (:attr:`label_hits`).

        Returns
        -------
        str
            The LABEL block added.

        Raises
        ------
        InputError
            If no file is shown, or its picture could not be made.
        """
        if not self.shown_file:
            raise InputError("ThumbnailGrid.add_label: click a thumbnail first")
        block = self.editor.label()
        group = self.editor.label_group
        if self._builder is not None:
            self._builder.add_filter_label(block, group=group)
            self.recipe_text = self._builder.recipe_text
        else:
            self.recipe_text = add_filter_label(self.recipe_text, block, group=group)
        self._show_label_hits(block, group)
        return block

    def find_text(self, **kwargs: Any) -> pd.DataFrame:
        """Read the text in the files with OCR and draw the boxes found.

        Calls :func:`deidscope.pixels.find_text` on the grid's files (its
        frame when it has one) with :attr:`allow` and `kwargs` (``sample``,
        ``by``, ``cache_dir``...), then shows the result as :meth:`set_text`
        does.

        Returns
        -------
        pandas.DataFrame
            find_text's result.
        """
        kwargs.setdefault("allow", list(self.allow))
        kwargs.setdefault("errors", "ignore")
        source = self._df if self._df is not None else self.files
        result = ocr_find_text(source, **kwargs)
        self.set_text(result)
        return result

    def set_text(self, text: pd.DataFrame | None) -> None:
        """Draw the text boxes of a :func:`deidscope.pixels.find_text` result.

        Boxes of allow-listed text are not drawn; the others are dashed,
        in another colour where the text shows a header value.
        """
        self._set_text(text)
        self._redraw()

    def accept(self, index: int) -> str:
        """Accept a text box: add its ``coordinates`` line to the recipe.

        The line goes in a LABEL for the file's device signature
        (:func:`deidscope.pixels.propose_filters`' criteria), padded by 4
        pixels, in the editor's ``label_group``; with a connected builder,
        to its recipe.

        Parameters
        ----------
        index : int
            The box's row in :attr:`text`.

        Returns
        -------
        str
            The LABEL block added.
        """
        rows = self._text_row(index, caller="accept")
        source = self._df if self._df is not None else [str(rows["file"].iloc[0])]
        blocks = label_blocks(source, rows, share=0.0, include_allowed=True)
        if not blocks:
            raise InputError(
                "ThumbnailGrid.accept: no LABEL can be written for this box "
                "(the file has no Manufacturer, model or modality to match)"
            )
        group = self.editor.label_group
        for block in blocks:
            if self._builder is not None:
                self._builder.add_filter_label(block, group=group)
            else:
                self.recipe_text = add_filter_label(
                    self.recipe_text, block, group=group
                )
        if self._builder is not None:
            self.recipe_text = self._builder.recipe_text
        self._decide(index, "accepted")
        return "".join(blocks)

    def reject(self, index: int) -> str:
        """Reject a text box: its text is safe; add it to :attr:`allow`.

        Every box with the same text is no longer drawn.

        Returns
        -------
        str
            The allow-list entry added (the text, escaped).
        """
        rows = self._text_row(index, caller="reject")
        entry = re.escape(str(rows["text"].iloc[0]).strip())
        if entry not in self.allow:
            self.allow.append(entry)
        assert self.text is not None
        same = (
            self.text["text"].astype(str).str.strip()
            == str(rows["text"].iloc[0]).strip()
        )
        for i in self.text.index[same & (self.text["decision"] == "")]:
            self._decide(int(i), "rejected")
        return entry

    def connect_builder(self, builder: Any) -> None:
        """Send drafted labels to a RecipeBuilder and flag with its recipe.

        From now on :attr:`recipe_text` follows the builder's
        ``recipe_text``, so its edits flag the files again.
        """
        if self._builder is not None:
            self._builder.unobserve(self._on_builder_recipe_text, "recipe_text")
        self._builder = builder
        builder.observe(self._on_builder_recipe_text, "recipe_text")
        self.recipe_text = builder.recipe_text

    def set_recipe(self, recipe: Any) -> None:
        """Flag and draw boxes with another recipe (a Recipe, text or a file).

        Runs :func:`deidscope.pixels.detect` again, refreshes the tiles'
        flag marks and redraws the boxes of the thumbnails they change.
        """
        parsed = as_recipe(recipe, caller="ThumbnailGrid.set_recipe")
        text = parsed.to_text()
        if text != self.recipe_text:
            self.recipe_text = text  # fires _on_recipe_text_change
        else:
            self._reflag(parsed)

    def close(self) -> None:
        """Stop the thumbnail threads and close the widgets."""
        # ipywidgets closes on garbage collection too, also when __init__
        # refused its input before the pool was made.
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        super().close()

    # -- handlers --------------------------------------------------------------

    def _on_page_change(self, change: dict[str, Any]) -> None:
        self._show_page()

    def _on_name_click(self, button: widgets.Button) -> None:
        self._show_slot(self._names.index(button))

    def _on_image_clicks(self, change: dict[str, Any]) -> None:
        self._show_slot(self._images.index(change["owner"]))

    def _on_recipe_text_change(self, change: dict[str, Any]) -> None:
        text = change["new"]
        try:
            recipe = Recipe.from_text(text) if text.strip() else None
        except DeidscopeError as exc:  # keep the last flags; say why
            self._status_note = f"could not read the recipe: {exc}"
            self._show_status()
            return
        self._reflag(recipe)

    def _on_builder_recipe_text(self, change: dict[str, Any]) -> None:
        self.recipe_text = change["new"]

    def _on_editor_add(self, editor: BoxEditor) -> None:
        try:
            self.add_label()
        except InputError as exc:
            editor.note = error_html(str(exc))

    # -- internals ---------------------------------------------------------------

    def _show_slot(self, index: int) -> None:
        """Show the file of a tile (a click on its picture or its name)."""
        if index < len(self._slots):
            self.show(self._slots[index])

    def _n_items(self) -> int:
        return len(self.files)

    def _criteria_values(self, path: str) -> dict[str, str | None]:
        if self._df is not None and "depth" in self._df.columns:
            return header_values(self._df, path)
        rows = read_identifiers([path], errors="ignore")
        return header_values(rows, path)

    def _cached(self, path: str) -> _Cached | None:
        """Return a file's cache entry, marking it used (hold the lock)."""
        entry = self._cache.get(path)
        if entry is not None:
            self._cache.move_to_end(path)
        return entry

    def _store(self, path: str, entry: _Cached) -> None:
        """Keep an entry, evicting the least recently used (hold the lock)."""
        self._cache[path] = entry
        self._cache.move_to_end(path)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _reflag(self, recipe: Recipe | None) -> None:
        """Flag with `recipe`; forget the PNGs whose boxes it changes."""
        self._recipe = recipe
        self._detect()
        self._redraw()

    def _redraw(self) -> None:
        """Forget the PNGs whose boxes changed; redraw the editor and the page."""
        with self._lock:
            for path, entry in self._cache.items():
                if entry.boxes != self._drawn(path):
                    entry.png = None
                    entry.boxes = None
        if self.shown_file and self.editor.path == self.shown_file:
            remove, keep = self._boxes(self.shown_file)
            self.editor.set_boxes(
                remove, keep=keep, proposed=self._proposed(self.shown_file)
            )
            self._show_text_boxes(self.shown_file)
        self._show_page()

    # -- OCR text boxes ----------------------------------------------------------

    def _set_text(self, text: pd.DataFrame | None) -> None:
        if text is None:
            self.text = None
            self._proposals = {}
            return
        if not isinstance(text, pd.DataFrame) or not set(TEXT_COLUMNS) <= set(
            text.columns
        ):
            raise InputError(
                "ThumbnailGrid: text must be find_text's result, with the columns "
                f"{list(TEXT_COLUMNS)}"
            )
        table = text.reset_index(drop=True).copy()
        table.attrs = dict(text.attrs)
        if "decision" not in table.columns:
            table["decision"] = ""
        self.text = table
        self._index_proposals()

    def _index_proposals(self) -> None:
        proposals: dict[str, list[tuple[int, Box, bool]]] = {}
        if self.text is not None:
            table = self.text
            for i, file, box, match, safe, decision in zip(
                table.index,
                table["file"].astype(str),
                table["box"],
                table["header_match"],
                table["allowed"].astype(bool),
                table["decision"],
                strict=True,
            ):
                if safe or decision:
                    continue
                header = isinstance(match, str) and bool(match)
                proposals.setdefault(file, []).append(
                    (int(i), tuple(int(v) for v in box), header)  # type: ignore[arg-type]
                )
        with self._lock:
            self._proposals = proposals

    def _proposed(self, path: str) -> list[tuple[Box, bool]]:
        return [(box, header) for _, box, header in self._proposals.get(path, [])]

    def _drawn(self, path: str) -> tuple[list[Box], list[Box], list[tuple[Box, bool]]]:
        remove, keep = self._boxes(path)
        return remove, keep, self._proposed(path)

    def _text_row(self, index: int, *, caller: str) -> pd.DataFrame:
        if self.text is None or index not in self.text.index:
            raise InputError(
                f"ThumbnailGrid.{caller}: no text box {index!r}; call find_text "
                "or set_text first"
            )
        rows = self.text.loc[[index], list(TEXT_COLUMNS)]
        sampled = self.text.attrs.get("sampled")
        if isinstance(sampled, pd.DataFrame):
            rows.attrs["sampled"] = sampled
        return rows

    def _decide(self, index: int, decision: str) -> None:
        assert self.text is not None
        self.text.loc[index, "decision"] = decision
        self._index_proposals()
        self._redraw()

    def _show_text_boxes(self, path: str) -> None:
        """List the shown file's proposed boxes with Accept and Reject buttons."""
        items: list[widgets.Widget] = []
        if self.text is not None:
            rows = self.text[
                (self.text["file"].astype(str) == path)
                & ~self.text["allowed"].astype(bool)
            ]
            for position, row in zip(rows.index, rows.to_dict("records"), strict=True):
                i = int(position)
                match = row["header_match"]
                what = (
                    f' <span class="deidscope-error">shows {escape(match)}</span>'
                    if isinstance(match, str) and match
                    else ""
                )
                label = widgets.HTML(
                    f"<code>{escape(row['text'])}</code> at "
                    f"{','.join(map(str, row['box']))}{what}"
                    + (
                        f" · <i>{escape(row['decision'])}</i>"
                        if row["decision"]
                        else ""
                    )
                )
                accept = widgets.Button(
                    description="Accept",
                    tooltip="blank it: add its coordinates to the recipe",
                    button_style="danger" if what else "",
                    disabled=bool(row["decision"]),
                    layout={"width": "80px"},
                )
                reject = widgets.Button(
                    description="Reject",
                    tooltip="it is safe: add its text to the allow-list",
                    disabled=bool(row["decision"]),
                    layout={"width": "80px"},
                )
                accept.on_click(lambda _b, i=i: self._on_accept(i))
                reject.on_click(lambda _b, i=i: self._on_reject(i))
                items.append(widgets.HBox([accept, reject, label]))
            if not len(rows):
                items.append(widgets.HTML("<i>OCR found no text to review here</i>"))
            else:
                items.insert(0, widgets.HTML("<b>Text found by OCR</b>"))
        self._text_box.children = items

    def _on_accept(self, index: int) -> None:
        try:
            self.accept(index)
        except DeidscopeError as exc:
            self.editor.note = error_html(str(exc))

    def _on_reject(self, index: int) -> None:
        self.reject(index)

    def _detect(self) -> None:
        flags: pd.DataFrame | None = None
        self._status_note = ""
        if self._recipe is not None:
            source = self._df if self._df is not None else self.files
            try:
                result = detect(source, self._recipe)
            except Exception as exc:  # a broken recipe must not hide the pictures
                logger.warning("ThumbnailGrid: detect failed: %s", exc)
                self._status_note = f"could not flag: {exc}"
            else:
                flags = result.assign(file=result["file"].astype(str)).set_index("file")
        with self._lock:
            self.flags = flags

    def _boxes(self, path: str) -> tuple[list[Box], list[Box]]:
        """Return the regions the recipe blanks and keeps on a file."""
        if self.flags is None or path not in self.flags.index:
            return [], []
        row = self.flags.loc[path]
        remove = [tuple(b) for b in (row.get("coordinates") or [])]
        keep = [tuple(b) for b in (row.get("keep_coordinates") or [])]
        return remove, keep

    def _image_shape(self, path: str, entry: _Cached) -> tuple[int, int]:
        if entry.shape is not None:
            return entry.shape
        thumb = entry.image
        shape: tuple[int, int] | None = None
        values = None
        if self._df is not None:
            values = header_values(self._df, path, fields=("Rows", "Columns"))
        if values and values["Rows"] and values["Columns"]:
            try:
                shape = (int(values["Rows"]), int(values["Columns"]))
            except ValueError:
                shape = None
        if shape is None:
            ds = read_dataset(path)
            shape = (
                int(ds.get("Rows", thumb.shape[0])),
                int(ds.get("Columns", thumb.shape[1])),
            )
        entry.shape = shape
        return shape

    def _make(self, path: str) -> bytes:
        """Return a file's PNG bytes, boxes drawn, making what is not cached."""
        with self._lock:
            entry = self._cached(path)
            boxes = self._drawn(path)
            if entry is not None and entry.png is not None and entry.boxes == boxes:
                return entry.png
        if entry is None:
            entry = _Cached(thumbnail(path, size=self._size))
        remove, keep, proposed = boxes
        if remove or keep or proposed:
            shape = self._image_shape(path, entry)
            data = boxes_png(
                entry.image, remove, keep=keep, proposed=proposed, image_shape=shape
            )
        else:
            data = to_png(entry.image)
        with self._lock:
            if self._drawn(path) == boxes:  # the recipe did not change meanwhile
                entry.png = data
                entry.boxes = boxes
            self._store(path, entry)
        return data

    def _job(self, slot: int, path: str, generation: int) -> None:
        try:
            data = self._make(path)
        except Exception as exc:  # one bad file never stops the page
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.errors[path] = message
                if generation == self._generation:
                    self._notes[slot].value = error_html(message[:200])
            return
        with self._lock:
            if generation == self._generation:
                self._images[slot].png = data

    def _ensure_tiles(self, count: int) -> None:
        while len(self._tiles) < count:
            image = PictureCanvas(
                png=self._placeholder,
                drawing=False,
                layout={"width": f"{self._size}px", "height": "auto"},
            )
            image.add_class("deidscope-tile-picture")
            image.observe(self._on_image_clicks, "clicks")
            name = widgets.Button(
                layout={"width": f"{self._size}px"}, tooltip="show header fields"
            )
            name.on_click(self._on_name_click)
            note = widgets.HTML(layout={"width": f"{self._size}px"})
            self._images.append(image)
            self._names.append(name)
            self._notes.append(note)
            self._tiles.append(widgets.VBox([image, name, note]))

    def _show_page(self) -> None:
        files = self.page_files
        self._ensure_tiles(len(files))
        with self._lock:
            self._generation += 1
            generation = self._generation
            for future in self._futures:
                future.cancel()
            self._futures = []
            self._slots = list(files)
        for slot, path in enumerate(files):
            self._names[slot].description = os.path.basename(path)
            self._names[slot].tooltip = path
            tile = self._tiles[slot]
            note = self._notes[slot]
            if self.flagged(path):
                tile.add_class("deidscope-flagged")
                row: Any = self.flags.loc[path] if self.flags is not None else {}
                note.value = (
                    f'<span class="deidscope-error">⚑ {escape(row.get("group"))}: '
                    f"{escape(row.get('label'))}</span>"
                )
            else:
                tile.remove_class("deidscope-flagged")
                note.value = (
                    error_html(self.errors[path][:200]) if path in self.errors else ""
                )
            cached = self.png(path)
            if cached is not None:
                self._images[slot].png = cached
            elif path not in self.errors:
                self._images[slot].png = self._placeholder
                self._futures.append(
                    self._pool.submit(self._job, slot, path, generation)
                )
        self._grid.children = self._tiles[: len(files)]
        self._update_pager()
        self._show_status()

    def _show_status(self) -> None:
        n_flagged = 0 if self.flags is None else int(self.flags["flagged"].sum())
        line = f"<b>{len(self.files):,} files</b>"
        if self._recipe is not None:
            line += f" · {n_flagged:,} flagged by the recipe's filters"
        note = self._status_note
        self._status.value = line + (f" · {error_html(note)}" if note else "")

    def _show_label_hits(self, block: str, group: str) -> None:
        recipe = Recipe.from_text(add_filter_label("", block, group=group))
        source = self._df if self._df is not None else self.files
        result = detect(source, recipe)
        hits = result[result["flagged"]]
        self.label_hits = hits
        names = ", ".join(escape(os.path.basename(str(f))) for f in hits["file"][:20])
        more = f" and {len(hits) - 20} more" if len(hits) > 20 else ""
        self.editor.note = (
            f"<b>This LABEL flags {len(hits):,} of {len(self.files):,} files</b>: "
            f"{names}{more}"
        )
