"""Everything that touches a file: finding, opening, reading, checking, writing.

- Finding: :func:`check_paths` (every path exists, before any work),
  :func:`list_paths` (that check and the files to read, one ``stat`` per
  path named), :func:`iter_dicom_files` (folders walked in sorted order,
  each file once),
  :func:`sniff_dicom` (why a file cannot be DICOM, from its first bytes).
- Reading a header: :func:`read_header` takes the quick reader
  (:func:`read_raw_file`, Part 10 explicit VR little endian straight from a
  memory map) where it can and pydicom (:func:`read_checked`) otherwise;
  both leave values over :data:`DEFER_SIZE` bytes on disk, and
  :func:`find_truncation` tells whether a file is cut short (the element
  headers walked again, in any encoding, without recursion).
- Bounds on hostile input: sequences nest at most :data:`MAX_DEPTH` levels,
  a deflated data set inflates to at most :data:`INFLATE_LIMIT` bytes, and
  declared lengths are compared with the file's size, never allocated.
- deid's configuration file: :func:`read_config_skip` (its ``get.skip``).
- Writing: :func:`check_output` and :func:`check_output_folder` refuse a bad
  output before any work, :func:`atomic_output` writes to a temporary name
  and renames.

A file that cannot be read raises :class:`~deidscope.errors.ReadError`
naming the file and the reason; the batch functions above this layer list
it and go on (:class:`~deidscope.errors.BatchErrors`).
"""

from __future__ import annotations

from typing import Any

from deidscope.files._config import read_config_skip
from deidscope.files._discover import (
    PathLike,
    as_input_list,
    check_paths,
    expand_paths,
    iter_dicom_files,
    list_paths,
    not_a_regular_file,
    shown_path,
    sniff_dicom,
)
from deidscope.files._items import RawItem
from deidscope.files._output import (
    atomic_output,
    check_output,
    check_output_folder,
    common_root,
    inputs_written_over,
    output_targets,
)
from deidscope.files._quick import RawDataset, read_raw_file
from deidscope.files._read import (
    DEFER_SIZE,
    find_truncation,
    read_checked,
    read_dataset,
)
from deidscope.files._scan import INFLATE_LIMIT, MAX_DEPTH

__all__ = [
    "DEFER_SIZE",
    "INFLATE_LIMIT",
    "MAX_DEPTH",
    "PathLike",
    "RawDataset",
    "RawItem",
    "as_input_list",
    "atomic_output",
    "check_output",
    "check_output_folder",
    "check_paths",
    "common_root",
    "expand_paths",
    "find_truncation",
    "inputs_written_over",
    "iter_dicom_files",
    "list_paths",
    "not_a_regular_file",
    "output_targets",
    "read_checked",
    "read_config_skip",
    "read_dataset",
    "read_header",
    "read_raw_file",
    "shown_path",
    "sniff_dicom",
]


def read_header(path: PathLike, *, force: bool = True) -> tuple[Any, str | None]:
    """Read a file's header the quickest way that gives pydicom's elements.

    The quick reader takes the common, well-formed file; every other file
    (implicit VR, big endian, deflated, damaged...) is read by pydicom, with
    its checks for truncation.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    force : bool, optional
        As for :func:`read_dataset`: whether a file without the ``DICM``
        marker is read (the quick reader reads only files with it).

    Returns
    -------
    tuple of (RawDataset or pydicom.dataset.FileDataset, str or None)
        The dataset, walked alike by :func:`deidscope.fields.iter_fields`,
        and why the file is cut short (None if whole).

    Raises
    ------
    FileNotFoundError, ReadError
        As :func:`read_dataset`.
    """
    quick = read_raw_file(path)
    if quick is not None:
        return quick, None
    return read_checked(path, force=force)
