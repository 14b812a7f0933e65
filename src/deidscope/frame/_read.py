"""Reading files into the frame, in this process or several."""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pandas as pd

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from deidscope._progress import progress_bar
from deidscope.errors import BatchErrors, Errors, InputError, ReadError
from deidscope.files import (
    PathLike,
    list_paths,
    read_header,
    shown_path,
)
from deidscope.files._quick import scan_file
from deidscope.frame._builder import FrameBuilder
from deidscope.frame._merge import RawRows, merge_rows, take_rows

__all__ = [
    "CHUNK_FILES",
    "MIN_POOL_FILES",
    "pool_context",
    "read_files_frame",
    "read_identifiers",
]

logger = logging.getLogger(__name__)

#: Files per task when reading with several processes, at most: each task
#: costs a round trip and a warm-up of the worker's key caches, and its rows
#: (about 0.7 MB for 128 files) must fit the result pipe at once.
CHUNK_FILES = 128
#: Files this process reads between looks at the workers.
PARENT_STEP = 8
#: Fewer files than this are read in this process whatever ``workers`` says:
#: starting the workers and sending the rows back costs more than the second
#: process saves. ``benchmarks/bench_core.py --min-pool-files 0`` measures the
#: break-even: between 200 and 250 files on the project's machine (2026-12).
MIN_POOL_FILES = 300
#: The size asked for the pipe that brings the workers' rows back.
RESULT_PIPE_BYTES = 1 << 20


def _add_file(builder: FrameBuilder, path: str, batch: BatchErrors) -> None:
    """Add one file's rows to `builder`, or its error to `batch`.

    Nothing raised while reading one file escapes (but ``ReadError`` with
    ``errors="raise"``): the builder keeps all the file's rows or none, and
    a file cut short keeps the rows read before the cut and is listed. The
    frame shows the path as :func:`~deidscope.files.shown_path` writes it.
    """
    file = shown_path(path)
    try:
        scanned = scan_file(path)
    except ReadError as exc:
        batch.add(file, exc.reason)
        return
    except Exception:  # a reader bug: the usual way says what it is
        scanned = None
    if scanned is not None and builder.add_scanned(file, scanned):
        return  # the common file, in one pass
    try:
        ds, truncation = read_header(path)
    except ReadError as exc:
        batch.add(file, exc.reason)
        return
    except Exception as exc:  # a reader bug or exhaustion: this file's error
        batch.add(file, f"cannot be read: {type(exc).__name__}: {exc}")
        return
    if truncation is not None and batch.raises:
        batch.add(file, truncation)
    try:  # all or nothing: a failure leaves no rows of this file
        builder.add_dataset(file, ds)
    except Exception as exc:  # a value pydicom cannot convert, say
        batch.add(file, f"cannot be read: {type(exc).__name__}: {exc}")
        return
    if truncation is not None:  # the header is there: keep its rows, say so
        batch.add(file, truncation)


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
    batch = BatchErrors("read_identifiers", "raise" if errors == "raise" else "ignore")
    for file in files:
        _add_file(builder, file, batch)
    df = builder.build()
    df.attrs["errors"] = batch.frame()
    return df


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def _read_rows(
    files: Sequence[str], errors: Errors
) -> tuple[RawRows, list[tuple[str, str]]]:
    """Read `files` (a worker's task): the raw rows and the files that failed."""
    builder = FrameBuilder()
    batch = BatchErrors("read_identifiers", "raise" if errors == "raise" else "ignore")
    for file in files:
        _add_file(builder, file, batch)
    failed = (
        list(batch.frame().itertuples(index=False, name=None)) if len(batch) else []
    )
    return take_rows(builder), failed


