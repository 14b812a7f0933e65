"""Burned-in text: OCR proposes the boxes, a person accepts them, OCR checks.

A header audit cannot see text written into the pixels. These functions
close the loop, offline, with the ``ocr`` extra
(``pip install 'deidscope[ocr]'``: RapidOCR, whose models ship in its
wheel):

1. :func:`find_text` reads a few images per device signature (burned-in
   layouts repeat per device) and returns every text box, the header value
   it shows (a birth date as ``08/29/1951``, a name as ``DOE, JANE``, an
   ID) and whether the allow-list says it is safe (``12 cm``, ``MI 1.2``).
2. :func:`propose_filters` turns the boxes into recipe text: one
   ``%filter`` LABEL per signature, one ``coordinates`` line per box seen
   in most of its sampled images, which a person reads, edits, lints and
   passes to :func:`~deidscope.pixels.detect` and
   :func:`~deidscope.pixels.clean` (or accepts box by box in
   :class:`~deidscope.widgets.ThumbnailGrid`).
3. :func:`verify` reads the cleaned copies: any text left that shows a
   header value of the original, or is not allow-listed, is a row.

OCR takes 0.3 to 2 seconds per image on two cores, so it samples; results
are cached by file content, so a rerun is instant.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from deidscope._progress import progress_bar
from deidscope.errors import BatchErrors, DeidscopeError, Errors, InputError
from deidscope.files import PathLike, as_input_list, iter_dicom_files
from deidscope.frame import check_frame, read_identifiers
from deidscope.pixels._decode import (
    Source,
    decode,
    image_size,
    load,
    number_of_frames,
    quiet,
    target_shape,
)
from deidscope.pixels._display import to_uint8
from deidscope.pixels._ocr_engine import (
    Engine,
    EngineBox,
    OcrCache,
    file_digest,
    resolve_engine,
)
from deidscope.pixels._text_match import (
    ALLOW_LIST,
    HeaderMatcher,
    allowed,
    compile_allow,
    header_triples,
)
from deidscope.pixels.boxes import Box
from deidscope.recipe import Recipe, add_filter_label, format_box, label_criteria

__all__ = [
    "ALLOW_LIST",
    "MAX_SIDE",
    "SIGNATURE",
    "TEXT_COLUMNS",
    "VERIFY_COLUMNS",
    "find_text",
    "label_blocks",
    "propose_filters",
    "verify",
]

logger = logging.getLogger(__name__)

#: The header fields whose values make a device signature: images of one
#: signature share a burned-in layout.
SIGNATURE: tuple[str, ...] = (
    "Manufacturer",
    "ManufacturerModelName",
    "Modality",
    "Rows",
    "Columns",
    "SOPClassUID",
)
#: The longer side of the picture OCR reads; larger images are shrunk to it
#: (the boxes are given in the full image's pixels all the same).
MAX_SIDE = 2048
#: The columns of :func:`find_text`'s result, in order.
TEXT_COLUMNS = (
    "file",
    "frame",
    "signature",
    "box",
    "text",
    "score",
    "header_match",
    "allowed",
)
#: The columns of :func:`verify`'s result, in order.
VERIFY_COLUMNS = ("file", "original", *TEXT_COLUMNS[1:])
_FRAME_WORDS = ("middle", "first", "all")


# -- inputs ---------------------------------------------------------------------


def _frame_of(df_or_paths: Any, *, caller: str, batch: BatchErrors) -> pd.DataFrame:
    """Return the identifier frame: as given, or read from paths (errors to `batch`)."""
    if isinstance(df_or_paths, pd.DataFrame):
        check_frame(
            df_or_paths,
            caller=caller,
            columns=("file", "name", "VR", "value", "depth"),
        )
        return df_or_paths
    frame = read_identifiers(
        df_or_paths, errors="raise" if batch.raises else "ignore", progress=False
    )
    previous = frame.attrs.get("errors")
    if isinstance(previous, pd.DataFrame) and len(previous):
        batch.extend(
            (str(f), str(e))
            for f, e in previous[["file", "error"]].itertuples(index=False)
        )
    return frame


def _files_in_order(frame: pd.DataFrame) -> list[str]:
    column = frame["file"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = pd.unique(column.cat.codes.to_numpy())
        categories = column.cat.categories
        return [str(categories[int(c)]) for c in codes if c >= 0]
    return [str(f) for f in pd.unique(column.to_numpy())]


def _top_values(
    frame: pd.DataFrame, fields: Sequence[str], files: Sequence[str]
) -> pd.DataFrame:
    """Return a table file x field of top-level values (None where absent)."""
    rows = frame[
        (frame["depth"].to_numpy() == 0)
        & frame["name"].isin(list(fields)).to_numpy(bool)
    ]
    table = pd.DataFrame(index=pd.Index(list(files), name="file"), columns=list(fields))
    table = table.astype(object)
    for file, name, value in zip(
        rows["file"].astype(str),
        rows["name"].astype(str),
        rows["value"].astype(object),
        strict=True,
    ):
        if file in table.index and name in table.columns:
            text = None if value is None or value is pd.NA else str(value)
            table.at[file, name] = text
    return table.where(table.notna(), None)


def _signature_text(values: Sequence[Any], fields: Sequence[str]) -> str:
    parts: list[str] = []
    named = dict(zip(fields, values, strict=True))
    rows, columns = named.pop("Rows", None), named.pop("Columns", None)
    for field in fields:
        if field in ("Rows", "Columns"):
            if field == "Rows":
                parts.append(f"{columns or '?'}x{rows or '?'}")
            continue
        parts.append(str(named[field]) if named[field] not in (None, "") else "-")
    return " | ".join(parts)


def _check_by(by: object) -> tuple[str, ...]:
    if isinstance(by, str):
        by = (by,)
    fields = tuple(by) if isinstance(by, Iterable) else ()
    if not fields or not all(
        isinstance(f, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", f) for f in fields
    ):
        raise InputError(
            f"find_text: by must be DICOM keywords, e.g. SIGNATURE, got {by!r}"
        )
    return fields


def _check_sample(sample: object) -> int | None:
    if sample is None:
        return None
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise InputError(
            f"find_text: sample must be a whole number >= 1 or None, got {sample!r}"
        )
    return sample


def _check_frames(frames: object, *, caller: str) -> str | tuple[int, ...]:
    if isinstance(frames, str):
        if frames not in _FRAME_WORDS:
            raise InputError(
                f"{caller}: frames must be 'middle', 'first', 'all', a frame "
                f"number or a list of them, got {frames!r}"
            )
        return frames
    numbers = [frames] if isinstance(frames, int) else frames
    if isinstance(numbers, Iterable):
        picked = tuple(numbers)
        if picked and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in picked
        ):
            return picked
    raise InputError(
        f"{caller}: frames must be 'middle', 'first', 'all', a frame number "
        f"or a list of them, got {frames!r}"
    )


def _frame_indices(choice: str | tuple[int, ...], count: int) -> list[int]:
    if choice == "middle":
        return [count // 2]
    if choice == "first":
        return [0]
    if choice == "all":
        return list(range(count))
    return [n for n in choice if isinstance(n, int) and n < count]


def _pick(files: Sequence[str], sample: int | None) -> list[str]:
    """`sample` files spread evenly over the list (first, ..., last)."""
    if sample is None or len(files) <= sample:
        return list(files)
    if sample == 1:
        return [files[len(files) // 2]]
    positions = np.linspace(0, len(files) - 1, sample).round().astype(int)
    return [files[int(i)] for i in dict.fromkeys(positions.tolist())]


# -- one image -------------------------------------------------------------------


def _picture(src: Source, index: int) -> np.ndarray:
    """Return the frame as an 8-bit picture, its longer side at most MAX_SIDE."""
    with quiet(src):
        rows, columns = image_size(src)
        shape = target_shape(rows, columns, MAX_SIDE)
        decoded = decode(src, index=index, reduce_to=shape)
        return to_uint8(decoded, src, shape)


def _image_box(corners: Sequence[float], image: tuple[int, int]) -> Box | None:
    """Corners in image pixels -> a whole-pixel box, outward, clipped."""
    x0 = max(0, math.floor(corners[0]))
    y0 = max(0, math.floor(corners[1]))
    x1 = min(image[1], math.ceil(corners[2]))
    y1 = min(image[0], math.ceil(corners[3]))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


class _Reader:
    """OCR of one file's frames, through the cache."""

    def __init__(self, engine: Engine, cache_dir: Any, caller: str) -> None:
        self.engine, self.engine_name = resolve_engine(engine, caller=caller)
        self.cache = OcrCache(cache_dir)
        self.caller = caller

    def read(
        self, path: str, choice: str | tuple[int, ...]
    ) -> tuple[list[int], tuple[int, int], list[tuple[int, Box, str, float]]]:
        """OCR the chosen frames of a file.

        Returns the frames read, the image's (rows, columns) and
        ``(frame, box, text, score)`` for each text, boxes in image pixels.
        """
        src = load(path, caller=self.caller)
        with quiet(src):
            count = number_of_frames(src)
            rows, columns = image_size(src)
        side = max(target_shape(rows, columns, MAX_SIDE))
        digest = file_digest(path) if self.engine_name is not None else ""
        indices = _frame_indices(choice, count)
        found: list[tuple[int, Box, str, float]] = []
        for index in indices:
            key = ""
            boxes: list[EngineBox] | None = None
            if self.engine_name is not None:
                key = OcrCache.key(digest, index, side, self.engine_name)
                boxes = self.cache.get(key)
            if boxes is None:
                picture = _picture(src, index)
                shape = (int(picture.shape[0]), int(picture.shape[1]))
                # kept in the full image's pixels (the key holds the picture size)
                boxes = [
                    (_scaled_corners(b, shape, (rows, columns)), str(t), float(s))
                    for b, t, s in self.engine(picture)
                ]
                if self.engine_name is not None:
                    self.cache.put(key, boxes)
            for corners, text, score in boxes:
                box = _image_box(corners, (rows, columns))
                if box is not None and text.strip():
                    found.append((index, box, text, score))
        return indices, (rows, columns), found


