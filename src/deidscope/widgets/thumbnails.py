"""ThumbnailGrid: pages of thumbnails, flags and boxes, header fields and box drafting.

Thumbnails come from :func:`deidscope.pixels.thumbnail`, made by a thread
pool off the kernel's main path and encoded as PNG bytes for
``ipywidgets.Image`` (never pyplot: see shared/TESTING.md). Flags and boxes
come from :func:`deidscope.pixels.detect`. PNG bytes are cached per file.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets
from PIL import Image, ImageDraw

from deidscope.dicom import get_files
from deidscope.errors import InputError
from deidscope.frame import read_identifiers
from deidscope.widgets._common import (
    STYLE,
    error_html,
    escape,
    frame_html,
    logger,
    optional_function,
)
from deidscope.widgets.drafting import (
    FILTER_GROUPS,
    add_filter_label,
    format_label,
    header_values,
    label_criteria,
)

__all__ = ["ThumbnailGrid", "boxes_png", "to_png"]

#: PNG bytes kept per grid (one entry per file and size).
CACHE_SIZE = 1024
#: Colours of removal boxes and keep boxes.
REMOVE_COLOUR = (230, 30, 30)
KEEP_COLOUR = (30, 190, 60)
DRAFT_COLOUR = (255, 200, 0)
Box = tuple[int, int, int, int]


def to_png(image: np.ndarray) -> bytes:
    r"""Encode a uint8 image as PNG bytes.

    Parameters
    ----------
    image : ndarray of shape (rows, columns) or (rows, columns, 3), uint8
        The picture.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    InputError
        If `image` is not a 2-D or RGB uint8 array.

    Examples
    --------
    >>> to_png(np.zeros((4, 6), np.uint8))[:4]
    b'\x89PNG'
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or not (
        arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)
    ):
        raise InputError(
            "to_png: expected a uint8 array of shape (rows, columns) or "
            f"(rows, columns, 3), got {arr.dtype} {arr.shape}"
        )
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


