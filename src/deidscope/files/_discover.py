"""Finding DICOM files: paths checked before any work, folders walked in order.

:func:`iter_dicom_files` finds files as deid's ``get_files`` does, in a
stable order and without duplicates; :func:`sniff_dicom` tells from a file's
first bytes why it cannot be DICOM.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from typing import Any, cast

from pydicom.datadict import dictionary_has_tag
from pydicom.valuerep import VR

from deidscope.errors import InputError

__all__ = [
    "PathLike",
    "as_input_list",
    "check_paths",
    "expand_paths",
    "iter_dicom_files",
    "list_paths",
    "not_a_regular_file",
    "open_error",
    "shown_path",
    "sniff_dicom",
    "why_not_dicom",
]

logger = logging.getLogger("deidscope.files")

#: A path as the public functions accept it.
PathLike = str | os.PathLike[str]

_ARCHIVE_EXTENSIONS = (".zip",)
#: The two-letter VRs, as bytes (an explicit VR element's bytes 4-5).
_VR_BYTES = frozenset(vr.value.encode("ascii") for vr in VR if len(vr.value) == 2)
# Groups a DICOM data set without a preamble can start with.
_FIRST_GROUPS = {0x0000, 0x0002, 0x0004, 0x0008}


def as_input_list(
    paths: Any,
    *,
    caller: str,
    also: tuple[type, ...] = (),
    what: str = "str or os.PathLike paths",
) -> list[Any]:
    """Return one input or an iterable of inputs as a list (a string is one path).

    Parameters
    ----------
    paths : str, os.PathLike, one of `also`, or an iterable of them
        What the caller was given; not changed.
    caller : str
        The public function, for messages.
    also : tuple of type, optional
        Kinds of input accepted besides paths (pydicom ``Dataset``).
    what : str, optional
        How the message names what is accepted.

    Returns
    -------
    list
        The inputs, as given.

    Raises
    ------
    InputError
        If `paths` is none of these, or bytes.
    """
    kinds = (str, os.PathLike, *also)
    if isinstance(paths, kinds):
        return [paths]
    if isinstance(cast(object, paths), bytes):  # Iterable, but of ints
        raise InputError(f"{caller}: expected {what}, but got bytes")
    try:
        items = list(paths)
    except TypeError:
        raise InputError(
            f"{caller}: expected {what}, or an iterable of them, "
            f"but got {type(paths).__name__}"
        ) from None
    for item in items:
        if not isinstance(item, kinds):
            raise InputError(
                f"{caller}: expected {what}, but got {type(item).__name__} ({item!r})"
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
    items = as_input_list(paths, caller=caller)
    _modes(items, caller)
    return items


def _modes(items: list[PathLike], caller: str) -> list[int]:
    """Stat `items` once each; raise, naming the first that does not exist."""
    modes = []
    for item in items:
        try:
            modes.append(os.stat(item).st_mode)
        except (OSError, ValueError):  # what os.path.exists calls missing
            raise FileNotFoundError(
                2, f"{caller}: no such file or folder", os.fspath(item)
            ) from None
    return modes


def list_paths(
    paths: PathLike | Iterable[PathLike], *, caller: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """Check `paths` as :func:`check_paths`, then list them as :func:`expand_paths`.

    The batch readers' listing, with one ``stat`` per path named: every
    path is checked before any folder is walked.

    Parameters
    ----------
    paths, caller
        As for :func:`check_paths`, which says what it raises.

    Returns
    -------
    tuple of (list of str, list of (str, str))
        The files, in order, and the files left out with the reason.
    """
    items = as_input_list(paths, caller=caller)
    return _expand(items, _modes(items, caller))


def shown_path(path: PathLike) -> str:
    r"""Return a path as text that can always be shown and stored.

    A file name that is not valid UTF-8 reaches Python with the bytes it
    could not decode kept as lone surrogates (``surrogateescape``), which
    cannot be written as UTF-8 (Arrow strings, CSV, a notebook). Those bytes
    are shown escaped, ``\xe9``; any other path is returned unchanged.

    Parameters
    ----------
    path : str or os.PathLike
        The path, as given or found.

    Returns
    -------
    str
        The path, with undecodable bytes written as ``\xNN``.

    Examples
    --------
    >>> shown_path("caf\udce9.dcm")
    'caf\\xe9.dcm'
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")
    return text


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_a_regular_file(path: PathLike) -> str | None:
    """Tell, without opening it, why `path` is not a regular file to read.

    Opening a named pipe blocks until someone writes to it, and reading a
    device such as ``/dev/zero`` never ends, so only regular files (or
    links to them) are opened.

    Parameters
    ----------
    path : str or os.PathLike
        The path.

    Returns
    -------
    str or None
        None for a regular file or a link to one; otherwise the reason: a
        dangling link, a link loop, a folder, a named pipe, a device, a
        socket, or why it cannot be looked at.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return "a dangling symbolic link (its target does not exist)"
        return "no such file"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (too many levels of links)"
        return open_error(exc)
    except ValueError as exc:  # a NUL in the name
        return f"cannot be opened: {exc}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return f"{kind}, not a regular file: not opened"
    return "not a regular file: not opened"  # pragma: no cover - door, port


def sniff_dicom(path: PathLike, *, force: bool = True) -> str | None:
    """Tell, from its first bytes only, why a file cannot be DICOM.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    force : bool, optional
        As for :func:`why_not_dicom` (default True).

    Returns
    -------
    str or None
        None if the file has the ``DICM`` marker at byte 128, or starts with
        a plausible DICOM element (a data set written without a preamble);
        otherwise the reason it is not DICOM. Anything but a regular file
        (:func:`not_a_regular_file`) is not opened.
    """
    special = not_a_regular_file(path)
    if special is not None:
        return special
    try:
        with open(path, "rb") as fp:
            head = fp.read(132)
            size = os.fstat(fp.fileno()).st_size
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return open_error(exc)
    return why_not_dicom(head, size, force=force)


def open_error(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot be opened: {exc.strerror or exc}"


def _starts_with_an_element(head: bytes, size: int | None) -> bool:
    """Whether `head` starts with a data element (any tag, public or private).

    A data set written without preamble and file meta (deid reads those with
    ``force=True``) starts with its first element, whatever its tag: an
    explicit VR after the tag, or an implicit length that fits in the file
    for a tag of the DICOM dictionary or a private one; for any other tag,
    the element after it must look like one too (a later tag, a length that
    fits), so that text and other files are not taken for DICOM.
    """
    tag = _tag_at(head, 0)
    if tag >> 16 in (0xFFFE, 0xFFFF):
        return False
    if head[4:6] in _VR_BYTES:
        return True
    length = int.from_bytes(head[4:8], "little")
    if length == 0xFFFFFFFF:
        return dictionary_has_tag(tag) or bool(tag >> 16 & 1)
    if size is not None and length > size - 8:
        return False
    if dictionary_has_tag(tag) or tag >> 16 & 1:
        return True
    after = 8 + length
    if len(head) < after + 8:
        return size is not None and after == size  # the only element
    following = _tag_at(head, after)
    next_length = int.from_bytes(head[after + 4 : after + 8], "little")
    return following > tag and (size is None or next_length <= size - after - 8)


def _tag_at(head: bytes, offset: int) -> int:
    group = int.from_bytes(head[offset : offset + 2], "little")
    return group << 16 | int.from_bytes(head[offset + 2 : offset + 4], "little")


def why_not_dicom(
    head: bytes, size: int | None = None, *, force: bool = True
) -> str | None:
    """Return why a file starting with `head` (132 bytes) is not DICOM, or None.

    Parameters
    ----------
    head : bytes
        The file's first 132 bytes (fewer if it is shorter).
    size : int or None, optional
        The file's size, to check an implicit first element's length.
    force : bool, optional
        Accept a file without the marker that starts with any data element,
        public or private (default True); False accepts only those starting
        with the groups 0000-0008.

    Returns
    -------
    str or None
        None for a file with the ``DICM`` marker, or that starts with a DICOM
        element (a data set written without preamble and file meta).
    """
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
        if force and _starts_with_an_element(head, size):
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
    force: bool = False,
) -> Iterator[str]:
    """Yield the files in files and folders, folders searched recursively.

    Folders are walked in sorted order, so the same tree always gives the
    same sequence; a file reached twice (a file and its folder, or
    overlapping folders) is yielded once. Zip archives are never opened:
    they are skipped and reported through `skipped`; so is anything that is
    not a regular file (named pipes, devices, sockets, dangling links, link
    loops: never opened, see :func:`not_a_regular_file`), and every folder
    the walk cannot list. Links to folders are not followed, as in deid.

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
    force : bool, optional
        With `check`, the rule for files without the ``DICM`` marker (see
        :func:`why_not_dicom`); default False, as deid's ``get_files``.

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
    return _iter_files(
        items, check=check, pattern=pattern, skipped=skipped, force=force
    )


