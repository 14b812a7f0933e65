"""Identifiers of datasets that outgrow memory or one machine.

Two ways out of "read everything into one DataFrame":

- :func:`write_identifiers` streams the long frame to a Parquet (or CSV)
  file, a few hundred files at a time, each batch one Parquet row group.
  Only one batch per process is in memory at once, so the peak stays flat
  however many files there are. :func:`read_identifiers_parquet` reads the
  file back into the frame :func:`~deidscope.frame.read_identifiers` would
  have built, dtypes and ``attrs["errors"]`` included.
- :func:`read_identifiers_dask` builds the same frame as a
  :class:`dask.dataframe.DataFrame` whose partitions are read by tasks on
  whatever Dask cluster the current client points at (a laptop's
  ``LocalCluster`` or hundreds of machines); :func:`read_errors_dask` lists
  the files that could not be read, from the same tasks, and
  :func:`write_identifiers_dask` has the workers write a folder of Parquet
  parts without the rows ever meeting in one process.

Every Parquet output has the fixed Arrow schema :data:`SCHEMA`
(categorical columns as dictionary-encoded strings), the same in every row
group and part.

Errors
------
The files that cannot be read are written, one row each with the columns
``file`` and ``error``, to a CSV sidecar named by :func:`errors_path`: the
output's name plus ``.errors.csv`` (``ids.parquet`` ->
``ids.parquet.errors.csv``, a folder ``ids`` -> ``ids.errors.csv``). It is
always written, header only when every file read, so a stale list never
survives a new run, and :func:`read_identifiers_parquet` reads it into
``attrs["errors"]``. A file written by :func:`write_identifiers` also
records the number of files, rows and errors and the sidecar's name in its
Parquet key-value metadata (key ``deidscope``, JSON; see
``pyarrow.parquet.read_metadata(path).metadata``).

With Dask, :func:`read_errors_dask` is a second lazy DataFrame built from
the same tasks as :func:`read_identifiers_dask` (the task keys are
deterministic); computing both in one ``dask.compute`` call reads every
file once.
"""

from __future__ import annotations

from deidscope.parallel._dask import (
    read_errors_dask,
    read_identifiers_dask,
    write_identifiers_dask,
)
from deidscope.parallel._format import errors_path, read_identifiers_parquet
from deidscope.parallel._write import IdentifiersWritten, write_identifiers

__all__ = [
    "IdentifiersWritten",
    "errors_path",
    "read_errors_dask",
    "read_identifiers_dask",
    "read_identifiers_parquet",
    "write_identifiers",
    "write_identifiers_dask",
]
