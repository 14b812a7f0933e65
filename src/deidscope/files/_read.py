"""Reading a header with pydicom, and telling whether the file ends early.

:func:`read_dataset` reads a header for ``get_identifiers``: every element,
including those stored after the pixel data, while large values (pixel data
above all) stay on disk until someone asks for them. A file that cannot be
read raises :class:`ReadError` naming the file and the reason;
:func:`find_truncation` tells whether a file that did read is cut short.
"""

from __future__ import annotations

import logging
import mmap
import os
import warnings
from collections.abc import Iterable
from typing import Any, BinaryIO

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from deidscope.errors import ReadError
from deidscope.files._discover import PathLike, open_error, why_not_dicom
from deidscope.files._scan import data_set_start, find_damage, inflate, too_deep

__all__ = [
    "DEFER_SIZE",
    "find_truncation",
    "read_checked",
    "read_dataset",
]

logger = logging.getLogger("deidscope.files")

#: Values longer than this many bytes are not read with the header; pixel
#: data, overlays and other large values stay on disk until asked for.
DEFER_SIZE = 4096


def read_dataset(
    path: PathLike, *, defer_size: int | None = DEFER_SIZE, force: bool = True
) -> FileDataset:
    """Read a DICOM file's header, leaving large values on disk.

    Every element is read, also those stored after the pixel data (trailing
    padding, digital signatures), but any value longer than `defer_size`
    bytes (pixel data above all) is skipped over and only read if asked
    for. pydicom's warnings about invalid values are logged at DEBUG level,
    not raised.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    defer_size : int or None, optional
        Values longer than this are read lazily (default :data:`DEFER_SIZE`);
        None reads everything.
    force : bool, optional
        Also read a file without the ``DICM`` marker at byte 128 that starts
        with a DICOM element (a data set written without preamble and file
        meta), as deid's ``force`` does (default True); False refuses it.

    Returns
    -------
    pydicom.dataset.FileDataset
        The dataset, with raw (unconverted) elements.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ReadError
        If the file is empty, not DICOM or cannot be parsed; the message
        names the file and the reason. A file cut short after its header
        reads; :func:`find_truncation` tells.
    """
    return _read(path, defer_size, force)[0]


def read_checked(
    path: PathLike, *, defer_size: int | None = DEFER_SIZE, force: bool = True
) -> tuple[FileDataset, str | None]:
    """Read a header as :func:`read_dataset` does, and tell if the file ends early.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    defer_size, force : optional
        As for :func:`read_dataset`.

    Returns
    -------
    tuple of (pydicom.dataset.FileDataset, str or None)
        The dataset, and the reason the file is truncated (None if whole):
        what was read is kept, so a file cut in its pixel data still gives
        its header.

    Raises
    ------
    FileNotFoundError, ReadError
        As :func:`read_dataset`.
    """
    ds, messages = _read(path, defer_size, force)
    reason = find_truncation(path, ds, messages=messages)
    if reason == too_deep():
        raise ReadError(path, reason)  # as the quick reader refuses it
    return ds, reason


_EOF_MESSAGE = "End of file reached before delimiter"
_CUT_IN_PIXELS = "deidscope: the file ends in its pixel data; header read again"


def _read(
    path: PathLike, defer_size: int | None, force: bool = True
) -> tuple[FileDataset, list[str]]:
    """Read `path`; return the dataset and pydicom's warning messages.

    pydicom drops the whole data set when the file ends inside encapsulated
    pixel data; the header is then read again, stopping before the pixels,
    and a message saying so is added.
    """
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below, after pydicom reads
    except FileNotFoundError:
        raise FileNotFoundError(
            2, "read_dataset: no such file", os.fspath(path)
        ) from None
    except OSError as exc:
        raise ReadError(path, open_error(exc)) from None
    with fp:  # one open for the sniff and the read
        head = fp.read(132)
        reason = why_not_dicom(head, os.fstat(fp.fileno()).st_size)
        if reason is None and not force and head[128:132] != b"DICM":
            reason = "no DICM marker at byte 128 (pass force=True to read it)"
        if reason is not None:
            raise ReadError(path, reason)
        _check_inflated_size(path, fp)
        fp.seek(0)
        try:
            ds, messages = _dcmread(path, fp, defer_size=defer_size)
        except RecursionError:
            raise ReadError(path, _why_too_deep(fp)) from None
        if any(message.startswith(_EOF_MESSAGE) for message in messages):
            fp.seek(0)
            header, again = _dcmread(
                path, fp, defer_size=defer_size, stop_before_pixels=True
            )
            if len(header) > len(ds) and not any(
                m.startswith(_EOF_MESSAGE) for m in again
            ):
                ds = header
                messages.append(_CUT_IN_PIXELS)
        _clip_to_file(ds, fp)
    for message in messages:
        logger.debug("%s: %s", os.fspath(path), message)
    if len(ds) == 0 and len(getattr(ds, "file_meta", ())) == 0:
        raise ReadError(path, "not a DICOM file (no data elements could be read)")
    tags = ds.keys()  # iterating ds itself would convert every element
    if tags and all(tag >> 16 == 0 for tag in tags):
        # (0000, eeee) belongs to network messages, never to a file's data
        # set: what pydicom read here is zero bytes or noise (force=True)
        raise ReadError(
            path,
            "not a DICOM file (no data element: only command-group (0000) "
            "bytes, such as zeros)",
        )
    return ds, messages


