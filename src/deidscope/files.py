"""Finding DICOM files and reading their headers, one clear error per bad file.

:func:`iter_dicom_files` finds files as deid's ``get_files`` does, in a
stable order and without duplicates. :func:`read_dataset` reads a header for
``get_identifiers``: every element, including those stored after the pixel
data, while large values (pixel data above all) stay on disk until someone
asks for them. A file that cannot be read raises :class:`ReadError` naming
the file and the reason.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import uuid
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from pydicom import dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import DeflatedExplicitVRLittleEndian

from deidscope.errors import InputError, ReadError

__all__ = [
    "DEFER_SIZE",
    "PathLike",
    "atomic_output",
    "check_paths",
    "find_truncation",
    "iter_dicom_files",
    "read_checked",
    "read_dataset",
    "sniff_dicom",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

PathLike = str | os.PathLike[str]

#: Values longer than this many bytes are not read with the header; pixel
#: data, overlays and other large values stay on disk until asked for.
DEFER_SIZE = 4096

_ARCHIVE_EXTENSIONS = (".zip",)
# Groups a DICOM data set without a preamble can start with.
_FIRST_GROUPS = {0x0000, 0x0002, 0x0004, 0x0008}


def _as_path_list(paths: PathLike | Iterable[PathLike], caller: str) -> list[PathLike]:
    """One path or an iterable of paths, as a list (strings are one path)."""
    if isinstance(paths, str | os.PathLike):
        return [paths]
    if isinstance(cast(object, paths), bytes):  # Iterable, but of ints
        raise InputError(f"{caller}: expected str or os.PathLike paths, but got bytes")
    try:
        items = list(paths)
    except TypeError:
        raise InputError(
            f"{caller}: expected a path or an iterable of paths, "
            f"but got {type(paths).__name__}"
        ) from None
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise InputError(
                f"{caller}: expected str or os.PathLike paths, "
                f"but got {type(item).__name__} ({item!r})"
            )
    return items


def check_paths(paths: PathLike | Iterable[PathLike], *, caller: str) -> list[PathLike]:
    """Return `paths` as a list, raising before any work if one is missing.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files (or folders); a single path is accepted.
    caller : str
        The public function's name, for messages.

    Returns
    -------
    list of str or os.PathLike
        The paths, as given.

    Raises
    ------
    FileNotFoundError
        Naming the first path that does not exist.
    InputError
        If `paths` is not a path or an iterable of paths.
    """
    items = _as_path_list(paths, caller)
    for item in items:
        if not os.path.exists(item):
            raise FileNotFoundError(
                2, f"{caller}: no such file or folder", os.fspath(item)
            )
    return items


def sniff_dicom(path: PathLike) -> str | None:
    """Tell, from its first bytes only, why a file cannot be DICOM.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    str or None
        None if the file has the ``DICM`` marker at byte 128, or starts with
        a plausible DICOM element (a data set written without a preamble);
        otherwise the reason it is not DICOM.
    """
    try:
        with open(path, "rb") as fp:
            head = fp.read(132)
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return _open_error(exc)
    return _why_not_dicom(head)


def _open_error(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot be opened: {exc.strerror or exc}"


def _why_not_dicom(head: bytes) -> str | None:
    """Return why a file starting with `head` (132 bytes) is not DICOM, or None."""
    if not head:
        return "empty file (0 bytes)"
    if head[128:132] == b"DICM":
        return None
    if len(head) >= 8:
        for order in ("little", "big"):
            group = int.from_bytes(head[0:2], order)
            element = int.from_bytes(head[2:4], order)
            if group in _FIRST_GROUPS and element < 0x1000:
                return None
    if head[:4] == b"PK\x03\x04":
        return "a zip archive, not a DICOM file (unzip it first)"
    return (
        "not a DICOM file (no 'DICM' marker at byte 128, and it does not start "
        "with a DICOM element)"
    )


def iter_dicom_files(
    contenders: PathLike | Iterable[PathLike],
    *,
    check: bool = True,
    pattern: str | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> Iterator[str]:
    """Yield the files in files and folders, folders searched recursively.

    Folders are walked in sorted order, so the same tree always gives the
    same sequence; a file reached twice (a file and its folder, or
    overlapping folders) is yielded once. Zip archives are never opened:
    they are skipped and reported through `skipped`.

    Parameters
    ----------
    contenders : str, os.PathLike or iterable of them
        Files and folders.
    check : bool, optional
        Yield only files that look like DICOM (see :func:`sniff_dicom`);
        default True.
    pattern : str or None, optional
        A glob (``fnmatch``) pattern for file names found in folders, as in
        deid; None means every file. Files named directly are not filtered.
    skipped : list or None, optional
        If given, each file left out is appended as ``(path, reason)``.

    Yields
    ------
    str
        File paths: a file named directly as given, a file found in a
        folder as ``os.path.join(folder, ...)``.

    Raises
    ------
    FileNotFoundError
        If a contender does not exist (before anything is yielded).
    """
    items = check_paths(contenders, caller="get_files")
    seen: set[str] = set()

    def candidates() -> Iterator[str]:
        for item in items:
            path = os.fspath(item)
            if not os.path.isdir(path):
                yield path
                continue
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    if pattern is None or fnmatch.fnmatch(name, pattern):
                        yield os.path.join(root, name)

    for path in candidates():
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        reason: str | None = None
        if path.lower().endswith(_ARCHIVE_EXTENSIONS):
            reason = (
                "a zip archive: deidscope does not read inside archives; unzip it first"
            )
        elif check:
            reason = sniff_dicom(path)
        if reason is not None:
            logger.info("get_files: skipping %s: %s", path, reason)
            if skipped is not None:
                skipped.append((path, reason))
            continue
        yield path


def read_dataset(path: PathLike, *, defer_size: int | None = DEFER_SIZE) -> FileDataset:
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
    return _read(path, defer_size)[0]


def read_checked(
    path: PathLike, *, defer_size: int | None = DEFER_SIZE
) -> tuple[FileDataset, str | None]:
    """Read a header as :func:`read_dataset` does, and tell if the file ends early.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    defer_size : int or None, optional
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
    ds, messages = _read(path, defer_size)
    return ds, find_truncation(path, ds, messages=messages)