def _scaled_corners(
    corners: Sequence[float], picture: tuple[int, int], image: tuple[int, int]
) -> tuple[float, float, float, float]:
    sy, sx = image[0] / picture[0], image[1] / picture[1]
    return (corners[0] * sx, corners[1] * sy, corners[2] * sx, corners[3] * sy)


def _file_triples(frame: pd.DataFrame, files: Sequence[str]) -> dict[str, list[Any]]:
    """Return each file's ``(field, VR, value)`` header values, every depth.

    Names, dates and times, and the values of elements PS3.15 Table E.1-1
    lists or that are private: a probe or a manufacturer's name on the
    screen is not counted as showing a header value.
    """
    mask = frame["file"].isin(list(files)).to_numpy(bool)
    rows = frame[mask]
    out: dict[str, list[Any]] = {f: [] for f in files}
    if not len(rows):
        return out
    for file, group in rows.groupby(
        rows["file"].astype(str), sort=False, observed=True
    ):
        out[str(file)] = header_triples(
            group["name"].astype(str).tolist(),
            group["VR"].astype(str).tolist(),
            group["value"].astype(object).tolist(),
            group["tag"].astype(str).tolist() if "tag" in group.columns else None,
        )
    return out


_DTYPES = {"frame": "int64", "score": "float64", "allowed": "bool"}