def _iter_files(
    items: Iterable[PathLike],
    *,
    check: bool,
    pattern: str | None,
    skipped: list[tuple[str, str]] | None,
    force: bool = False,
) -> Iterator[str]:
    """:func:`iter_dicom_files` over paths already checked."""
    seen: set[str] = set()

    unlisted: list[tuple[str, str]] = []  # folders the walk could not list

    def folder_error(exc: OSError) -> None:
        folder = os.fspath(exc.filename) if exc.filename is not None else "?"
        unlisted.append((folder, f"folder cannot be listed: {open_error(exc)}"))

    def candidates() -> Iterator[str | tuple[str, str]]:
        for item in items:
            path = os.fspath(item)
            if not os.path.isdir(path):
                yield path
                continue
            for root, dirs, names in os.walk(path, onerror=folder_error):
                yield from _flush(unlisted)
                dirs.sort()
                for name in sorted(names):
                    if pattern is None or fnmatch.fnmatch(name, pattern):
                        yield os.path.join(root, name)
            yield from _flush(unlisted)

    for path in candidates():
        if isinstance(path, tuple):  # a folder the walk could not list
            _skip(path[0], path[1], skipped)
            continue
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        reason = not_a_regular_file(path)
        if reason is not None:
            pass
        elif path.lower().endswith(_ARCHIVE_EXTENSIONS):
            reason = (
                "a zip archive: deidscope does not read inside archives; unzip it first"
            )
        elif check:
            reason = sniff_dicom(path, force=force)
        if reason is not None:
            _skip(path, reason, skipped)
            continue
        yield path


