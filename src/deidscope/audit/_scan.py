"""Search the bytes of written files for the identifying values of their originals.

The frame of a file shows what pydicom reads as elements; a byte scan also
sees the 128-byte preamble, long binary values (the frame shows
``<N bytes>``), values a reader would not decode, and anything after the last
element. :func:`scan_files` searches the raw bytes of each written file for
every identifying value of the file it came from (see
:func:`~deidscope.audit.leaks` for what is identifying), in these forms:

- text: as the value is (UTF-8, and Latin-1 where it differs), in upper case
  and in lower case, with a person name's ``^`` written as a space, and each
  of those in UTF-16LE;
- the words of a person name, as they are and in upper case;
- bytes (values the frame shows as ``<N bytes>``, read from the original
  file): the value's bytes; a value over 1 KiB is looked for by its first
  KiB and then compared whole;
- the printable text of the original's preamble (runs of at least
  `min_bytes` characters).

A form shorter than `min_bytes` bytes is not looked for (too short to tell
from chance in pixel data). Pixel data the de-identification left byte for
byte as it was is searched only where encapsulated frames keep their
metadata (the first 64 KiB of each item), unless ``full_pixels=True``: a
header value in native samples would be chance, and reading every sample of
every file would make the scan slower than the de-identification itself.

A value of kind ``profile``, ``private``, ``meta`` or ``uid`` is not looked
for when it also appears in a non-identifying element of the original
(``ORIGINAL`` in both a private element and ImageType, say): finding it then
says nothing.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pydicom
from pydicom.dataset import Dataset

from deidscope.audit._identifying import (
    BINARY,
    checked_kinds,
    identifying,
    is_dummy,
    leak_frame,
    path_tags,
)
from deidscope.audit._pairs import files_of, pair_files
from deidscope.errors import InputError
from deidscope.files import PathLike, check_paths

__all__ = ["SCAN_COLUMNS", "binary_values", "raw_values", "scan_bytes", "scan_files"]

logger = logging.getLogger(__name__)

#: The columns of :func:`scan_files`.
SCAN_COLUMNS: tuple[str, ...] = (
    "file",
    "offset",
    "where",
    "form",
    "source_file",
    "source_uid",
    "source_name",
    "source_value",
    "kind",
)

_HEAD = 1024  # bytes of a long binary value looked for
#: Of pixel data the original's byte for byte, the bytes of each encapsulated
#: item searched (unless ``full_pixels=True``).
PIXEL_HEAD = 65536
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]+")
_BACKGROUND_KINDS = frozenset({"profile", "private", "meta", "uid"})

try:  # a C automaton finds every needle in one pass; without it, one pass each
    import ahocorasick as _aho  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - the fallback is tested by monkeypatch
    _aho = None


def _encodings(text: str) -> list[tuple[bytes, str]]:
    out: list[tuple[bytes, str]] = [(text.encode("utf-8"), "utf-8")]
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        latin = b""
    if latin and latin != out[0][0]:
        out.append((latin, "latin-1"))
    out.append((text.encode("utf-16-le"), "utf-16le"))
    return out


def _text_forms(value: str, *, part: bool) -> list[tuple[bytes, str]]:
    """List the byte forms of an identifying text value, with a label each."""
    variants = {value: "as is", value.upper(): "upper case"}
    if not part:
        variants.setdefault(value.lower(), "lower case")
        if "^" in value:
            spaced = " ".join(p for p in value.split("^") if p)
            variants.setdefault(spaced, "^ as space")
            variants.setdefault(spaced.upper(), "^ as space, upper case")
    forms = []
    for text, label in variants.items():
        for data, encoding in _encodings(text):
            if part and encoding == "utf-16le":
                continue
            forms.append((data, f"{label}, {encoding}"))
    return forms


def _meta_end(data: bytes) -> int:
    """Where the file meta ends (0 when the file has no ``DICM`` preamble)."""
    if data[128:132] != b"DICM":
        return 0
    offset = 132
    while offset + 8 <= len(data):
        group, _element = struct.unpack_from("<HH", data, offset)
        if group != 0x0002:
            break
        vr = data[offset + 4 : offset + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL"):
            (length,) = struct.unpack_from("<L", data, offset + 8)
            offset += 12 + length
        else:
            (length,) = struct.unpack_from("<H", data, offset + 6)
            offset += 8 + length
    return offset


def _where(offset: int, meta_end: int) -> str:
    if meta_end and offset < 128:
        return "preamble"
    if offset < meta_end:
        return "file meta"
    return "dataset"


def _navigate(ds: Dataset, uid: str) -> Any:
    """Find the element a frame uid names, or None."""
    parts = uid.split("__")
    current: Any = ds
    for position in range(0, len(parts), 2):
        tags = path_tags(parts[position])
        tag = tags[0]
        if tag == -1 or current is None:
            return None
        if tag >> 16 == 0x0002 and position == 0:
            current = getattr(ds, "file_meta", None)
            if current is None:
                return None
        if tag not in current:
            return None
        element = current[tag]
        if position + 1 >= len(parts):
            return element
        try:
            current = element.value[int(parts[position + 1])]
        except (IndexError, ValueError, TypeError):
            return None
    return None


def binary_values(path: str, uids: Iterable[str]) -> dict[str, bytes]:
    """Read the bytes of the elements `uids` of one file (those it can find)."""
    wanted = list(dict.fromkeys(uids))
    if not wanted:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True, defer_size=1024)
    except Exception as exc:  # a file that cannot be read: nothing to compare
        logger.info("binary values: cannot read %s: %s", path, exc)
        return {}
    found: dict[str, bytes] = {}
    for uid in wanted:
        try:
            element = _navigate(ds, uid)
            value = None if element is None else element.value
        except Exception:  # a deferred value that cannot be read
            value = None
        if isinstance(value, bytes | bytearray):
            found[uid] = bytes(value)
    return found


def _fragments_end(data: bytes, offset: int) -> int:
    """Return the offset after the delimiter of encapsulated pixel data."""
    while offset + 8 <= len(data):
        group, element, length = struct.unpack_from("<HHL", data, offset)
        offset += 8
        if (group, element) == (0xFFFE, 0xE0DD):
            return offset
        if (group, element) != (0xFFFE, 0xE000) or length == 0xFFFFFFFF:
            break
        offset += length
    return len(data)


def raw_values(
    path: str, uids: Iterable[str], data: bytes | None = None
) -> dict[str, bytes]:
    """Read the bytes of the elements `uids` of one file (those it can find).

    The quick reader (:mod:`deidscope.files._quick`) finds where each value
    lies, and the bytes are read from `data` (the file's bytes, read here if
    not given); a file it cannot read goes to pydicom
    (:func:`binary_values`). Encapsulated pixel data gives its items, from
    the first item tag to the sequence delimiter.
    """
    from deidscope.files._quick import read_raw_file

    wanted = list(dict.fromkeys(uids))
    if not wanted:
        return {}
    try:
        ds = read_raw_file(path)
    except Exception:
        ds = None
    if ds is None:
        return binary_values(path, wanted)
    if data is None:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return {}
    raw: bytes = data
    found: dict[str, bytes] = {}
    for uid in wanted:
        parts = uid.split("__")
        current: Any = ds
        element: Any = None
        for position in range(0, len(parts), 2):
            tag = path_tags(parts[position])[0]
            if tag == -1 or current is None:
                element = None
                break
            if tag >> 16 == 0x0002 and position == 0:
                current = getattr(ds, "file_meta", None)
                if current is None:
                    break
            element = current.get_item(tag)
            if element is None or position + 1 >= len(parts):
                break
            items: Any = getattr(element, "value", None)
            try:
                current = items[int(parts[position + 1])]
            except (IndexError, ValueError, TypeError):
                element = None
                break
        if element is None:
            continue
        value = element.value
        if isinstance(value, bytes | bytearray):
            found[uid] = bytes(value)
        elif value is None and getattr(element, "value_tell", None) is not None:
            start, length = int(element.value_tell), int(element.length)
            end = (
                _fragments_end(data, start) if length == 0xFFFFFFFF else start + length
            )
            found[uid] = raw[start:end]
    return found


def binary_label(data: bytes) -> str:
    """``<N bytes>``, with the printable text it holds (runs of 8 or more)."""
    runs = [r.decode("ascii") for r in _PRINTABLE_RUN.findall(data) if len(r) >= 8]
    if not runs:
        return f"<{len(data)} bytes>"
    text = " ".join(runs)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"<{len(data)} bytes: {text}>"


class _Needles:
    """The byte forms of one original's identifying values."""

    def __init__(self) -> None:
        self.forms: dict[bytes, tuple[int, str]] = {}
        self.sources: list[tuple[str, str, str, str, bytes | None]] = []

    def add_source(
        self, uid: str, name: str, value: str, kind: str, whole: bytes | None = None
    ) -> int:
        self.sources.append((uid, name, value, kind, whole))
        return len(self.sources) - 1

    def add(self, data: bytes, source: int, form: str) -> None:
        self.forms.setdefault(data, (source, form))