def _widen_result_pipe(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Let a worker send a chunk's rows without waiting for this process.

    A chunk's rows take up to about 0.7 MB; through Linux's default 64 KiB pipe
    the worker writes them in several pieces, each waiting for the pool's
    thread here to read the last one, and that thread waits for the GIL,
    which the reading loop holds for up to a switch interval (5 ms) at a
    time: a worker idled about 13 % of a 10,000-file batch so. A pipe of
    up to 1 MiB (the unprivileged limit) takes the rows at once. Best
    effort: where the pipe or its size cannot be set, nothing changes.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    if set_size is None or reader is None:
        return
    try:
        fcntl.fcntl(reader.fileno(), set_size, RESULT_PIPE_BYTES)
    except (OSError, ValueError):  # over /proc/sys/fs/pipe-max-size, say
        logger.debug("read_identifiers: the result pipe keeps its size")


def _ready() -> bool:
    """Answer once the worker is up (a worker's first task)."""
    return True


def _read_pooled(
    files: Sequence[str], workers: int, batch: BatchErrors, bar_of: Any
) -> pd.DataFrame:
    """Read `files` in this process and `workers` - 1 others; rows in order.

    This process reads from the front, :data:`PARENT_STEP` files at a time;
    the other processes, once they are up, take chunks from the back (at
    most :data:`CHUNK_FILES` files, fewer as the gap closes) and send back
    raw rows (:class:`~deidscope.frame._merge.RawRows`), merged in order
    into this process's builder when the front reaches them; the frame is
    built once. A batch finished before the workers are up (a cold
    ``forkserver``) is read as by one process; a chunk whose worker died is
    read here.
    """
    errors: Errors = "raise" if batch.raises else "ignore"
    builder = FrameBuilder()
    children = workers - 1
    context = pool_context()
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=children, mp_context=context
    )
    _widen_result_pipe(pool)
    # (start, stop, future) of the chunks given to workers, latest first
    given: list[tuple[int, int, concurrent.futures.Future[Any]]] = []
    counted = 0  # chunks of `given` done and counted by the bar (they finish in turn)
    lo, hi = 0, len(files)
    up: concurrent.futures.Future[bool] | None = None
    broken = False
    try:
        # submitted (and, with fork, every worker started) before the progress
        # bar exists: tqdm runs a monitor thread
        up = pool.submit(_ready)
        with bar_of(len(files)) as bar:
            while lo < hi:
                while counted < len(given) and given[counted][2].done():
                    bar.update(given[counted][1] - given[counted][0])
                    counted += 1
                if up.done() and up.exception() is None and not broken:
                    # two chunks per worker: one read, one waiting
                    while len(given) - counted < 2 * children and hi - lo > PARENT_STEP:
                        share = (hi - lo) // (2 * workers)
                        start = hi - min(CHUNK_FILES, max(PARENT_STEP, share))
                        try:
                            future = pool.submit(_read_rows, files[start:hi], errors)
                        except BrokenProcessPool:  # a worker died: no more chunks
                            broken = True
                            break
                        given.append((start, hi, future))
                        hi = start
                stop = min(lo + PARENT_STEP, hi)
                for file in files[lo:stop]:
                    _add_file(builder, file, batch)
                bar.update(stop - lo)
                lo = stop
            for index in range(len(given) - 1, -1, -1):  # in the files' order
                start, stop, future = given[index]
                try:
                    rows, failed = future.result()
                except ReadError:
                    raise
                except Exception:  # the worker died (or cannot send): read here
                    logger.warning(
                        "a worker failed; reading its %d files here", stop - start
                    )
                    for file in files[start:stop]:
                        _add_file(builder, file, batch)
                else:
                    merge_rows(builder, rows)
                    batch.extend(failed)
                if index >= counted:
                    bar.update(stop - start)
    finally:
        # a forked worker is up at once; one from a server still starting is
        # left to finish starting and stop on its own
        wait = up is None or up.done() or context.get_start_method() == "fork"
        pool.shutdown(wait=wait, cancel_futures=True)
    logger.debug(
        "read_identifiers: %d files read here, %d by %d other processes",
        lo,
        len(files) - lo,
        children,
    )
    return builder.build()


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
        Processes to read with; None or 1 reads in this process, and so
        does a batch of fewer than :data:`MIN_POOL_FILES` files, too small
        for more processes to gain. Rows come in the same order whatever the
        number.
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
    batch = BatchErrors("read_identifiers", errors)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(
            "read_identifiers: workers must be a positive int or None, "
            f"but got {workers!r}"
        )
    files, skipped = list_paths(paths, caller="read_identifiers")
    batch.extend(skipped)

    def bar_of(total: int) -> Any:
        return progress_bar(total, progress)

    if workers is None or workers == 1 or len(files) < MIN_POOL_FILES:
        builder = FrameBuilder()
        with bar_of(len(files)) as bar:
            for file in files:
                _add_file(builder, file, batch)
                bar.update(1)
        df = builder.build()
    else:
        df = _read_pooled(files, workers, batch, bar_of)
    df.attrs["errors"] = batch.finish(total=len(files) + len(skipped))
    return df