def _flush(pending: list[tuple[str, str]]) -> Iterator[Any]:
    """Yield the folders the walk could not list so far, and forget them."""
    while pending:
        yield pending.pop(0)


def _skip(path: str, reason: str, skipped: list[tuple[str, str]] | None) -> None:
    logger.info("get_files: skipping %s: %s", shown_path(path), reason)
    if skipped is not None:
        skipped.append((path, reason))


def expand_paths(
    paths: Iterable[PathLike],
) -> tuple[list[str], list[tuple[str, str]]]:
    """Return the files to read: those named, and every file in the folders named.

    The batch functions' listing: `paths` were checked by :func:`check_paths`
    already. Files found in folders are not sniffed (reading them says why
    one is not DICOM) but zip archives are left out, and so is anything that
    is not a regular file (:func:`not_a_regular_file`: a named pipe, a
    device, a dangling link or a link loop), named or found, and folders
    the walk cannot list; each is listed with the reason.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Files and folders that exist.

    Returns
    -------
    tuple of (list of str, list of (str, str))
        The files, in order, and the files left out with the reason.
    """
    items = list(paths)
    modes = []
    for path in items:
        try:  # one stat for the common case, a regular file or a folder
            modes.append(os.stat(path).st_mode)
        except (OSError, ValueError):
            modes.append(0)  # not_a_regular_file says why
    return _expand(items, modes)


def _expand(
    paths: list[PathLike], modes: list[int]
) -> tuple[list[str], list[tuple[str, str]]]:
    """List `paths`, whose ``st_mode`` are `modes` (0: not known)."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path, mode in zip(paths, modes, strict=True):
        if stat.S_ISREG(mode):
            files.append(os.fspath(path))
            continue
        if stat.S_ISDIR(mode):
            found = _iter_files([path], check=False, pattern=None, skipped=skipped)
            files.extend(found)
            continue
        reason = not_a_regular_file(path)
        if reason is not None:
            skipped.append((os.fspath(path), reason))
        else:
            files.append(os.fspath(path))
    return files, skipped
