"""Helpers for the recipe tests: recipe files, and running deid quietly."""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deid

DATA = Path(__file__).resolve().parents[1] / "recipe" / "data"
DEID_DATA = Path(deid.__file__).parent / "data"


def shipped_recipes() -> list[Path]:
    """Every recipe shipped inside deid 0.4.13."""
    return sorted(DEID_DATA.glob("deid.*"))


def example_recipes() -> list[Path]:
    """deid's example and documentation recipes (typed in as test data)."""
    return sorted((DATA / "examples").iterdir()) + sorted((DATA / "docs").iterdir())


def all_recipes() -> list[Path]:
    return shipped_recipes() + example_recipes()


def recipe_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence deid's printing logger and its warnings."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def plain(data: Any) -> Any:
    """OrderedDicts to dicts, for comparing."""
    return json.loads(json.dumps(data))


def deid_load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """deid's own parse of one recipe file, as plain dicts, empty sections out."""
    from deid.config.utils import load_deid

    with quiet():
        loaded = plain(load_deid(os.fspath(path)))
    return {key: value for key, value in loaded.items() if value not in ([], {})}


# -- running deid's replace_identifiers and our preview on the same files --------

PYDICOM_FILES = Path(__import__("pydicom").data.__file__).parent / "test_files"


def parity_files() -> list[str]:
    """deid-data (without its 43 MB multi-frame file) and pydicom files with
    nested sequences, private blocks, DT values and file meta."""
    from samples import deid_data_files

    files = [f for f in deid_data_files() if "multiframe" not in f]
    for name in (
        "CT_small.dcm",
        "MR_small.dcm",
        "rtplan.dcm",
        "rtstruct.dcm",
        "dicomdirtests/98892001/CT5N/2392",
        "image_dfl.dcm",
        "JPGExtended.dcm",
        "SC_rgb.dcm",
        "waveform_ecg.dcm",
    ):
        path = PYDICOM_FILES / name
        if path.exists():
            files.append(str(path))
    return files


_TEXT_VRS = ("UI", "LO", "SH", "PN", "CS", "DA", "LT", "ST")


def make_uid(dicom: Any, value: Any, field: Any, item: Any) -> Any:
    """A deterministic ``func:``: a UID from the length of the old value."""
    if isinstance(field, str):
        return "1.2.3.9"
    if field.element.VR in _TEXT_VRS:
        return f"1.2.3.{len(str(field.element.value))}"
    return None


def is_name(dicom: Any, value: Any, field: Any, item: Any) -> bool:
    return "name" in str(field.name).lower()


LOOKUP: dict[str, Any] = {
    "id": "anon-id",
    "source_id": "src-1",
    "entity_timestamp": "20200101",
    "item_timestamp": "20200202",
    "entity_id": "E1",
    "item_id": "I1",
    "jitter": 5,
    "for_uid": "9.8.7",
    "generate_uid": make_uid,
    "is_name": is_name,
    "pusheenize": make_uid,
    "my_special_function": make_uid,
    "generate_suid": make_uid,
    "generate_field": make_uid,
    "remove_identifiers": make_uid,
}


def frame_values(df: Any) -> dict[tuple[str, str], str]:
    return {
        (str(f), str(u)): str(v)
        for f, u, v in zip(df.file, df.uid, df.value, strict=True)
    }


def preview_result(recipe: Any, files: list[str]) -> dict[tuple[str, str], str]:
    """Every (file, uid) -> value after the recipe, from our preview."""
    import pandas as pd

    from deidscope import read_identifiers

    df = read_identifiers(files, errors="ignore")
    result = frame_values(df)
    out = recipe.preview(df, lookup=LOOKUP)
    for file, uid, after in zip(out.file, out.uid, out.after, strict=True):
        if after is pd.NA:
            result.pop((str(file), str(uid)), None)
        else:
            result[(str(file), str(uid))] = str(after)
    return result


def deid_result(
    recipe_path: str | os.PathLike[str], files: list[str]
) -> dict[tuple[str, str], str]:
    """Every (file, uid) -> value in the datasets deid's replace_identifiers returns."""
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    from deidscope import to_frame
    from deidscope.dicom import fields_of

    ids = {os.path.abspath(f): dict(LOOKUP) for f in files}
    with quiet():
        datasets = replace_identifiers(
            list(files), deid=DeidRecipe(os.fspath(recipe_path)), ids=ids, save=False
        )
    result: dict[tuple[str, str], str] = {}
    for file, ds in zip(files, datasets, strict=True):
        result.update(frame_values(to_frame({file: fields_of(ds)})))
    return result


_FOLLOWERS = {"(0002, 0003)": "(0008, 0018)", "(0002, 0002)": "(0008, 0016)"}


def without_followers(
    ours: dict[tuple[str, str], str], theirs: dict[tuple[str, str], str]
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """Both results without the file-meta UIDs that follow a changed SOP UID.

    deidscope's one deliberate difference from deid: MediaStorageSOPInstanceUID
    (ClassUID) takes the new SOPInstanceUID (ClassUID); deid leaves it.
    """
    followed = {
        key
        for key in ours
        if key[1] in _FOLLOWERS
        and ours[key] != theirs.get(key)
        and ours[key] == ours.get((key[0], _FOLLOWERS[key[1]]))
    }
    return (
        {k: v for k, v in ours.items() if k not in followed},
        {k: v for k, v in theirs.items() if k not in followed},
    )
