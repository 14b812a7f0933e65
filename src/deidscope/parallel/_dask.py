"""The Dask backend: the identifier frame as lazy partitions on a cluster."""

from __future__ import annotations

import dataclasses
import logging
import operator
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from deidscope._optional import import_optional
from deidscope.errors import Errors, InputError, ReadError, errors_frame
from deidscope.files import PathLike, check_output, list_paths
from deidscope.frame import empty_frame
from deidscope.frame._read import read_files_frame
from deidscope.parallel._format import SCHEMA, errors_path
from deidscope.parallel._write import (
    IdentifiersWritten,
    _check_positive,
    frame_to_csv,
)

__all__ = [
    "FILES_PER_PARTITION",
    "read_errors_dask",
    "read_identifiers_dask",
    "write_identifiers_dask",
]

logger = logging.getLogger(__name__)

#: Files per Dask partition (one task reads one partition).
FILES_PER_PARTITION = 500


def _read_partition(
    files: tuple[str, ...], errors: Errors
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one partition (a Dask task): its rows and the files that failed."""
    frame = read_files_frame(list(files), errors)
    failed = pd.DataFrame(frame.attrs["errors"])
    frame.attrs = {}  # our own fresh frame; Dask partitions carry no attrs
    return frame, failed


def _skipped_frame(skipped: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """Return the files left out while listing folders, as a plain errors frame."""
    return pd.DataFrame(errors_frame(skipped))


@dataclasses.dataclass(frozen=True)
class _Lazy:
    """The two collections of one listing, sharing their read tasks."""

    rows: Any
    errors: Any
    n_files: int


def _build(
    paths: PathLike | Iterable[PathLike],
    files_per_partition: int,
    errors: str,
    caller: str,
) -> _Lazy:
    """List the files once; build the rows and the errors from the same tasks."""
    dd = import_optional("dask.dataframe", extra="dask", feature=caller)
    utils = import_optional("dask.dataframe.utils", extra="dask", feature=caller)
    tokenize = import_optional("dask.tokenize", extra="dask", feature=caller)
    spec = import_optional("dask._task_spec", extra="dask", feature=caller)
    if errors not in ("ignore", "raise"):
        raise InputError(
            f"{caller}: errors must be 'ignore' (list them with read_errors_dask) "
            f"or 'raise', but got {errors!r}"
        )
    _check_positive(files_per_partition, "files_per_partition", caller, none=False)
    files, skipped = list_paths(paths, caller=caller)
    if skipped and errors == "raise":
        raise ReadError(*skipped[0])
    chunks = [
        tuple(files[start : start + files_per_partition])
        for start in range(0, len(files), files_per_partition)
    ]
    # The graph by hand, two small tasks per partition: the read (a tuple of
    # rows and errors) and a getitem. from_delayed needed four (the read,
    # a getitem, a container and its own task) and from_map can share no read
    # between the rows and the errors; each task is a round trip through the
    # scheduler, and on 4,000 files the extra ones cost more than a tenth of
    # the time (benchmarks/bench_scale.py --part dask). The keys depend only
    # on the arguments, so read_errors_dask shares the reads.
    token = tokenize.tokenize(chunks, errors, tuple(skipped))
    read_name = f"_read_partition-{token}"
    reads = {
        (read_name, i): spec.Task((read_name, i), _read_partition, chunk, errors)
        for i, chunk in enumerate(chunks)
    }
    divisions = (None,) * (len(chunks) + 1)
    meta = empty_frame()
    meta.attrs = {}
    if chunks:
        rows_graph = dict(reads)
        rows_keys = [(f"identifiers-part-{token}", i) for i in range(len(chunks))]
        for i, key in enumerate(rows_keys):
            rows_graph[key] = spec.Task(
                key, operator.getitem, spec.TaskRef((read_name, i)), 0
            )
        rows = dd.from_graph(
            rows_graph,
            utils.clear_known_categories(meta),
            divisions,
            rows_keys,
            "identifiers",
        )
    else:
        rows = dd.from_pandas(meta, npartitions=1)
    errors_graph = dict(reads)
    errors_keys = [(f"errors-part-{token}", i) for i in range(len(chunks) + 1)]
    errors_graph[errors_keys[0]] = spec.Task(
        errors_keys[0], _skipped_frame, tuple(skipped)
    )
    for i, key in enumerate(errors_keys[1:]):
        errors_graph[key] = spec.Task(
            key, operator.getitem, spec.TaskRef((read_name, i)), 1
        )
    failed = dd.from_graph(
        errors_graph,
        _skipped_frame(()),
        (None,) * (len(errors_keys) + 1),
        errors_keys,
        "identifier-errors",
    )
    return _Lazy(rows=rows, errors=failed, n_files=len(files) + len(skipped))


def read_identifiers_dask(
    paths: PathLike | Iterable[PathLike],
    *,
    files_per_partition: int = FILES_PER_PARTITION,
    errors: Literal["ignore", "raise"] = "ignore",
) -> Any:
    """Read the identifier frame lazily, as a Dask DataFrame.

    The folders are listed here, in the calling process; the files are read
    by Dask tasks, `files_per_partition` per task, on whatever scheduler is
    active when the result is computed: the cluster of the current
    ``dask.distributed.Client``, or Dask's default local scheduler. Every
    worker must see the paths under the same names (a shared file system)
    and have deidscope installed.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively, every file in them read).
    files_per_partition : int, optional
        Files read by each task, i.e. per partition.
    errors : {"ignore", "raise"}, optional
        ``"ignore"`` (default) leaves unreadable files out of the rows;
        :func:`read_errors_dask` with the same arguments lists them.
        ``"raise"`` makes the computation fail on the first.

    Returns
    -------
    dask.dataframe.DataFrame
        The columns and dtypes of :data:`deidscope.frame.COLUMNS`
        (categorical columns with categories unknown until computed). The
        partitions follow the order of the files, so ``.compute()`` gives
        the rows of :func:`~deidscope.frame.read_identifiers` in the same
        order; the index restarts at 0 in each partition. To write it as
        Parquet from the workers, use :func:`write_identifiers_dask`, or
        ``ddf.to_parquet(folder, schema=SCHEMA, write_index=False)`` (the
        schema keeps the partitions' dictionary columns alike).

    Raises
    ------
    MissingDependencyError
        If Dask is not installed (``pip install 'deidscope[dask]'``).
    FileNotFoundError
        If a path does not exist.
    InputError
        For bad options.
    """
    return _build(paths, files_per_partition, errors, "read_identifiers_dask").rows


def read_errors_dask(
    paths: PathLike | Iterable[PathLike],
    *,
    files_per_partition: int = FILES_PER_PARTITION,
) -> Any:
    """List the files :func:`read_identifiers_dask` could not read, lazily.

    Built from the same tasks as ``read_identifiers_dask(paths,
    files_per_partition=...)`` with the same arguments (the task keys are
    deterministic): compute both in one call, ``dask.compute(ddf, errors)``,
    and every file is read once.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        As given to :func:`read_identifiers_dask`.
    files_per_partition : int, optional
        As given to :func:`read_identifiers_dask`.

    Returns
    -------
    dask.dataframe.DataFrame
        Columns ``file`` and ``error`` (strings): zip archives found in
        folders first, then unreadable files in order; files cut short keep
        their rows and are listed too.

    Raises
    ------
    MissingDependencyError
        If Dask is not installed.
    FileNotFoundError
        If a path does not exist.
    """
    return _build(paths, files_per_partition, "ignore", "read_errors_dask").errors


def _check_folder_output(folder: Path, *, overwrite: bool, caller: str) -> None:
    # the errors sidecar beside the folder; its check covers the parent too
    check_output(errors_path(folder), overwrite=overwrite, caller=caller)
    if folder.exists():
        if not overwrite:
            raise FileExistsError(
                17,
                f"{caller}: the output exists (pass overwrite=True to replace it)",
                os.fspath(folder),
            )
        if not folder.is_dir():
            raise InputError(
                f"{caller}: expected a folder for the Parquet parts, but {folder} "
                "is a file"
            )
        strangers = [p.name for p in folder.iterdir() if not _is_part(p)]
        if strangers:
            raise InputError(
                f"{caller}: not replacing {folder}: it holds files that are not "
                f"Parquet parts ({', '.join(sorted(strangers)[:3])})"
            )


def _is_part(path: Path) -> bool:
    return path.is_file() and (
        path.suffix == ".parquet" or path.name in ("_metadata", "_common_metadata")
    )


def write_identifiers_dask(
    paths: PathLike | Iterable[PathLike],
    path: PathLike,
    *,
    files_per_partition: int = FILES_PER_PARTITION,
    overwrite: bool = False,
) -> IdentifiersWritten:
    """Write the identifier frame as a folder of Parquet parts, from Dask workers.

    Each task reads its files and writes its own part
    (``part.0.parquet``, ``part.1.parquet``, ...), so no process ever holds
    more than one partition; the errors, always few, are gathered here and
    written to the sidecar (:func:`errors_path`, ``<folder>.errors.csv``).
    The parts go to a temporary folder beside `path`, renamed when all are
    written. Every file is read once. :func:`read_identifiers_parquet`
    reads the folder back.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively).
    path : str or os.PathLike
        The output folder; its parent must exist (on a cluster, on storage
        every worker and this process share).
    files_per_partition : int, optional
        Files per task and per part.
    overwrite : bool, optional
        Replace an existing output folder (only if it holds nothing but
        Parquet parts) and sidecar.

    Returns
    -------
    IdentifiersWritten
        The folder, the sidecar and the counts of files, rows and errors.

    Raises
    ------
    MissingDependencyError
        If Dask is not installed.
    FileNotFoundError
        If an input or the output's parent folder does not exist.
    FileExistsError
        If the output or its sidecar exists and `overwrite` is false.
    InputError
        For bad options, or an output folder holding other files.
    """
    caller = "write_identifiers_dask"
    dask = import_optional("dask", extra="dask", feature=caller)
    output = Path(path)
    _check_folder_output(output, overwrite=overwrite, caller=caller)
    lazy = _build(paths, files_per_partition, "ignore", caller)
    sidecar = errors_path(output)
    tag = uuid.uuid4().hex[:12]
    tmp_folder = output.with_name(f".{output.name}.{tag}.tmp")
    tmp_sidecar = sidecar.with_name(f".{sidecar.name}.{tag}.tmp")
    old = output.with_name(f".{output.name}.{tag}.old")
    try:
        write = lazy.rows.to_parquet(
            tmp_folder, schema=SCHEMA, write_index=False, compute=False
        )
        _, failed, n_rows = dask.compute(write, lazy.errors, lazy.rows.shape[0])
        # a cell a spreadsheet would run as a formula gets a leading quote
        frame_to_csv(failed, tmp_sidecar)
        if output.exists():
            os.replace(output, old)
        os.replace(tmp_folder, output)
        os.replace(tmp_sidecar, sidecar)
    finally:
        for leftover in (tmp_folder, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        tmp_sidecar.unlink(missing_ok=True)
    logger.info("%s: %d rows of %d files to %s", caller, n_rows, lazy.n_files, output)
    return IdentifiersWritten(
        path=output,
        errors_path=sidecar,
        n_files=lazy.n_files,
        n_rows=int(n_rows),
        n_errors=len(failed),
    )