def _needles(
    sources: pd.DataFrame,
    source_file: str,
    background: str,
    min_bytes: int,
) -> _Needles:
    needles = _Needles()
    binary_uids = sources.loc[sources["binary"], "uid"].tolist()
    raw = raw_values(source_file, binary_uids) if binary_uids else {}
    for uid, name, value, kind, part, binary in zip(
        sources["uid"],
        sources["name"],
        sources["value"],
        sources["kind"],
        sources["part"],
        sources["binary"],
        strict=True,
    ):
        if binary:
            data = raw.get(uid)
            if data is None or len(data) < min_bytes or len(set(data[:_HEAD])) < 4:
                continue
            source = needles.add_source(uid, name, binary_label(data), kind, data)
            needles.add(data[:_HEAD], source, "bytes")
            continue
        if kind in _BACKGROUND_KINDS and (
            value.casefold() in background or is_dummy(value)
        ):
            continue
        source = needles.add_source(uid, name, value, kind)
        for data, form in _text_forms(value, part=bool(part)):
            if len(data) >= min_bytes:
                needles.add(data, source, form)
    try:
        with open(source_file, "rb") as handle:
            head = handle.read(132)
    except OSError:
        head = b""
    if head[128:132] == b"DICM":
        for run in _PRINTABLE_RUN.findall(head[:128]):
            text = run.strip().decode("ascii")
            if len(text) >= min_bytes and len(set(text)) > 1:
                source = needles.add_source("", "preamble", text, "preamble")
                needles.add(text.encode("ascii"), source, "as is, preamble")
    return needles


