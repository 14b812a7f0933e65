"""The deid-compatible facade: ``get_files``, ``get_identifiers``, ``DicomField``.

The walkthrough of deid's documentation runs unchanged but for the package
name::

    from deidscope.data import get_dataset
    from deidscope.dicom import get_files, get_identifiers

    base = get_dataset("dicom-cookies")
    dicom_files = list(get_files(base))
    ids = get_identifiers(dicom_files)
    ids[dicom_files[0]]["(0010, 0010)"]

Unlike deid, reading a header never loads its pixel data, a file that cannot
be read does not stop the others, and nothing is written to the caller's
datasets.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Literal

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from deidscope.errors import InputError, ReadError
from deidscope.fields import DEFAULT_SKIP, DicomField, FieldMap, iter_fields
from deidscope.fields._items import RawItem
from deidscope.files import (
    PathLike,
    check_paths,
    iter_dicom_files,
    read_checked,
)

__all__ = [
    "DEFAULT_SKIP",
    "DicomField",
    "FieldMap",
    "ReadErrorsWarning",
    "get_files",
    "get_identifiers",
    "replace_identifiers",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

Errors = Literal["warn", "ignore", "raise"]


class ReadErrorsWarning(UserWarning):
    """Some files of a batch could not be read (the others were)."""


def check_errors_option(errors: str, *, caller: str) -> None:
    """Raise InputError unless `errors` is "warn", "ignore" or "raise"."""
    if errors not in ("warn", "ignore", "raise"):
        raise InputError(
            f"{caller}: errors must be 'warn', 'ignore' or 'raise', but got {errors!r}"
        )


def get_files(
    contenders: PathLike | Iterable[PathLike],
    check: bool = True,
    pattern: str | None = None,
) -> Iterator[str]:
    """Yield the DICOM files in files and folders, folders searched recursively.

    As deid's ``get_files``, with a stable order (folders are walked sorted),
    no duplicates, and zip archives skipped rather than unpacked into the
    working directory. Files left out are logged at INFO level on the
    ``deidscope.files`` logger.

    Parameters
    ----------
    contenders : str, os.PathLike or iterable of them
        Files and folders.
    check : bool, optional
        Yield only files that look like DICOM (default True).
    pattern : str or None, optional
        A glob pattern (``fnmatch``) for the names of files found in folders.

    Yields
    ------
    str
        Paths of DICOM files.

    Raises
    ------
    FileNotFoundError
        If a contender does not exist.

    Examples
    --------
    >>> import os
    >>> from deidscope.data import get_dataset
    >>> [os.path.basename(f) for f in get_files(get_dataset("dicom-cookies"))][:3]
    ['image1.dcm', 'image2.dcm', 'image3.dcm']
    """
    return iter_dicom_files(contenders, check=check, pattern=pattern)


class _ElementLoader:
    """Converts a raw element on first use, logging pydicom's warnings."""

    __slots__ = ("dataset", "tag")

    def __init__(self, dataset: Dataset | RawItem, tag: int) -> None:
        self.dataset = dataset
        self.tag = tag

    def __call__(self) -> DataElement:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            elem = self.dataset[self.tag]
        for warning in caught:
            logger.debug("(%08x): %s", self.tag, warning.message)
        return elem


def fields_of(
    ds: Dataset,
    *,
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
) -> FieldMap:
    """Return the fields of a dataset as a :class:`FieldMap`.

    Elements are converted by pydicom when first used, not before. `ds` is
    not changed (sequences and ambiguous VRs are converted as any access by
    pydicom would): a private element whose creator pydicom left unset is
    given to its field as a copy that carries it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset.
    expand_sequences : bool, optional
        Include the elements of sequence items (default True).
    skip : collection of str or int, optional
        Keywords or tags to leave out (default: deid's skip list).

    Returns
    -------
    FieldMap
        ``{uid: DicomField}`` in deid's order.

    Raises
    ------
    Exception
        Whatever pydicom raises converting a sequence or an element with an
        ambiguous VR that it cannot read (such as ``BytesLengthException``);
        :func:`get_identifiers` reports it as the file's error.
    """
    fields = FieldMap()
    for walked in iter_fields(ds, expand_sequences=expand_sequences, skip=skip):
        raw = walked.raw
        element: DataElement | _ElementLoader
        if isinstance(raw, DataElement):
            element = raw
            if walked.private_creator and not raw.private_creator:
                # read whole (an undefined-length sequence), pydicom left it
                # unset: the field gets a copy that has it, `ds` is not changed
                element = copy.copy(raw)
                element.private_creator = walked.private_creator
        else:
            element = _ElementLoader(walked.dataset, walked.tag)
        fields[walked.uid] = DicomField(
            element, walked.name, walked.uid, walked.is_filemeta
        )
    return fields


