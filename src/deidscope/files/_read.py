"""Reading a header with pydicom, and telling whether the file ends early.

:func:`read_dataset` reads a header for ``get_identifiers``: every element,
including those stored after the pixel data, while large values (pixel data
above all) stay on disk until someone asks for them. A file that cannot be
read raises :class:`ReadError` naming the file and the reason;
:func:`find_truncation` tells whether a file that did read is cut short.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from typing import Any, BinaryIO

from pydicom import dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import DeflatedExplicitVRLittleEndian

from deidscope.errors import ReadError
from deidscope.files._discover import PathLike, open_error, why_not_dicom

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
    return ds, find_truncation(path, ds, messages=messages)


_EOF_MESSAGE = "End of file reached before delimiter"
_CUT_IN_PIXELS = "deidscope: the file ends in its pixel data; header read again"


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04x}, {tag & 0xFFFF:04x})"


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
        fp.seek(0)
        ds, messages = _dcmread(path, fp, defer_size=defer_size)
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
    for message in messages:
        logger.debug("%s: %s", os.fspath(path), message)
    if len(ds) == 0 and len(getattr(ds, "file_meta", ())) == 0:
        raise ReadError(path, "not a DICOM file (no data elements could be read)")
    return ds, messages


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
        except Exception as exc:  # pydicom raises many kinds on corrupt input
            raise ReadError(
                path, f"cannot be parsed: {type(exc).__name__}: {exc}"
            ) from None
    return ds, [str(warning.message) for warning in caught]


def find_truncation(
    path: PathLike, ds: FileDataset, *, messages: Iterable[str] = ()
) -> str | None:
    """Tell whether a dataset read by :func:`read_dataset` ends early.

    pydicom reads what a truncated file holds without complaint. This checks
    that no value of the file meta or the top-level data set runs past the
    end of the file or comes up short, that no stray bytes (a cut element
    header) follow the last element, that a data set follows the file meta,
    and that pydicom did not reach the end of the file inside an element of
    undefined length (its `messages` say so).

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
        The reason, naming the first element cut short, or None if the file
        is whole. A deflated data set is checked against its inflated size.
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
    size = os.path.getsize(path)
    meta = getattr(ds, "file_meta", None)
    inflated = (
        getattr(meta, "TransferSyntaxUID", None) == DeflatedExplicitVRLittleEndian
    )
    if inflated:
        buffer = getattr(ds, "buffer", None)
        if buffer is None or not hasattr(buffer, "getbuffer"):
            return None
        size = len(buffer.getbuffer())
    last_end = 0
    datasets = [ds] if meta is None or inflated else [meta, ds]
    for dataset in datasets:
        for key, stored in dataset.items():  # as stored: raw, maybe deferred
            raw: DataElement | RawDataElement = stored
            if not isinstance(raw, RawDataElement) or raw.length == 0xFFFFFFFF:
                last_end = -1  # an undefined length: its end is not known here
                continue
            end = raw.value_tell + raw.length
            short = raw.value is not None and len(raw.value) < raw.length
            if end > size or short:
                return (
                    f"truncated: element {_tag_text(key)} "
                    f"needs {raw.length} bytes from offset {raw.value_tell}, but "
                    f"the file ends at {size} bytes"
                )
            if dataset is ds and last_end >= 0:
                last_end = max(last_end, end)
    if last_end > 0 and 0 < size - last_end < 8:
        return (
            f"truncated: {size - last_end} stray bytes after the last element "
            f"(offset {last_end}): an element header cut short"
        )
    return None