def _find(
    data: bytes, needles: _Needles, segments: list[tuple[int, int]] | None = None
) -> list[tuple[int, int, bytes]]:
    """Return (start, end, needle) of every needle in `data` (or its segments)."""
    hits: list[tuple[int, int, bytes]] = []
    if not needles.forms:
        return hits
    spans = [(0, len(data))] if segments is None else segments
    if _aho is not None:
        automaton = _aho.Automaton()
        for needle in needles.forms:
            automaton.add_word(needle.decode("latin-1"), needle)
        automaton.make_automaton()
        for base, stop in spans:
            text = data[base:stop].decode("latin-1")
            for end, needle in automaton.iter(text):
                hits.append((base + end - len(needle) + 1, base + end + 1, needle))
        return hits
    for base, stop in spans:
        for needle in needles.forms:
            start = data.find(needle, base, stop)
            while start != -1:
                hits.append((start, start + len(needle), needle))
                start = data.find(needle, start + 1, stop)
    return hits


def _pixel_segments(
    path: str, data: bytes, source_file: str
) -> list[tuple[int, int]] | None:
    """List the parts of a written file to search, given its pixel data.

    None (search everything) unless the pixel data is byte for byte the
    original's; then everything but the pixel data, and of encapsulated
    pixel data the first :data:`PIXEL_HEAD` bytes of each item (where JPEG
    and JPEG 2000 code streams keep their comments and metadata).
    """
    from deidscope.files._quick import read_raw_file

    try:
        ds = read_raw_file(path)
    except Exception:
        return None
    element: Any = None if ds is None else ds.get_item(0x7FE00010)
    if element is None or element.value is not None:
        return None
    if getattr(element, "value_tell", None) is None:
        return None
    start, length = int(element.value_tell), int(element.length)
    undefined = length == 0xFFFFFFFF
    end = _fragments_end(data, start) if undefined else start + length
    original = raw_values(source_file, ["(7fe0, 0010)"]).get("(7fe0, 0010)")
    if original is None or original != data[start:end]:
        return None
    segments = [(0, start)]
    if undefined:
        offset = start
        while offset + 8 <= end:
            group, elem, item_length = struct.unpack_from("<HHL", data, offset)
            if (group, elem) != (0xFFFE, 0xE000) or item_length == 0xFFFFFFFF:
                break
            segments.append(
                (offset, min(offset + 8 + item_length, offset + 8 + PIXEL_HEAD))
            )
            offset += 8 + item_length
    segments.append((end, len(data)))
    return segments