def get_identifiers(
    dicom_files: PathLike | Iterable[PathLike],
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
    *,
    errors: Errors = "warn",
) -> dict[PathLike, FieldMap]:
    """Return every field of every file, as deid's ``get_identifiers``.

    The signature is the public contract's (and deid's keywords):
    `expand_sequences` and `skip` may also be passed by position.

    Parameters
    ----------
    dicom_files : str, os.PathLike or iterable of them
        The files; a single path is accepted.
    expand_sequences : bool, optional
        Include the elements of sequence items, with nested uids such as
        ``(0008, 1115)__0__(0008, 1150)`` (default True).
    skip : collection of str or int, optional
        Keywords or tags to leave out at every depth; default
        :data:`~deidscope.fields.DEFAULT_SKIP`, deid's list (pixel data,
        palette data and file-meta bookkeeping).
    errors : {"warn", "ignore", "raise"}, optional
        What to do about files that cannot be read: their entry is an empty
        :class:`FieldMap` whose ``error`` says why (a file cut short after
        its header keeps the fields it has, and its ``error`` says where it
        ends), and with ``"warn"`` (default) one :class:`ReadErrorsWarning`
        gives the count; ``"raise"`` raises
        :class:`~deidscope.errors.ReadError` on the first.

    Returns
    -------
    dict
        ``{path: FieldMap}``, one entry per input, keyed by the path exactly
        as given; each :class:`FieldMap` maps uid to :class:`DicomField`.

    Raises
    ------
    FileNotFoundError
        If a path does not exist (checked before any file is read).
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> files = list(get_files(get_dataset("dicom-cookies")))
    >>> ids = get_identifiers(files)
    >>> ids[files[0]]["PatientID"].element.value
    'cookie-47'
    """
    check_errors_option(errors, caller="get_identifiers")
    paths = check_paths(dicom_files, caller="get_identifiers")
    result: dict[PathLike, FieldMap] = {}
    failures = 0
    for path in paths:
        try:
            ds, truncation = read_checked(path)
            if truncation is not None and errors == "raise":
                raise ReadError(path, truncation)
            try:
                fields = fields_of(ds, expand_sequences=expand_sequences, skip=skip)
            except Exception as exc:  # a sequence pydicom cannot convert, say
                raise ReadError(
                    path, f"cannot be read: {type(exc).__name__}: {exc}"
                ) from exc
        except ReadError as exc:
            if errors == "raise":
                raise
            result[path] = FieldMap(error=exc.reason)
            failures += 1
            logger.info("get_identifiers: %s", exc)
            continue
        if truncation is not None:  # the header is there: keep it, say so
            fields.error = truncation
            failures += 1
        result[path] = fields
    if failures and errors == "warn":
        warnings.warn(
            f"get_identifiers: {failures} of {len(paths)} files could not be read; "
            "their entries are empty and ids[path].error says why "
            "(pass errors='ignore' to silence this warning)",
            ReadErrorsWarning,
            stacklevel=2,
        )
    return result


def replace_identifiers(
    dicom_files: PathLike | Iterable[PathLike],
    ids: Mapping[Any, Any] | None = None,
    deid: Any = None,
    save: bool = False,
    overwrite: bool = False,
    output_folder: PathLike | None = None,
    force: bool = True,
    strip_sequences: bool = False,
    remove_private: bool = False,
    *,
    lookup: Mapping[str, Any] | None = None,
    errors: Errors = "warn",
    progress: bool | None = None,
) -> list[Any]:
    r"""Apply a recipe's ``%header`` to files, as deid's ``replace_identifiers``.

    The lines run as :meth:`deidscope.recipe.Recipe.preview` shows (the same
    engine, deid 0.4.13's rules), on nested sequences, private elements and
    the file meta; ``MediaStorageSOPInstanceUID`` follows a changed
    ``SOPInstanceUID``, and random ``deid_func`` UIDs are the same for the
    same original UID across the files of one call.

    Parameters
    ----------
    dicom_files : str, os.PathLike or iterable of them
        The files (a single path is accepted; folders are not: use
        :func:`get_files`).
    ids : mapping or None, optional
        deid's per-file lookup, ``{path: {name: value_or_function}}``
        (``get_identifiers`` output with names added works).
    deid : Recipe, str, os.PathLike or list of them
        The recipe, a recipe file, or several combined as deid combines
        them. deidscope has no default recipe: one is required.
    save : bool, optional
        Write files (True) or return the changed datasets (False, default).
    overwrite : bool, optional
        Replace existing outputs; with no `output_folder`, write over the
        input files themselves (default False). An `output_folder` that
        would put an output onto one of the inputs is refused even so.
    output_folder : str, os.PathLike or None, optional
        Where to write. The input folder structure is kept below it
        (relative to the inputs' common folder). None and not `overwrite`:
        a new temporary folder, as deid does.
    force : bool, optional
        Read files without the ``DICM`` marker too (default True, as deid);
        False reports them as failed.
    strip_sequences : bool, optional
        Remove the top-level sequences first, as deid's option does.
    remove_private : bool, optional
        Remove private elements first, as deid's option does.
    lookup : mapping or None, optional
        Names for ``var:`` and ``func:`` that hold for every file (``ids``
        entries win). ``func:`` names resolve only here and in `ids`.
    errors : {"warn", "ignore", "raise"}, optional
        A file that cannot be read, changed or written is left out (None in
        the result) and listed in ``result.errors``; ``"warn"`` (default)
        warns once with the count, ``"raise"`` raises on the first.
    progress : bool or None, optional
        Progress bar: None after a couple of seconds, True always, False
        never.

    Returns
    -------
    list
        One entry per file: the changed ``pydicom`` dataset, or with
        `save` the path written; None for a file that failed. The list
        has an ``errors`` attribute (a DataFrame with ``file``, ``error``).

    Raises
    ------
    FileNotFoundError
        If a file does not exist (before any work).
    InputError
        If `deid` is not a recipe, or an option is invalid.
    RecipeSyntaxError
        If a recipe file cannot be read.
    ReadError
        With ``errors="raise"``, for the first file that fails.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> from deidscope.recipe import Recipe
    >>> files = list(get_files(get_dataset("dicom-cookies")))
    >>> recipe = Recipe.from_text("FORMAT dicom\n%header\nREPLACE PatientID var:id")
    >>> cleaned = replace_identifiers(files, deid=recipe, lookup={"id": "anon"})
    >>> cleaned[0].PatientID
    'anon'
    """
    from deidscope.recipe._apply import replace_identifiers as apply

    return apply(
        dicom_files,
        ids,
        deid,
        save,
        overwrite,
        output_folder,
        force,
        strip_sequences,
        remove_private,
        lookup=lookup,
        errors=errors,
        progress=progress,
    )