def _why_too_deep(fp: BinaryIO) -> str:
    """Say why pydicom ran out of stack: items nested past MAX_DEPTH, if so."""
    with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        size = len(buf)
        layout = data_set_start(buf, size)
        if layout is not None:
            start, syntax = layout
            uid = _syntax_of(syntax)
            if syntax and uid.is_transfer_syntax and not uid.is_deflated:
                implicit, little = uid.is_implicit_VR, uid.is_little_endian
            else:  # no file meta: pydicom's guess, from the first VR
                implicit = not (b"AA" <= buf[start + 4 : start + 6] <= b"ZZ")
                little = True
            reason = find_damage(buf, start, size, implicit=implicit, little=little)
            if reason == too_deep():
                return reason
    return "cannot be parsed: sequences nested too deeply for pydicom"


def _clip_to_file(ds: FileDataset, fp: BinaryIO) -> None:
    """Cut every top-level value that runs past the end of the file to what is there.

    A declared length is a claim, not a size: pydicom would read a deferred
    value by asking for its whole declared length (a buffer of that size,
    gigabytes from four damaged bytes). Such an element gets the bytes the
    file holds and their length instead, so no reader, now or later,
    allocates past the file's size, and both readers show the same value.
    The file is listed as truncated by :func:`find_truncation`.
    """
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None)
    if syntax == DeflatedExplicitVRLittleEndian:
        return  # offsets are in the inflated data set, held in memory
    size = os.fstat(fp.fileno()).st_size
    for dataset in (ds, meta):
        if dataset is None:
            continue
        for key, stored in list(dataset.items()):
            if not isinstance(stored, RawDataElement):
                continue
            length = stored.length
            if length == 0xFFFFFFFF:
                continue
            past_end = stored.value_tell + length > size
            short = stored.value is not None and len(stored.value) < length
            if not (past_end or short):
                continue
            fp.seek(stored.value_tell)
            value = fp.read(max(0, min(length, size - stored.value_tell)))
            dataset._dict[key] = stored._replace(value=value, length=len(value))


def _syntax_of(raw: bytes) -> UID:
    return UID(raw.decode("ascii", "replace"))


def _check_inflated_size(path: PathLike, fp: BinaryIO) -> None:
    """Refuse a deflated data set that would inflate past INFLATE_LIMIT."""
    size = os.fstat(fp.fileno()).st_size
    with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        layout = data_set_start(buf, size)
        if layout is None or _syntax_of(layout[1]) != DeflatedExplicitVRLittleEndian:
            return
        try:
            inflate(buf[layout[0] :])
        except ValueError as exc:
            raise ReadError(path, str(exc)) from None


def _dcmread(
    path: PathLike, fp: BinaryIO, **kwargs: Any
) -> tuple[FileDataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(fp, force=True, **kwargs)
        except InvalidDicomError as exc:
            raise ReadError(path, f"not a valid DICOM file: {exc}") from None
        except EOFError as exc:
            raise ReadError(path, f"truncated: {exc}") from None
        except RecursionError:
            raise  # _read says why
        except Exception as exc:  # pydicom raises many kinds on corrupt input
            raise ReadError(
                path, f"cannot be parsed: {type(exc).__name__}: {exc}"
            ) from None
    return ds, [str(warning.message) for warning in caught]


def find_truncation(
    path: PathLike, ds: FileDataset, *, messages: Iterable[str] = ()
) -> str | None:
    """Tell whether a dataset read by :func:`read_dataset` ends early.

    pydicom reads what a truncated file holds without complaint. This walks
    the file's element headers again, from the end of the file meta to the
    end of the file, in the encoding pydicom used (a deflated data set is
    inflated, up to :data:`~deidscope.files._scan.INFLATE_LIMIT`), without
    reading values and without recursion
    (:func:`~deidscope.files._scan.find_damage`): a value that runs past
    the end, stray bytes too few for an element header, or an undefined
    length never closed is reported. A file with file meta but no data set,
    and pydicom's own warnings about the end of the file (its `messages`),
    are reported too.

    Parameters
    ----------
    path : str or os.PathLike
        The file `ds` was read from.
    ds : pydicom.dataset.FileDataset
        The dataset, as :func:`read_dataset` returned it.
    messages : iterable of str, optional
        pydicom's warnings while reading (:func:`read_checked` passes them).

    Returns
    -------
    str or None
        The reason, naming the element or offset where the file ends, or
        None if the file is whole.
    """
    messages = list(messages)
    if _CUT_IN_PIXELS in messages:
        return (
            "truncated: the file ends inside the pixel data (7fe0, 0010); "
            "the header before it was read"
        )
    if any(message.startswith(_EOF_MESSAGE) for message in messages):
        return (
            "truncated: the file ends inside an element of undefined length "
            "(encapsulated pixel data or a sequence)"
        )
    if len(ds) == 0:
        return "truncated: no data set after the file meta information"
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size == 0:
                return "truncated: the file is empty"
            with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _damage(buf, size, ds)
    except (OSError, ValueError) as exc:
        return f"cannot be checked for truncation: {type(exc).__name__}: {exc}"


def _damage(buf: mmap.mmap, size: int, ds: FileDataset) -> str | None:
    layout = data_set_start(buf, size)
    if layout is None:
        return None  # a file meta pydicom read its own way: nothing claimed
    start, syntax = layout
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if _syntax_of(syntax) == DeflatedExplicitVRLittleEndian:
        # bytes after the deflate stream are not claimed: some writers leave
        # a checksum there (pydicom's own deflated test file has 8)
        data, _ = inflate(buf[start:])
        return find_damage(data, 0, len(data), implicit=False, little=True)
    if implicit is None or little is None:
        return None
    return find_damage(buf, start, size, implicit=implicit, little=little)