def scan_bytes(
    path: str,
    needles: _Needles,
    source_file: str,
    *,
    full_pixels: bool = False,
) -> list[tuple[Any, ...]]:
    """Search one written file; return rows of :data:`SCAN_COLUMNS`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        logger.info("scan_files: cannot read %s: %s", path, exc)
        return []
    segments = None
    if not full_pixels and needles.forms:
        segments = _pixel_segments(path, data, source_file)
    hits = _find(data, needles, segments)
    if not hits:
        return []
    meta_end = _meta_end(data)
    # the longest match at each place; nothing inside a longer match
    hits.sort(key=lambda hit: (hit[0], -hit[1]))
    rows: list[tuple[Any, ...]] = []
    reach = -1
    for start, end, needle in hits:
        if end <= reach:
            continue
        source, form = needles.forms[needle]
        uid, name, value, kind, whole = needles.sources[source]
        if whole is not None and len(whole) > len(needle):
            if data[start : start + len(whole)] != whole:
                continue  # only its first KiB: not the value
            end = start + len(whole)
        reach = max(reach, end)
        rows.append(
            (
                path,
                start,
                _where(start, meta_end),
                form,
                source_file,
                uid,
                name,
                value,
                kind,
            )
        )
    return rows


def backgrounds(before: pd.DataFrame, sources: pd.DataFrame) -> dict[str, str]:
    """Per file, the casefolded text of its non-identifying values."""
    flagged = set(
        zip(
            sources["file"].to_numpy(dtype=object),
            sources["uid"].to_numpy(dtype=object),
            strict=True,
        )
    )
    files = before["file"].astype(str).to_numpy(dtype=object)
    uids = before["uid"].astype(str).to_numpy(dtype=object)
    values = before["value"].astype(str).fillna("").to_numpy(dtype=object)
    keep = np.array(
        [(f, u) not in flagged for f, u in zip(files, uids, strict=True)], dtype=bool
    )
    out: dict[str, list[str]] = {}
    for f, v in zip(files[keep], values[keep], strict=True):
        if v and not BINARY.match(v):
            out.setdefault(f, []).append(v)
    return {f: "\x00".join(v).casefold() for f, v in out.items()}


def scan(
    paths: list[str],
    before: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    pairs: Mapping[str, str] | None,
    min_bytes: int,
    full_pixels: bool = False,
) -> pd.DataFrame:
    """Implement :func:`scan_files` on checked arguments."""
    paired = pair_files(files_of(before), paths, pairs=pairs)
    found = backgrounds(before, sources)
    by_file = dict(list(sources.groupby("file", sort=False)))
    empty = sources.iloc[0:0]
    rows: list[tuple[Any, ...]] = []
    for path in paths:
        source_file = paired.get(path)
        if source_file is None:
            logger.info("scan_files: %s has no original in the frame", path)
            continue
        needles = _needles(
            by_file.get(source_file, empty),
            source_file,
            found.get(source_file, ""),
            min_bytes,
        )
        rows += scan_bytes(path, needles, source_file, full_pixels=full_pixels)
    out = pd.DataFrame(rows, columns=list(SCAN_COLUMNS))
    return out.astype({"offset": np.int64})


def scan_files(
    paths: PathLike | Iterable[PathLike],
    before_df: pd.DataFrame,
    *,
    kinds: Iterable[str] | None = None,
    options: Iterable[str] = (),
    pairs: Mapping[str, str] | None = None,
    min_bytes: int = 6,
    full_pixels: bool = False,
) -> pd.DataFrame:
    """Search the raw bytes of written files for their originals' identifiers.

    Each written file is paired with the file of `before_df` it came from
    (see :func:`~deidscope.audit.pair_files`), and its bytes, all of them
    (preamble, file meta, long binary values, pixel data, anything after the
    last element), are searched for every identifying value of that
    original, in the forms the module documentation lists.

    Parameters
    ----------
    paths : path or iterable of paths
        The written files.
    before_df : pandas.DataFrame
        The frame of :func:`deidscope.read_identifiers` of the originals
        (their files must still be readable for binary values and the
        preamble).
    kinds : iterable of str or None, optional
        Which kinds of identifying values to look for: those of
        :data:`~deidscope.audit.LEAK_KINDS` (the default) and any of
        :data:`~deidscope.audit.KINDS`.
    options : iterable of str, optional
        The PS3.15 options the de-identification used
        (:data:`deidscope.ps315.OPTIONS`): what they keep is not identifying.
    pairs : mapping or None, optional
        ``{written_file: original_file}`` where paths alone cannot pair them.
    min_bytes : int, optional
        The shortest form, in bytes, looked for (default 6).
    full_pixels : bool, optional
        Search pixel data that is byte for byte the original's in full. By
        default such pixel data (left alone by the de-identification) is
        searched only in the first :data:`PIXEL_HEAD` bytes of each
        encapsulated item, where JPEG and JPEG 2000 keep comments and
        metadata; native samples are not searched. Pixel data that differs
        from the original's is always searched in full.

    Returns
    -------
    pandas.DataFrame
        One row per occurrence (the longest form at each place), with the
        columns of :data:`SCAN_COLUMNS`: the written ``file``, the byte
        ``offset``, ``where`` (``preamble``, ``file meta`` or ``dataset``),
        the ``form`` found (``as is, utf-8``, ``upper case, utf-16le``,
        ``bytes``...), and the value's origin (``source_file``,
        ``source_uid``, ``source_name``, ``source_value``; a binary value's
        is ``<N bytes: the text it holds>``) and ``kind``.

    Raises
    ------
    InputError
        If `before_df` is not an identifier frame, a path is missing, or a
        kind or option is unknown.
    """
    before = leak_frame(before_df, caller="scan_files", side="before")
    chosen_kinds, chosen_options = checked_kinds(kinds, options, caller="scan_files")
    checked = [os.fspath(p) for p in check_paths(paths, caller="scan_files")]
    if isinstance(min_bytes, bool) or not isinstance(min_bytes, int) or min_bytes < 1:
        raise InputError(
            f"scan_files: min_bytes must be a positive int, got {min_bytes!r}"
        )
    sources = identifying(before, chosen_kinds, chosen_options)
    return scan(
        checked,
        before,
        sources,
        pairs=pairs,
        min_bytes=min_bytes,
        full_pixels=full_pixels,
    )