def boxes_png(
    image: np.ndarray,
    boxes: Iterable[tuple[Box, tuple[int, int, int]]],
    *,
    image_shape: tuple[int, int],
) -> bytes:
    """Draw boxes given in full-image pixels on a thumbnail; return PNG bytes.

    Parameters
    ----------
    image : ndarray of shape (rows, columns) or (rows, columns, 3), uint8
        The thumbnail.
    boxes : iterable of (box, colour)
        ``((xmin, ymin, xmax, ymax), (r, g, b))`` in the full image's pixels.
    image_shape : tuple of int
        ``(rows, columns)`` of the full image, to scale the boxes.

    Returns
    -------
    bytes
        The PNG file.
    """
    arr = np.asarray(image)
    picture = Image.fromarray(arr).convert("RGB")
    rows, columns = image_shape
    scale_y = arr.shape[0] / max(1, rows)
    scale_x = arr.shape[1] / max(1, columns)
    draw = ImageDraw.Draw(picture)
    width = max(1, round(min(arr.shape[:2]) / 64))
    for (xmin, ymin, xmax, ymax), colour in boxes:
        shape = (
            xmin * scale_x,
            ymin * scale_y,
            max(xmin * scale_x, xmax * scale_x - 1),
            max(ymin * scale_y, ymax * scale_y - 1),
        )
        draw.rectangle(shape, outline=colour, width=width)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _placeholder(size: int) -> bytes:
    return to_png(np.full((size // 2, size // 2), 235, np.uint8))


def _thumbnail_function() -> Callable[..., np.ndarray]:
    function = optional_function("deidscope.pixels", "thumbnail")
    if function is None:
        raise NotImplementedError("deidscope.pixels.thumbnail is not available")
    return function


def _detect_function() -> Callable[..., pd.DataFrame] | None:
    return optional_function("deidscope.pixels", "detect")


def _as_recipe(recipe: Any, *, caller: str) -> Any:
    if recipe is None:
        return None
    from deidscope.recipe import Recipe

    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str) and "\n" in recipe:
        return Recipe.from_text(recipe)
    if isinstance(recipe, str | os.PathLike):
        return Recipe.from_file(recipe)
    raise InputError(
        f"{caller}: expected a Recipe, recipe text or a recipe file, "
        f"but got {type(recipe).__name__}"
    )


def _files_of(
    df_or_paths: Any, *, caller: str
) -> tuple[list[str], pd.DataFrame | None]:
    if isinstance(df_or_paths, pd.DataFrame):
        if "file" not in df_or_paths.columns:
            raise InputError(f"{caller}: the frame lacks the column 'file'")
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


class ThumbnailGrid(widgets.VBox):  # type: ignore[misc]
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
    draft_box : tuple of int
        The box being drafted on the shown file, ``(xmin, ymin, xmax, ymax)``.
    label_hits : pandas.DataFrame or None
        Which files the last drafted LABEL flags (``detect`` rows).
    recipe_text : str
        The recipe with the labels added here (when no builder is connected).
    """

    page = traitlets.Int(0)
    page_size = traitlets.Int(24)
    shown_file = traitlets.Unicode("", read_only=True)
    draft_box = traitlets.Tuple(
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        default_value=(0, 0, 1, 1),
    )
    label_name = traitlets.Unicode("")
    label_group = traitlets.Enum(FILTER_GROUPS, default_value="graylist")
    recipe_text = traitlets.Unicode("")

    def __init__(
        self,
        df_or_paths: Any,
        *,
        recipe: Any = None,
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
        parsed = _as_recipe(recipe, caller="ThumbnailGrid")
        super().__init__(**kwargs)
        self.files = files
        self._df = df
        self._size = size
        self._recipe = parsed
        self.recipe_text = self._recipe.to_text() if self._recipe is not None else ""
        self._builder: Any = None
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._arrays: dict[str, np.ndarray] = {}
        self._shapes: dict[str, tuple[int, int]] = {}
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
        self._status_note = ""
        self._placeholder = _placeholder(size)
        self.page_size = page_size

        self._status = widgets.HTML()
        self._prev = widgets.Button(description="◀", layout={"width": "40px"})
        self._next = widgets.Button(description="▶", layout={"width": "40px"})
        self._page_label = widgets.Label()
        self._prev.on_click(self._on_prev_click)
        self._next.on_click(self._on_next_click)
        self._tiles: list[widgets.VBox] = []
        self._images: list[widgets.Image] = []
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
        self._preview = widgets.Image(
            value=_placeholder(size), format="png", layout={"max_width": "512px"}
        )
        self._xrange = widgets.IntRangeSlider(
            description="columns x", value=(0, 1), min=0, max=1
        )
        self._yrange = widgets.IntRangeSlider(
            description="rows y", value=(0, 1), min=0, max=1
        )
        self._corners = widgets.Text(
            description="corners",
            placeholder="xmin,ymin,xmax,ymax",
            continuous_update=False,
        )
        self._label = widgets.Text(description="LABEL")
        self._group = widgets.Dropdown(options=FILTER_GROUPS, description="%filter")
        self._add = widgets.Button(
            description="Add LABEL to recipe", button_style="primary"
        )
        self._hits = widgets.HTML()
        self._xrange.observe(self._on_xrange_value, "value")
        self._yrange.observe(self._on_yrange_value, "value")
        self._corners.observe(self._on_corners_value, "value")
        self._add.on_click(self._on_add_click)
        traitlets.link((self, "label_name"), (self._label, "value"))
        traitlets.link((self, "label_group"), (self._group, "value"))
        self._detail = widgets.VBox(
            [
                widgets.HBox(
                    [
                        self._preview,
                        widgets.VBox(
                            [
                                widgets.HTML(
                                    "<b>Draw a box</b>: drag the ranges or type "
                                    "the corners (image pixels)"
                                ),
                                self._xrange,
                                self._yrange,
                                self._corners,
                                self._label,
                                self._group,
                                self._add,
                                self._hits,
                            ]
                        ),
                    ]
                ),
                self._header_html,
            ]
        )
        self._detail.layout.display = "none"
        self.children = [
            widgets.HTML(STYLE),
            self._status,
            widgets.HBox([self._prev, self._page_label, self._next]),
            self._grid,
            self._detail,
        ]
        self._detect()
        self.observe(self._on_page_change, ["page", "page_size"])
        self.observe(self._on_draft_box_change, "draft_box")
        self._show_page()

    # -- public --------------------------------------------------------------

    @property
    def n_pages(self) -> int:
        """How many pages the files take (at least 1)."""
        return max(1, -(-len(self.files) // self.page_size))

    @property
    def page_files(self) -> list[str]:
        """The files on the page shown."""
        start = self.page * self.page_size
        return self.files[start : start + self.page_size]

    def png(self, path: str) -> bytes | None:
        """Return a file's thumbnail PNG bytes, boxes drawn, if made yet."""
        with self._lock:
            return self._cache.get((path, self._size))

    @property
    def page_png(self) -> dict[str, bytes | None]:
        """The PNG bytes of each file on the page (None while being made)."""
        return {path: self.png(path) for path in self.page_files}

    def shown_png(self) -> list[bytes]:
        """Return the bytes each tile's Image widget shows now, in page order."""
        return [bytes(image.value) for image in self._images[: len(self.page_files)]]

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
        values = self._criteria_values(path)
        maker = " ".join(v for v in values.values() if v) or os.path.basename(path)
        self.label_name = f"Burned-in text on {maker}"
        self._setup_box_editor(path)

    def add_label(self) -> str:
        """Add a LABEL for the drafted box on the shown file to the recipe.

        The criteria are the shown file's Manufacturer,
        ManufacturerModelName and Modality; the box becomes a
        ``coordinates`` line. With a connected :class:`RecipeBuilder` the
        label goes to its recipe; otherwise to :attr:`recipe_text`. Then
        shows which files that LABEL alone flags (:attr:`label_hits`).

        Returns
        -------
        str
            The LABEL block added.
        """
        if not self.shown_file:
            raise InputError("ThumbnailGrid.add_label: click a thumbnail first")
        criteria = label_criteria(self._criteria_values(self.shown_file))
        block = format_label(self.label_name, criteria, [self.draft_box])
        if self._builder is not None:
            self._builder.add_filter_label(block, group=self.label_group)
            self.recipe_text = self._builder.recipe_text
        else:
            self.recipe_text = add_filter_label(
                self.recipe_text, block, group=self.label_group
            )
        self._show_label_hits(block)
        return block

    def connect_builder(self, builder: Any) -> None:
        """Send drafted labels to a RecipeBuilder and flag with its recipe."""
        self._builder = builder
        self.recipe_text = builder.recipe_text

    def set_recipe(self, recipe: Any) -> None:
        """Flag and draw boxes with another recipe."""
        self._recipe = _as_recipe(recipe, caller="ThumbnailGrid.set_recipe")
        with self._lock:
            self._cache.clear()
        self._detect()
        self._show_page()

    def close(self) -> None:
        """Stop the thumbnail threads and close the widgets."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        super().close()

    # -- validation ------------------------------------------------------------

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: dict[str, Any]) -> int:
        size = proposal["value"]
        if not 1 <= size <= 200:
            raise traitlets.TraitError(
                f"ThumbnailGrid: page_size must be between 1 and 200, got {size}"
            )
        return int(size)

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        page = proposal["value"]
        if not 0 <= page < self.n_pages:
            raise traitlets.TraitError(
                f"ThumbnailGrid: page must be between 0 and {self.n_pages - 1}, "
                f"got {page}"
            )
        return int(page)

    @traitlets.validate("draft_box")
    def _valid_draft_box(self, proposal: dict[str, Any]) -> tuple[int, ...]:
        box = tuple(int(v) for v in proposal["value"])
        xmin, ymin, xmax, ymax = box
        if min(box) < 0 or xmin >= xmax or ymin >= ymax:
            raise traitlets.TraitError(
                "ThumbnailGrid: draft_box must be (xmin, ymin, xmax, ymax) with "
                f"0 <= xmin < xmax and 0 <= ymin < ymax, got {box}"
            )
        return box

    # -- handlers --------------------------------------------------------------

    def _on_page_change(self, change: dict[str, Any]) -> None:
        self._show_page()

    def _on_prev_click(self, button: widgets.Button) -> None:
        if self.page > 0:
            self.page -= 1

    def _on_next_click(self, button: widgets.Button) -> None:
        if self.page < self.n_pages - 1:
            self.page += 1

    def _on_name_click(self, button: widgets.Button) -> None:
        index = self._names.index(button)
        if index < len(self._slots):
            self.show(self._slots[index])

    def _on_xrange_value(self, change: dict[str, Any]) -> None:
        xmin, xmax = change["new"]
        if xmin < xmax:
            _, ymin, _, ymax = self.draft_box
            self.draft_box = (xmin, ymin, xmax, ymax)

    def _on_yrange_value(self, change: dict[str, Any]) -> None:
        ymin, ymax = change["new"]
        if ymin < ymax:
            xmin, _, xmax, _ = self.draft_box
            self.draft_box = (xmin, ymin, xmax, ymax)

    def _on_corners_value(self, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        if not text:
            return
        try:
            box = tuple(int(part) for part in text.replace(" ", "").split(","))
            if len(box) != 4:
                raise ValueError(text)
            self.draft_box = box
        except (ValueError, traitlets.TraitError):
            self._hits.value = error_html(
                f"corners must be xmin,ymin,xmax,ymax with min < max, got {text!r}"
            )

    def _on_draft_box_change(self, change: dict[str, Any]) -> None:
        xmin, ymin, xmax, ymax = change["new"]
        with self.hold_trait_notifications():
            if self._xrange.max < xmax:
                self._xrange.max = xmax
            if self._yrange.max < ymax:
                self._yrange.max = ymax
            self._xrange.value = (xmin, xmax)
            self._yrange.value = (ymin, ymax)
        corners = f"{xmin},{ymin},{xmax},{ymax}"
        if self._corners.value.replace(" ", "") != corners:
            self._corners.value = corners
        self._draw_preview()

    def _on_add_click(self, button: widgets.Button) -> None:
        try:
            self.add_label()
        except InputError as exc:
            self._hits.value = error_html(str(exc))

    # -- internals ---------------------------------------------------------------

    def _criteria_values(self, path: str) -> dict[str, str | None]:
        if self._df is not None and "depth" in self._df.columns:
            return header_values(self._df, path)
        rows = read_identifiers([path], errors="ignore")
        return header_values(rows, path)

    def _detect(self) -> None:
        self.flags = None
        self._status_note = ""
        if self._recipe is None:
            return
        detect = _detect_function()
        if detect is None:
            self._status_note = "flags need deidscope.pixels.detect"
            return
        source = self._df if self._df is not None else self.files
        try:
            result = detect(source, self._recipe)
        except Exception as exc:  # a broken recipe must not hide the pictures
            logger.warning("ThumbnailGrid: detect failed: %s", exc)
            self._status_note = f"could not flag: {exc}"
            return
        self.flags = result.assign(file=result["file"].astype(str)).set_index("file")

    def _boxes(self, path: str) -> list[tuple[Box, tuple[int, int, int]]]:
        if self.flags is None or path not in self.flags.index:
            return []
        row = self.flags.loc[path]
        boxes = [(tuple(b), REMOVE_COLOUR) for b in (row.get("coordinates") or [])]
        boxes += [(tuple(b), KEEP_COLOUR) for b in (row.get("keep_coordinates") or [])]
        return boxes

    def _image_shape(self, path: str, thumb: np.ndarray) -> tuple[int, int]:
        if path in self._shapes:
            return self._shapes[path]
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
            from deidscope.files import read_dataset

            ds = read_dataset(path)
            shape = (
                int(ds.get("Rows", thumb.shape[0])),
                int(ds.get("Columns", thumb.shape[1])),
            )
        self._shapes[path] = shape
        return shape

    def _make(self, path: str) -> bytes:
        thumb = np.asarray(_thumbnail_function()(path, size=self._size))
        with self._lock:
            self._arrays[path] = thumb
        boxes = self._boxes(path)
        if boxes:
            data = boxes_png(thumb, boxes, image_shape=self._image_shape(path, thumb))
        else:
            data = to_png(thumb)
        with self._lock:
            self._cache[(path, self._size)] = data
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
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
                self._images[slot].value = data

    def _ensure_tiles(self, count: int) -> None:
        while len(self._tiles) < count:
            image = widgets.Image(
                value=self._placeholder,
                format="png",
                layout={"width": f"{self._size}px", "height": "auto"},
            )
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
                self._images[slot].value = cached
            elif path not in self.errors:
                self._images[slot].value = self._placeholder
                self._futures.append(
                    self._pool.submit(self._job, slot, path, generation)
                )
        self._grid.children = self._tiles[: len(files)]
        self._page_label.value = f"page {self.page + 1} of {self.n_pages}"
        self._prev.disabled = self.page == 0
        self._next.disabled = self.page >= self.n_pages - 1
        n_flagged = 0 if self.flags is None else int(self.flags["flagged"].sum())
        line = f"<b>{len(self.files):,} files</b>"
        if self._recipe is not None:
            line += f" · {n_flagged:,} flagged by the recipe's filters"
        note = self._status_note
        self._status.value = line + (f" · {error_html(note)}" if note else "")

    def _setup_box_editor(self, path: str) -> None:
        try:
            thumb = self._arrays.get(path)
            if thumb is None:
                self._make(path)
                thumb = self._arrays[path]
            rows, columns = self._image_shape(path, thumb)
        except Exception as exc:
            self._hits.value = error_html(f"no picture for this file: {exc}")
            return
        with self.hold_trait_notifications():
            self._xrange.max = columns
            self._yrange.max = rows
        self.draft_box = (0, 0, columns, max(1, rows // 10))
        self._draw_preview()

    def _draw_preview(self) -> None:
        path = self.shown_file
        thumb = self._arrays.get(path)
        if not path or thumb is None:
            return
        shape = self._image_shape(path, thumb)
        boxes = [*self._boxes(path), (self.draft_box, DRAFT_COLOUR)]
        big = np.asarray(
            Image.fromarray(thumb).resize(
                (thumb.shape[1] * 3, thumb.shape[0] * 3), Image.Resampling.NEAREST
            )
        )
        self._preview.value = boxes_png(big, boxes, image_shape=shape)

    def _show_label_hits(self, block: str) -> None:
        detect = _detect_function()
        if detect is None:
            self.label_hits = None
            self._hits.value = "<i>added; flags need deidscope.pixels.detect</i>"
            return
        from deidscope.recipe import Recipe

        recipe = Recipe.from_text(add_filter_label("", block, group=self.label_group))
        source = self._df if self._df is not None else self.files
        result = detect(source, recipe)
        hits = result[result["flagged"]]
        self.label_hits = hits
        names = ", ".join(escape(os.path.basename(str(f))) for f in hits["file"][:20])
        more = f" and {len(hits) - 20} more" if len(hits) > 20 else ""
        self._hits.value = (
            f"<b>This LABEL flags {len(hits):,} of {len(self.files):,} files</b>: "
            f"{names}{more}"
        )