_EOF_MESSAGE = "End of file reached before delimiter"
_CUT_IN_PIXELS = "deidscope: the file ends in its pixel data; header read again"


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04x}, {tag & 0xFFFF:04x})"


def _read(path: PathLike, defer_size: int | None) -> tuple[FileDataset, list[str]]:
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
        raise ReadError(path, _open_error(exc)) from None
    with fp:  # one open for the sniff and the read
        reason = _why_not_dicom(fp.read(132))
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


@contextlib.contextmanager
def atomic_output(
    path: PathLike, *, overwrite: bool = True, caller: str = "write"
) -> Iterator[Path]:
    """Yield a temporary name beside `path`; move it to `path` if all goes well.

    Every output deidscope writes goes through here: the file is written
    under a hidden temporary name in the same folder (keeping the suffix,
    for writers that look at it) and renamed into place only when the block
    finishes without error, so a reader never sees half a file and a failed
    write leaves nothing behind.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.
    overwrite : bool, optional
        Replace `path` if it exists when the work is done (default True).
        When False, a file that appeared meanwhile is never replaced: the
        temporary file is hard-linked into place, which fails if `path`
        exists.
    caller : str, optional
        The public function's name, for messages.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    FileExistsError
        If `overwrite` is False and `path` exists when the block ends.
    InputError
        If the block wrote nothing to the temporary path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['out.txt'])
    """
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise InputError(f"{caller}: nothing was written to {os.fspath(final)}")
        if overwrite:
            os.replace(tmp, final)
            return
        exists = f"{caller}: the output exists (pass overwrite)"
        try:  # a link never replaces a file that appeared meanwhile
            os.link(tmp, final)
        except FileExistsError:
            raise FileExistsError(17, exists, os.fspath(final)) from None
        except OSError:  # no hard links on this file system: check, then rename
            if final.exists():
                raise FileExistsError(17, exists, os.fspath(final)) from None
            os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