def _rows_frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Return the rows as a frame of `columns`: the same dtypes, empty or not."""
    return pd.DataFrame(
        {
            c: pd.Series([r[c] for r in rows], dtype=_DTYPES.get(c, object))
            for c in columns
        },
        columns=list(columns),
    )


# -- find_text -------------------------------------------------------------------


def find_text(
    df_or_paths: pd.DataFrame | PathLike | Iterable[PathLike],
    *,
    sample: int | None = 3,
    by: Sequence[str] = SIGNATURE,
    frames: str | int | Sequence[int] = "middle",
    engine: Engine = "rapidocr",
    allow: Iterable[str] | None = None,
    cache_dir: PathLike | None = None,
    progress: bool | None = None,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """Find burned-in text in a sample of images per device signature.

    Parameters
    ----------
    df_or_paths : pandas.DataFrame, path or iterable of paths
        An identifier frame (:func:`deidscope.read_identifiers`; its rows
        give the signatures and the header values, it is not modified) or
        files and folders to read one from.
    sample : int or None, optional
        Images read per signature (default 3), spread over its files in
        order (first, middle, last); None reads every file. Files without
        Rows and Columns (no picture: a structured report, a
        presentation state) are left out.
    by : sequence of str, optional
        The header fields whose values make a signature (default
        :data:`SIGNATURE`: Manufacturer, ManufacturerModelName, Modality,
        Rows, Columns, SOPClassUID).
    frames : {"middle", "first", "all"}, int or sequence of int, optional
        The frames of a multi-frame image read (default the middle one);
        frame numbers past the last are skipped.
    engine : "rapidocr" or callable, optional
        The OCR engine (see :mod:`deidscope.pixels._ocr_engine`); a callable
        ``engine(picture) -> [((x0, y0, x1, y1), text, score), ...]`` is
        cached only if it has a ``cache_name`` attribute.
    allow : iterable of str, optional
        More allow-list entries: regular expressions matched against the
        whole text, ignoring case (``re.escape`` a literal text), added to
        :data:`ALLOW_LIST`.
    cache_dir : str or os.PathLike, optional
        A folder keeping the engine's results between sessions (results
        are always kept in memory for the process).
    progress : bool or None, optional
        A progress bar: True always, False never, None (default) once the
        run has taken 2 s.
    errors : {"warn", "ignore", "raise"}, optional
        Files that cannot be read or decoded are listed in
        ``result.attrs["errors"]``; ``"warn"`` (default) also warns once.

    Returns
    -------
    pandas.DataFrame
        One row per text box, with the columns :data:`TEXT_COLUMNS`:
        ``file``, ``frame`` (from 0), ``signature`` (the `by` values as
        text), ``box`` (``(xmin, ymin, xmax, ymax)`` in the full image's
        pixels), ``text``, ``score`` (the engine's, 0-1), ``header_match``
        (the header field whose value the text shows, e.g.
        ``PatientBirthDate``, or None) and ``allowed`` (True when the
        allow-list says the text is safe; never for a header match).
        ``result.attrs["sampled"]`` lists every image read (``file``,
        ``frame``, ``signature``, ``rows``, ``columns``), also those
        without text; ``result.attrs["errors"]`` the files that failed.

    Raises
    ------
    MissingDependencyError
        Without the ``ocr`` extra (an ``ImportError`` whose message says
        ``pip install 'deidscope[ocr]'``).
    InputError
        For a bad option or an `allow` entry that is not a regular
        expression.
    ReadError
        With ``errors="raise"``, for the first file that fails.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> text = find_text(get_dataset("ultrasounds"), errors="ignore")  # doctest: +SKIP
    >>> text.loc[text.header_match.notna(), ["text", "header_match"]]  # doctest: +SKIP
    """
    batch = BatchErrors("find_text", errors, listed_in="result.attrs['errors']")
    fields = _check_by(by)
    sample = _check_sample(sample)
    choice = _check_frames(frames, caller="find_text")
    pattern = _allow_pattern(allow, caller="find_text")
    reader = _Reader(engine, cache_dir, "find_text")
    frame = _frame_of(df_or_paths, caller="find_text", batch=batch)
    files = _files_in_order(frame)
    table = _top_values(frame, fields, files)
    signature_of = {f: _signature_text(list(table.loc[f]), fields) for f in table.index}
    size = _top_values(frame, ("Rows", "Columns"), files)
    images = set(size.index[size["Rows"].notna() & size["Columns"].notna()])
    groups: dict[str, list[str]] = {}
    for file in files:
        if file in images:  # a file without Rows and Columns has no picture
            groups.setdefault(signature_of[file], []).append(file)
    chosen = [f for members in groups.values() for f in _pick(members, sample)]
    triples = _file_triples(frame, chosen)
    rows: list[dict[str, Any]] = []
    sampled: list[dict[str, Any]] = []
    with progress_bar(len(chosen), progress, desc="find_text") as bar:
        for file in chosen:
            found = _read_one(reader, file, choice, batch)
            bar.update(1)
            if found is None:
                continue
            frames_read, shape, boxes = found
            signature = signature_of[file]
            sampled += [
                {
                    "file": file,
                    "frame": index,
                    "signature": signature,
                    "rows": shape[0],
                    "columns": shape[1],
                }
                for index in frames_read
            ]
            matcher = HeaderMatcher(triples.get(file, []))
            rows += _text_rows(file, signature, boxes, matcher, pattern)
    result = _rows_frame(rows, TEXT_COLUMNS)
    result.attrs["sampled"] = pd.DataFrame(
        sampled, columns=["file", "frame", "signature", "rows", "columns"]
    )
    total = len(set(files) | set(batch.frame()["file"]))
    result.attrs["errors"] = batch.finish(total=total)
    return result


def _allow_pattern(allow: Iterable[str] | None, *, caller: str) -> re.Pattern[str]:
    if isinstance(allow, str):
        allow = [allow]
    try:
        return compile_allow(allow)
    except re.error as exc:
        raise InputError(
            f"{caller}: an allow entry is not a regular expression: {exc}"
        ) from None


def _read_one(
    reader: _Reader, file: str, choice: str | tuple[int, ...], batch: BatchErrors
) -> tuple[list[int], tuple[int, int], list[tuple[int, Box, str, float]]] | None:
    """OCR one file; a failure goes to `batch` (or raises with errors='raise')."""
    try:
        return reader.read(file, choice)
    except (DeidscopeError, OSError) as exc:
        batch.add(file, f"{reader.caller}: {exc}")
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the engine or a decoder failing on one image
        batch.add(file, f"{reader.caller}: {type(exc).__name__}: {exc}")
    return None


def _text_rows(
    file: str,
    signature: str,
    boxes: list[tuple[int, Box, str, float]],
    matcher: HeaderMatcher,
    pattern: re.Pattern[str],
) -> list[dict[str, Any]]:
    rows = []
    for index, box, text, score in boxes:
        field = matcher.match(text)
        rows.append(
            {
                "file": file,
                "frame": index,
                "signature": signature,
                "box": box,
                "text": text,
                "score": score,
                "header_match": field,
                "allowed": field is None and allowed(text, pattern),
            }
        )
    return rows


# -- propose_filters -------------------------------------------------------------


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / smaller if smaller else 0.0


def _clusters(boxes: Sequence[Box], threshold: float = 0.5) -> list[list[int]]:
    """Group boxes that overlap (by the smaller one's area) into clusters."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _overlap(boxes[i], boxes[j]) >= threshold:
                parent[root(i)] = root(j)
    out: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        out.setdefault(root(i), []).append(i)
    return list(out.values())


def _label_name(values: dict[str, str | None], signature: str) -> str:
    words = [
        values.get(k) for k in ("Manufacturer", "ManufacturerModelName", "Modality")
    ]
    size = ""
    if values.get("Rows") and values.get("Columns"):
        size = f"{values['Columns']}x{values['Rows']}"
    name = " ".join(w for w in (*words, size) if w) or signature
    name = re.sub(r"[#\r\n\t]+", " ", name).strip()
    return f"Burned-in text on {name}"


def propose_filters(
    df: pd.DataFrame | PathLike | Iterable[PathLike],
    text: pd.DataFrame,
    *,
    recipe: str | None = None,
    group: str = "graylist",
    pad: int = 4,
    share: float = 0.5,
    include_allowed: bool = False,
) -> str:
    """Turn the text boxes :func:`find_text` found into ``%filter`` recipe text.

    One LABEL per signature: its criteria are the signature's header values
    (``equals Manufacturer ...``, also Rows, Columns and SOPClassUID with
    the default signature), and one ``coordinates`` line per box seen in
    more than `share` of the signature's sampled images, boxes merged
    across the samples (the smallest box holding every overlapping one)
    and padded by `pad` pixels. A box that shows a header value is proposed
    even when seen in fewer images. Allow-listed text is left out unless
    `include_allowed`. An ultrasound (Modality US) whose header has
    SequenceOfUltrasoundRegions also gets ``keepcoordinates
    from:SequenceOfUltrasoundRegions``: text inside the imaging regions is
    kept (deidscope's :func:`~deidscope.pixels.clean` lets keep boxes win),
    text around them blanked. A comment above each line says in how many
    sampled images the box was seen and which header field it shows; the
    text read is never written into the recipe.

    Parameters
    ----------
    df : pandas.DataFrame, path or iterable of paths
        The identifier frame :func:`find_text` read (or the files), for the
        criteria values.
    text : pandas.DataFrame
        :func:`find_text`'s result (rows may be dropped first, e.g. the
        boxes a person rejected).
    recipe : str, optional
        Recipe text to add the LABELs to (default: a new recipe).
    group : {"graylist", "blacklist", "whitelist"}, optional
        The ``%filter`` group (default ``graylist``).
    pad : int, optional
        Pixels added around each box (default 4), clipped to the image.
    share : float, optional
        A box is proposed when seen in more than this share of the
        signature's sampled images (default 0.5: most of them).
    include_allowed : bool, optional
        Propose allow-listed text too (default False).

    Returns
    -------
    str
        Recipe text; it parses and lints clean with
        :class:`deidscope.recipe.Recipe`.

    Raises
    ------
    InputError
        If `text` lacks find_text's columns or an option is bad.
    """
    out = recipe if recipe is not None else "FORMAT dicom\n"
    if not isinstance(out, str):
        raise InputError(
            f"propose_filters: recipe must be recipe text, got {type(out).__name__}"
        )
    for block in label_blocks(
        df, text, pad=pad, share=share, include_allowed=include_allowed
    ):
        out = add_filter_label(out, block, group=group)
    Recipe.from_text(out)  # what we write must read back
    return out


def label_blocks(
    df: pd.DataFrame | PathLike | Iterable[PathLike],
    text: pd.DataFrame,
    *,
    pad: int = 4,
    share: float = 0.5,
    include_allowed: bool = False,
) -> list[str]:
    """Return the LABEL blocks :func:`propose_filters` adds, one per signature.

    The parameters are :func:`propose_filters`'; the widgets add one block
    per box a person accepts.
    """
    if not isinstance(text, pd.DataFrame) or not set(TEXT_COLUMNS) <= set(text.columns):
        raise InputError(
            "propose_filters: expected find_text's result as text, with the "
            f"columns {list(TEXT_COLUMNS)}"
        )
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise InputError(f"propose_filters: pad must be an int >= 0, got {pad!r}")
    if not isinstance(share, int | float) or not 0 <= share < 1:
        raise InputError(f"propose_filters: share must be in [0, 1), got {share!r}")
    sampled = text.attrs.get("sampled")
    if not isinstance(sampled, pd.DataFrame) or not len(sampled):
        sampled = text[["file", "frame", "signature"]].drop_duplicates()
    sampled = sampled[sampled["signature"].isin(set(text["signature"]))]
    files = list(dict.fromkeys(str(f) for f in sampled["file"]))
    if not files:
        return []
    frame = (
        df
        if isinstance(df, pd.DataFrame)
        else read_identifiers(
            [f for f in files if os.path.exists(f)], errors="ignore", progress=False
        )
    )
    check_frame(
        frame, caller="propose_filters", columns=("file", "name", "value", "depth")
    )
    fields = list(dict.fromkeys((*SIGNATURE, "SequenceOfUltrasoundRegions")))
    values = _top_values(frame, fields, files)
    regions = _has_regions(frame, files)
    blocks = []
    for signature, images in sampled.groupby("signature", sort=False):
        block = _label_block(
            str(signature),
            images,
            text[text["signature"] == signature],
            values,
            regions,
            pad=pad,
            share=share,
            include_allowed=include_allowed,
        )
        if block:
            blocks.append(block)
    return blocks


def _has_regions(frame: pd.DataFrame, files: Sequence[str]) -> set[str]:
    mask = (
        (frame["depth"].to_numpy() == 0)
        & (frame["name"].astype(str).to_numpy() == "SequenceOfUltrasoundRegions")
        & frame["file"].isin(list(files)).to_numpy(bool)
    )
    return {str(f) for f in frame.loc[mask, "file"]}


def _label_block(
    signature: str,
    images: pd.DataFrame,
    rows: pd.DataFrame,
    values: pd.DataFrame,
    regions: set[str],
    *,
    pad: int,
    share: float,
    include_allowed: bool,
) -> str:
    n_images = len(images[["file", "frame"]].drop_duplicates())
    if not include_allowed:
        rows = rows[~rows["allowed"].astype(bool)]
    if not len(rows) or not n_images:
        return ""
    first = str(images["file"].iloc[0])
    known: dict[str, Any] = (
        {str(k): v for k, v in values.loc[first].items()}
        if first in values.index
        else {}
    )
    size = _image_size(known, images)
    boxes = [tuple(int(v) for v in b) for b in rows["box"]]
    image_keys = list(zip(rows["file"].astype(str), rows["frame"], strict=True))
    matches = rows["header_match"].tolist()
    proposed: list[tuple[int, int, Box, int, list[str]]] = []
    for members in _clusters(boxes):  # type: ignore[arg-type]
        seen = len({image_keys[i] for i in members})
        fields = sorted({m for i in members if isinstance(m := matches[i], str) and m})
        if not (seen / n_images > share or fields):
            continue
        x0 = max(0, min(boxes[i][0] for i in members) - pad)
        y0 = max(0, min(boxes[i][1] for i in members) - pad)
        x1 = max(boxes[i][2] for i in members) + pad
        y1 = max(boxes[i][3] for i in members) + pad
        if size is not None:
            x1, y1 = min(size[1], x1), min(size[0], y1)
        if x0 < x1 and y0 < y1:
            proposed.append((y0, x0, (x0, y0, x1, y1), seen, fields))
    if not proposed:
        return ""
    criteria = label_criteria({f: known.get(f) for f in SIGNATURE if f in known})
    if not criteria:
        return ""
    lines = [f"LABEL {_label_name(known, signature)}", f"  {criteria[0]}"]
    lines += [f"  + {c}" for c in criteria[1:]]
    for _, _, box, seen, fields in sorted(proposed):
        note = f"  # seen in {min(seen, n_images)} of {n_images} sampled images"
        if fields:
            note += "; shows " + ", ".join(fields)
        lines += [note, f"  coordinates {format_box(box)}"]
    is_ultrasound = str(known.get("Modality") or "").upper() == "US"
    if is_ultrasound and any(str(f) in regions for f in images["file"]):
        lines += [
            "  # the imaging regions of the ultrasound are kept",
            "  keepcoordinates from:SequenceOfUltrasoundRegions",
        ]
    return "\n".join(lines) + "\n"


def _image_size(known: dict[str, Any], images: pd.DataFrame) -> tuple[int, int] | None:
    if "rows" in images.columns and len(images):
        return int(images["rows"].iloc[0]), int(images["columns"].iloc[0])
    try:
        return int(known["Rows"]), int(known["Columns"])
    except (KeyError, TypeError, ValueError):
        return None


# -- verify ----------------------------------------------------------------------


def _paths(items: PathLike | Iterable[PathLike], caller: str) -> list[str]:
    paths = as_input_list(items, caller=caller)
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            out += [str(f) for f in iter_dicom_files([path])]
        else:
            out.append(os.fspath(path))
    return out


def verify(
    cleaned: PathLike | Iterable[PathLike],
    before: pd.DataFrame | PathLike | Iterable[PathLike],
    *,
    pairs: dict[str, str] | None = None,
    frames: str | int | Sequence[int] = "middle",
    engine: Engine = "rapidocr",
    allow: Iterable[str] | None = None,
    cache_dir: PathLike | None = None,
    progress: bool | None = None,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """Read the text left in cleaned copies; list what is not safe.

    Every cleaned file is read (no sampling). A text is a row when it shows
    a header value of the file it was made from, or when the allow-list
    does not say it is safe.

    Parameters
    ----------
    cleaned : path or iterable of paths
        The cleaned files or folders (:func:`~deidscope.pixels.clean`'s
        outputs).
    before : pandas.DataFrame, path or iterable of paths
        The originals: their identifier frame or their files and folders;
        each cleaned file is paired with its original by
        :func:`deidscope.audit.pair_files` (same relative path, then same
        name), or by `pairs`.
    pairs : dict, optional
        ``{cleaned_file: original_file}`` for pairs the rules cannot find.
    frames, engine, allow, cache_dir, progress, errors
        As for :func:`find_text`.

    Returns
    -------
    pandas.DataFrame
        One row per unsafe text, with the columns :data:`VERIFY_COLUMNS`:
        ``file`` (the cleaned file), ``original`` (its pair, or None) and
        find_text's columns; empty when nothing unsafe is left.
        ``result.attrs["checked"]`` is the number of cleaned files read,
        ``result.attrs["errors"]`` the files that failed.

    Raises
    ------
    MissingDependencyError
        Without the ``ocr`` extra.
    """
    from deidscope.audit import pair_files  # only verify needs it

    batch = BatchErrors("verify", errors, listed_in="result.attrs['errors']")
    choice = _check_frames(frames, caller="verify")
    pattern = _allow_pattern(allow, caller="verify")
    reader = _Reader(engine, cache_dir, "verify")
    after_files = _paths(cleaned, "verify")
    original = _frame_of(before, caller="verify", batch=batch)
    before_files = _files_in_order(original)
    paired = pair_files(before_files, after_files, pairs=pairs)
    triples = _file_triples(original, list(dict.fromkeys(paired.values())))
    rows: list[dict[str, Any]] = []
    checked = 0
    with progress_bar(len(after_files), progress, desc="verify") as bar:
        for file in after_files:
            found = _read_one(reader, file, choice, batch)
            bar.update(1)
            if found is None:
                continue
            checked += 1
            source = paired.get(file)
            values = triples.get(source, []) if source is not None else []
            if source is None:  # unpaired: its own header is all there is
                own = read_identifiers([file], errors="ignore", progress=False)
                values = _file_triples(own, [file]).get(file, [])
            matcher = HeaderMatcher(values)
            for row in _text_rows(file, "", found[2], matcher, pattern):
                if row["header_match"] is None and row["allowed"]:
                    continue
                row["original"] = source
                rows.append(row)
    result = _rows_frame(rows, VERIFY_COLUMNS)
    result.attrs["checked"] = checked
    result.attrs["errors"] = batch.finish(total=len(after_files))
    return result
