"""``replace_identifiers``: apply a recipe's ``%header`` to files, as deid does.

Files are read and handled in chunks: each chunk's fields become one frame,
the recipe runs over it once (a :class:`~deidscope.recipe.RecipeRun`, the
run :meth:`Recipe.preview` reads, so what a preview shows is what is
written), and the run's outcome is applied to each dataset. A file that cannot be read,
changed or written is reported and the others go on.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence

from deidscope._progress import progress_bar
from deidscope.errors import (
    BatchErrors,
    Errors,
    ErrorsFrame,
    InputError,
    ReadError,
    ReplaceErrorsWarning,
)
from deidscope.fields import DEFAULT_SKIP
from deidscope.files import (
    PathLike,
    as_input_list,
    atomic_output,
    check_output,
    check_paths,
    common_root,
    inputs_written_over,
    output_targets,
    read_config_skip,
    read_dataset,
)
from deidscope.frame._builder import FrameBuilder
from deidscope.parallel._write import frame_to_csv
from deidscope.recipe._actions import RecipeFunctionError
from deidscope.recipe._engine import Outcome
from deidscope.recipe._expand import uid_path
from deidscope.recipe._finish import finish_dataset, new_file_meta, profile_options
from deidscope.recipe._keyed import as_key
from deidscope.recipe._run import RecipeRun
from deidscope.recipe._types import RecipeLike, as_recipe

__all__ = ["CROSSWALK_COLUMNS", "ReplaceResult", "replace_identifiers"]

logger = logging.getLogger("deidscope.recipe")

#: Files read, changed and written together.
CHUNK_FILES = 64


class ReplaceResult(list[Any]):
    """The list ``replace_identifiers`` returns, with the files that failed.

    One entry per input file, in order: the dataset (``save=False``) or the
    path written (``save=True``), or None for a file that failed.

    Attributes
    ----------
    errors : ErrorsFrame
        Columns ``file`` and ``error``, one row per file that failed.
    """

    def __init__(self, items: Iterable[Any], errors: ErrorsFrame) -> None:
        super().__init__(items)
        self.errors = errors


def _ids_lookup(
    names: Sequence[str],
    keys: Sequence[PathLike | None],
    ids: Mapping[Any, Any] | None,
    lookup: Mapping[str, Any] | None,
) -> dict[Any, Any]:
    """One lookup mapping in the form :class:`RecipeRun` reads.

    `keys`: per input, what `ids` may know it by (its path; a dataset's
    filename, or None).
    """
    merged: dict[Any, Any] = dict(lookup or {})
    if ids:
        if not isinstance(ids, Mapping):
            raise InputError(
                f"replace_identifiers: ids must map files to mappings, "
                f"but got {type(ids).__name__}"
            )
        by_abs = {
            os.path.abspath(os.fspath(k)): v
            for k, v in ids.items()
            if isinstance(k, str | os.PathLike)
        }
        for name, key in zip(names, keys, strict=True):
            if key is None:
                continue
            entry = ids.get(key, by_abs.get(os.path.abspath(os.fspath(key))))
            if isinstance(entry, Mapping):
                merged[name] = entry
    return merged


def _filename(ds: Dataset) -> str | None:
    name = getattr(ds, "filename", None)
    return name if isinstance(name, str) and name else None


def _navigate(ds: Dataset, uid: str, is_filemeta: bool) -> tuple[Dataset, int] | None:
    """Return the dataset holding a uid's element, and its tag (None if gone)."""
    parts = uid.split("__")
    container: Dataset = ds.file_meta if is_filemeta else ds
    for i in range(0, len(parts) - 1, 2):
        tag = uid_path(parts[i])[0]
        if tag not in container:
            return None
        items = container[tag].value
        index = int(parts[i + 1])
        if not isinstance(items, DicomSequence | list) or index >= len(items):
            return None
        container = items[index]
    return container, uid_path(parts[-1])[0]


def _apply(ds: Dataset, outcome: Outcome, rows: Sequence[int]) -> None:
    """Write the outcome's changes for one file into its dataset."""
    removals = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in rows:
            action = outcome.action[row]
            if action == "KEEP":
                continue
            is_meta = bool(outcome.is_filemeta[row])
            if outcome.removed[row]:
                removals.append(row)
                continue
            if is_meta and getattr(ds, "file_meta", None) is None:
                ds.file_meta = FileMetaDataset()
            place = _navigate(ds, outcome.uid(row), is_meta)
            if place is None:
                continue
            container, tag = place
            value = outcome.values.get(row)
            vr = outcome.vr(row)
            current = container.get(tag)
            if current is not None and vr == current.VR and row < outcome.n_original:
                if value is None and vr == "SQ":
                    current.value = DicomSequence()
                else:
                    current.value = value
            else:
                container[tag] = DataElement(tag, vr, value)
        for row in removals:
            place = _navigate(ds, outcome.uid(row), bool(outcome.is_filemeta[row]))
            if place is not None and place[1] in place[0]:
                del place[0][place[1]]


