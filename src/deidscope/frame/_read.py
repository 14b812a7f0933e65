"""Reading files into the frame, in this process or several."""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pandas as pd

from deidscope.dicom import Errors, ReadErrorsWarning, check_errors_option
from deidscope.errors import InputError, ReadError
from deidscope.fields._reader import read_raw_file
from deidscope.files import PathLike, check_paths, iter_dicom_files, read_checked
from deidscope.frame._builder import FrameBuilder
from deidscope.frame._columns import ReadErrors, concat_frames, errors_frame

__all__ = [
    "CHUNK_FILES",
    "PROGRESS_DELAY",
    "expand_paths",
    "pool_context",
    "progress_bar",
    "read_files_frame",
    "read_identifiers",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Show a progress bar when a run takes longer than this many seconds.
PROGRESS_DELAY = 2.0
#: Files per task when reading with several processes.
CHUNK_FILES = 64


def expand_paths(paths: Sequence[PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files named directly, plus every file found in the folders named."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(iter_dicom_files(path, check=False, skipped=skipped))
        else:
            files.append(os.fspath(path))
    return files, skipped


def _add_file(builder: FrameBuilder, file: str, errors: Errors) -> None:
    """Add one file's rows, or its error, to `builder`."""
    try:
        # the quick reader takes the common, well-formed file; pydicom the rest
        ds: Any = read_raw_file(file)
        truncation = None
        if ds is None:
            ds, truncation = read_checked(file)
        if truncation is not None and errors == "raise":
            raise ReadError(file, truncation)
        try:  # all or nothing: a failure leaves no rows of this file
            builder.add_dataset(file, ds)
        except Exception as exc:  # a value pydicom cannot convert, say
            raise ReadError(
                file, f"cannot be read: {type(exc).__name__}: {exc}"
            ) from exc
    except ReadError as exc:
        if errors == "raise":
            raise
        builder.errors.append((file, exc.reason))
        return
    if truncation is not None:  # the header is there: keep its rows, say so
        builder.errors.append((file, truncation))


def read_files_frame(files: Sequence[str], errors: Errors = "ignore") -> pd.DataFrame:
    """Read `files` in this process into one frame, without warning.

    The unit of work of :func:`read_identifiers` with several processes and
    of the Dask backend; files that cannot be read are listed in
    ``attrs["errors"]``.

    Parameters
    ----------
    files : sequence of str
        Paths of files (not folders).
    errors : {"warn", "ignore", "raise"}, optional
        ``"raise"`` raises on the first unreadable file; otherwise they are
        only listed.

    Returns
    -------
    pandas.DataFrame
        The rows of `files`, in order.
    """
    builder = FrameBuilder()
    for file in files:
        _add_file(builder, file, errors)
    return builder.build()


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def progress_bar(
    total: int, progress: bool | None, *, desc: str = "read_identifiers"
) -> Any:
    """Return a tqdm progress bar over `total` files (notebook-aware).

    Parameters
    ----------
    total : int
        The number of files.
    progress : bool or None
        True: always shown; False: never; None: shown only once the run has
        lasted :data:`PROGRESS_DELAY` seconds.
    desc : str, optional
        The bar's label, usually the public function's name.

    Returns
    -------
    tqdm.tqdm
        A context manager; call ``update(n)`` as files are done.
    """
    from tqdm.auto import tqdm

    class _Bar(tqdm):  # type: ignore[misc]
        # no monitor thread: a process with threads cannot safely fork workers
        monitor_interval = 0

    return _Bar(
        total=total,
        unit="file",
        desc=desc,
        disable=progress is False,
        delay=0 if progress else PROGRESS_DELAY,
        leave=bool(progress),
    )


def pool_context() -> multiprocessing.context.BaseContext:
    """Return the multiprocessing context for reading with several processes.

    ``fork`` starts workers at once with everything imported, and is safe
    while this process has a single thread (a script, the command line).
    With other threads (a Jupyter kernel has several), forking can deadlock,
    so ``forkserver`` is used, with deidscope preloaded; where neither
    exists, the platform's default (``spawn``).

    Returns
    -------
    multiprocessing.context.BaseContext
        The context to pass as ``mp_context``.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["deidscope.frame"])
        return ctx
    return multiprocessing.get_context()


def _read_pooled(
    files: Sequence[str], workers: int, errors: Errors, bar_of: Any
) -> pd.DataFrame:
    """Read `files` in chunks on `workers` processes; rows in the files' order."""
    chunks = list(_chunks(files, CHUNK_FILES))
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=pool_context()
    )
    try:
        # every task is submitted (and, with fork, every worker started) before
        # the progress bar exists: tqdm runs a monitor thread
        futures = [pool.submit(read_files_frame, chunk, errors) for chunk in chunks]
        frames: list[pd.DataFrame] = []
        with bar_of(len(files)) as bar:
            for chunk, future in zip(chunks, futures, strict=True):
                frames.append(future.result())
                bar.update(len(chunk))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return concat_frames(frames)


def read_identifiers(
    paths: PathLike | Iterable[PathLike],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """Read the fields of DICOM files into the long DataFrame.

    Headers are read without their pixel data; nothing is kept of a file
    once its rows are written, so memory grows with the number of rows, not
    with the size of the files.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively, every file in them read).
    workers : int or None, optional
        Processes to read with; None or 1 reads in this process. Rows come
        in the same order whatever the number.
    progress : bool or None, optional
        Show a progress bar (notebook-aware, by tqdm): None shows one only
        when the run lasts more than a couple of seconds, True always,
        False never.
    errors : {"warn", "ignore", "raise"}, optional
        Files that cannot be read are listed in ``df.attrs["errors"]``
        (columns ``file`` and ``error``); ``"warn"`` (default) also warns
        once with the count, ``"ignore"`` does not, ``"raise"`` raises
        :class:`~deidscope.errors.ReadError` on the first.

    Returns
    -------
    pandas.DataFrame
        One row per field; see :data:`COLUMNS` and the module documentation.

    Raises
    ------
    FileNotFoundError
        If a path does not exist (checked before any file is read).
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> df = read_identifiers(get_dataset("dicom-cookies"))
    >>> df.file.nunique(), df.loc[df.keyword == "PatientSex", "value"].iloc[0]
    (7, 'F')
    """
    check_errors_option(errors, caller="read_identifiers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(
            "read_identifiers: workers must be a positive int or None, "
            f"but got {workers!r}"
        )
    items = check_paths(paths, caller="read_identifiers")
    files, skipped = expand_paths(items)
    if skipped and errors == "raise":
        raise ReadError(*skipped[0])

    def bar_of(total: int) -> Any:
        return progress_bar(total, progress)

    if workers is None or workers == 1 or len(files) <= CHUNK_FILES:
        builder = FrameBuilder()
        with bar_of(len(files)) as bar:
            for file in files:
                _add_file(builder, file, errors)
                bar.update(1)
        df = builder.build()
    else:
        df = _read_pooled(files, workers, errors, bar_of)
    if skipped:
        df.attrs["errors"] = ReadErrors(
            pd.concat([errors_frame(skipped), df.attrs["errors"]], ignore_index=True)
        )
    failures = len(df.attrs["errors"])
    if failures and errors == "warn":
        warnings.warn(
            f"read_identifiers: {failures} of {len(files) + len(skipped)} files could "
            "not be read; df.attrs['errors'] lists them with the reason "
            "(pass errors='ignore' to silence this warning)",
            ReadErrorsWarning,
            stacklevel=2,
        )
    return df