def _dataset_getter(
    datasets: Mapping[int, Dataset], by_name: Mapping[str, int], order: Sequence[str]
) -> Any:
    """Return the engine's ``dicoms`` callback for one chunk."""

    def get(code: int) -> Dataset | None:
        return datasets.get(by_name[order[code]])

    return get


def _frame_of(
    names: Sequence[str],
    datasets: Mapping[int, Dataset],
    skip: Collection[str | int] = DEFAULT_SKIP,
) -> pd.DataFrame:
    """Return the identifier frame of datasets read in memory.

    The frame's own builder reads raw values without converting them, so
    only the elements a recipe changes are ever converted (and written back
    re-encoded); the rest are written as they were read.
    """
    builder = FrameBuilder()
    for index, ds in datasets.items():
        builder.add_dataset(names[index], ds, skip)
    return builder.build()


def _has_marker(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(132)[128:] == b"DICM"


def _write(ds: Dataset, target: str, *, overwrite: bool, keep_preamble: bool) -> None:
    """Write a dataset: a new file meta, the preamble zeroed unless kept."""
    meta = new_file_meta(ds)
    if meta is not None:
        ds.file_meta = meta
    if not keep_preamble and getattr(ds, "preamble", None) is not None:
        ds.preamble = bytes(128)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with (
        atomic_output(
            target, overwrite=overwrite, caller="replace_identifiers"
        ) as temp,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        ds.save_as(temp)


def _strip(ds: Dataset, *, strip_sequences: bool, remove_private: bool) -> None:
    if remove_private:
        ds.remove_private_tags()
    if strip_sequences:
        for tag in [elem.tag for elem in ds if elem.VR == "SQ"]:
            del ds[tag]


def replace_identifiers(
    dicom_files: PathLike | Dataset | Iterable[PathLike | Dataset],
    ids: Mapping[Any, Any] | None = None,
    deid: RecipeLike | Sequence[RecipeLike] | None = None,
    save: bool = False,
    overwrite: bool = False,
    output_folder: PathLike | None = None,
    force: bool = True,
    config: PathLike | None = None,
    strip_sequences: bool = False,
    remove_private: bool = False,
    disable_skip: bool = False,
    *,
    lookup: Mapping[str, Any] | None = None,
    errors: Errors = "warn",
    progress: bool | None = None,
    keep_preamble: bool = False,
    key: str | bytes | None = None,
    crosswalk: PathLike | None = None,
    crosswalk_in_output: bool = False,
) -> ReplaceResult:
    """Implement :func:`deidscope.dicom.replace_identifiers`."""
    batch = BatchErrors(
        "replace_identifiers",
        errors,
        warning=ReplaceErrorsWarning,
        listed_in="result.errors",
    )
    if deid is None:
        raise InputError(
            "replace_identifiers: expected deid= a Recipe, recipe text, a recipe "
            "file or a list of them, but got None (deidscope has no default recipe)"
        )
    recipe = as_recipe(deid, caller="replace_identifiers", combine=True)
    options = profile_options(recipe.comments)
    secret = as_key(key, caller="replace_identifiers")
    inputs = as_input_list(
        dicom_files,
        caller="replace_identifiers",
        also=(Dataset,),
        what="paths or pydicom Datasets",
    )
    given = {i: item for i, item in enumerate(inputs) if isinstance(item, Dataset)}
    check_paths(
        [p for p in inputs if not isinstance(p, Dataset)], caller="replace_identifiers"
    )
    for path in inputs:
        if not isinstance(path, Dataset) and os.path.isdir(path):
            raise InputError(
                f"replace_identifiers: expected files, but {os.fspath(path)!r} is a "
                "folder (list its files with get_files)"
            )
    skip: Collection[str | int] = DEFAULT_SKIP
    if config is not None:
        skip = read_config_skip(config, caller="replace_identifiers")
    if disable_skip:
        skip = ()
    # a dataset is named by its place (its filename, if any, finds its ids)
    names = [
        f"<dataset {i}>" if i in given else os.fspath(item)
        for i, item in enumerate(inputs)
    ]
    id_keys = [
        _filename(item) if isinstance(item, Dataset) else item for item in inputs
    ]
    merged = _ids_lookup(names, id_keys, ids, lookup)
    paths = names
    if (
        options is not None
        and "retain_long_modified_dates" in options
        and secret is None
        and not _has_name(merged, "jitter")
    ):
        raise InputError(
            "replace_identifiers: the profile's Retain Longitudinal Modified Dates "
            "option moves dates by var:jitter: pass key= (one offset per patient, "
            "the same in every run with that key) or lookup={'jitter': days}; "
            "without either the dates would be kept as they are"
        )
    table = _Crosswalk.open(
        crosswalk,
        secret=secret,
        overwrite=overwrite,
        output_folder=output_folder if save else None,
        allowed_in_output=crosswalk_in_output,
    )
    memo: dict[tuple[Any, ...], Any] = {}
    results: list[Any] = [None] * len(paths)
    targets: list[str] = []
    clashes: dict[str, str] = {}
    if save:
        # in place only when asked by name, as deid: no folder, overwrite=True
        in_place = output_folder is None and overwrite
        if output_folder is None:
            root = (
                common_root(names)
                if overwrite
                else tempfile.mkdtemp(prefix="deidscope-")
            )
        else:
            root = os.fspath(output_folder)
        real = [i for i in range(len(names)) if i not in given]
        targets = [""] * len(names)
        for i, target in zip(
            real, output_targets([names[i] for i in real], root), strict=True
        ):
            targets[i] = target
        for i, ds in given.items():
            filename = _filename(ds)
            if in_place and filename is not None:
                targets[i] = filename  # deid writes over it when asked by name
            else:
                base = os.path.basename(filename) if filename else f"dataset{i}.dcm"
                targets[i] = os.path.join(root, base)
        if not in_place:
            clashes = dict(
                inputs_written_over(
                    [names[i] for i in real], [targets[i] for i in real]
                )
            )

    def fail(index: int, reason: str) -> None:
        logger.info("replace_identifiers: %s: %s", names[index], reason)
        batch.add(names[index], reason)

    def deidentify(datasets: dict[int, Dataset]) -> None:
        """Run the recipe over some datasets and change them; drop failures."""
        try:
            frame = _frame_of(names, datasets, skip)
            order = [str(f) for f in frame["file"].cat.categories]
            by_name = {names[i]: i for i in datasets}
            run = RecipeRun(
                recipe,
                frame,
                merged,
                errors="raise" if errors == "raise" else "collect",
                skip_invalid=False,  # a line deid fails on fails the files
                caller="replace_identifiers",
                dicoms=_dataset_getter(datasets, by_name, order),
                keep_values=True,
                memo=memo,
                key=secret,
            )
            outcome = run.outcome
        except RecipeFunctionError:
            raise  # errors="raise": it names the file, the line and the function
        except Exception as exc:
            if len(datasets) > 1:  # find the file it is about: one by one
                for index in list(datasets):
                    alone = {index: datasets[index]}
                    deidentify(alone)
                    if index not in alone:
                        datasets.pop(index)
                return
            (index,) = datasets
            fail(index, f"cannot apply the recipe: {type(exc).__name__}: {exc}")
            datasets.pop(index)
            return
        for code, error in outcome.failures.items():
            index = by_name[order[code]]
            fail(index, f"cannot apply the recipe: {error.where}")
            datasets.pop(index)
        per_file: dict[int, list[int]] = {}
        for row in outcome.touched():
            per_file.setdefault(int(outcome.file[row]), []).append(int(row))
        for code, file in enumerate(order):
            index = by_name[file]
            if index not in datasets:
                continue
            rows = per_file.get(code, [])
            try:
                before = _crosswalk_values(datasets[index]) if table else None
                _apply(datasets[index], outcome, rows)
                finish_dataset(
                    datasets[index],
                    options,
                    dates_moved=any(
                        outcome.action[r] == "JITTER"
                        and outcome.text[r] != outcome.before[r]
                        for r in rows
                    ),
                )
                if table is not None and before is not None:
                    moved = any(
                        outcome.action[r] == "JITTER"
                        and outcome.text[r] != outcome.before[r]
                        for r in rows
                    )
                    offset = run.file_lookup(file).get("jitter") if moved else None
                    table.add(
                        index,
                        names[index],
                        before,
                        _crosswalk_values(datasets[index]),
                        offset,
                    )
            except Exception as exc:
                fail(index, f"cannot apply the recipe: {type(exc).__name__}: {exc}")
                datasets.pop(index)

    with progress_bar(len(paths), progress, desc="replace_identifiers") as bar:
        for start in range(0, len(paths), CHUNK_FILES):
            chunk = range(start, min(start + CHUNK_FILES, len(paths)))
            datasets: dict[int, Dataset] = {}
            for index in chunk:
                try:
                    if index in given:  # the caller's dataset is not changed
                        ds = copy.deepcopy(given[index])
                    else:
                        if not force and not _has_marker(names[index]):
                            raise ReadError(
                                names[index],
                                "no DICM marker at byte 128 (pass force=True to "
                                "read it)",
                            )
                        ds = read_dataset(names[index])
                    _strip(
                        ds,
                        strip_sequences=strip_sequences,
                        remove_private=remove_private,
                    )
                    datasets[index] = ds
                except ReadError as exc:
                    fail(index, exc.reason)
            if datasets:
                deidentify(datasets)
            for index in chunk:
                found = datasets.get(index)
                if found is None:
                    bar.update(1)
                    continue
                if not save:
                    results[index] = found
                    bar.update(1)
                    continue
                target = targets[index]
                if target in clashes:
                    fail(
                        index,
                        f"{target} is the input {clashes[target]}: refused "
                        "(only output_folder=None with overwrite=True writes "
                        "over the inputs)",
                    )
                elif os.path.exists(target) and not overwrite:
                    fail(index, f"{target} exists (pass overwrite=True to replace it)")
                else:
                    try:
                        _write(
                            found,
                            target,
                            overwrite=overwrite,
                            keep_preamble=keep_preamble,
                        )
                        results[index] = target
                        if table is not None:
                            table.written(index, target)
                    except Exception as exc:
                        fail(index, f"cannot be written: {type(exc).__name__}: {exc}")
                bar.update(1)
    if table is not None:
        table.write(results, save=save)
    return ReplaceResult(results, batch.finish(total=len(paths)))


def _has_name(lookup: Mapping[Any, Any], name: str) -> bool:
    """Whether a merged lookup gives `name`, globally or to a file."""
    return name in lookup or any(
        isinstance(v, Mapping) and name in v for v in lookup.values()
    )


_CROSSWALK_FIELDS = (
    ("patient", "PatientID"),
    ("accession", "AccessionNumber"),
    ("study_id", "StudyID"),
    ("study", "StudyInstanceUID"),
    ("series", "SeriesInstanceUID"),
    ("instance", "SOPInstanceUID"),
)

#: The columns of the crosswalk file.
CROSSWALK_COLUMNS: tuple[str, ...] = (
    "input",
    "output",
    *(f"{kind}_{age}" for kind, _ in _CROSSWALK_FIELDS for age in ("old", "new")),
    "date_offset_days",
)


def _crosswalk_values(ds: Dataset) -> tuple[str, ...]:
    values = []
    for _, keyword in _CROSSWALK_FIELDS:
        value = ds.get(keyword)  # by keyword: the value
        values.append("" if value is None else str(value))
    return tuple(values)


class _Crosswalk:
    """The old-to-new table of a keyed run, written as CSV at the end."""

    def __init__(self, path: str, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.rows: dict[int, dict[str, Any]] = {}

    @classmethod
    def open(
        cls,
        path: PathLike | None,
        *,
        secret: bytes | None,
        overwrite: bool,
        output_folder: PathLike | None,
        allowed_in_output: bool,
    ) -> _Crosswalk | None:
        if path is None:
            return None
        if secret is None:
            raise InputError(
                "replace_identifiers: crosswalk= needs key=: without a key the "
                "pseudonyms cannot be made again, and there is nothing to re-link"
            )
        target = check_output(
            path, overwrite=overwrite, caller="replace_identifiers", suffixes=(".csv",)
        )
        if output_folder is not None and not allowed_in_output:
            folder = os.path.realpath(os.fspath(output_folder))
            where = os.path.realpath(target)
            if os.path.commonpath([folder, where]) == folder:
                raise InputError(
                    f"replace_identifiers: the crosswalk {os.fspath(path)!r} would be "
                    f"written inside the output folder {os.fspath(output_folder)!r}, "
                    "which is what gets released; write it elsewhere (or pass "
                    "crosswalk_in_output=True)"
                )
        return cls(os.fspath(target), overwrite)

    def add(
        self,
        index: int,
        name: str,
        old: tuple[str, ...],
        new: tuple[str, ...],
        offset: Any,
    ) -> None:
        row: dict[str, Any] = {"input": name, "output": ""}
        for (kind, _), before, after in zip(_CROSSWALK_FIELDS, old, new, strict=True):
            row[f"{kind}_old"] = before
            row[f"{kind}_new"] = after
        row["date_offset_days"] = "" if offset is None else str(offset)
        self.rows[index] = row

    def written(self, index: int, target: str) -> None:
        if index in self.rows:
            self.rows[index]["output"] = target

    def write(self, results: Sequence[Any], *, save: bool) -> None:
        """Write the rows of the files that made it (a failed file has none)."""
        keep = [
            row
            for index, row in sorted(self.rows.items())
            if results[index] is not None
        ]
        frame = pd.DataFrame(keep, columns=list(CROSSWALK_COLUMNS), dtype=object)
        with atomic_output(
            self.path, overwrite=self.overwrite, caller="replace_identifiers"
        ) as temp:
            # exact values (no formula quote): a table programs read back
            frame_to_csv(frame, temp, escape=False)
            os.chmod(temp, 0o600)
