"""replace_identifiers takes deid 0.4.13's parameters, in deid's order."""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

import pydicom
import pytest

from _recipe_helpers import frame_values, quiet
from deidscope import to_frame
from deidscope.dicom import fields_of, replace_identifiers
from deidscope.recipe import Recipe
from write_helpers import make_dataset, write_file

DEID_ORDER = (
    "dicom_files",
    "ids",
    "deid",
    "save",
    "overwrite",
    "output_folder",
    "force",
    "config",
    "strip_sequences",
    "remove_private",
    "disable_skip",
)


def _recipe_file(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "recipe.dicom"
    path.write_text("FORMAT dicom\n\n%header\n\n" + "\n".join(lines) + "\n")
    return str(path)


def _values(ds: pydicom.Dataset) -> dict[tuple[str, str], str]:
    return {
        key: value
        for key, value in frame_values(to_frame({"f": fields_of(ds)})).items()
        if not key[1].startswith("(0002,")
    }


def test_the_parameters_are_deids_in_deids_order() -> None:
    parameters = inspect.signature(replace_identifiers).parameters
    positional = [
        name
        for name, p in parameters.items()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert tuple(positional) == DEID_ORDER


@pytest.mark.parity
def test_deid_has_the_same_order() -> None:
    from deid.dicom import replace_identifiers as deid_replace

    assert tuple(inspect.signature(deid_replace).parameters) == DEID_ORDER


@pytest.mark.parity
@pytest.mark.parametrize("disable_skip", [False, True])
def test_disable_skip_as_deid(tmp_path: Path, disable_skip: bool) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers as deid_replace

    path = str(write_file(tmp_path / "a.dcm"))
    recipe = _recipe_file(tmp_path, "REMOVE PixelData", "BLANK PatientName")
    (ours,) = replace_identifiers(path, deid=recipe, disable_skip=disable_skip)
    with quiet():
        (theirs,) = deid_replace(
            [path], deid=DeidRecipe(recipe), disable_skip=disable_skip
        )
    assert ("PixelData" in ours) is ("PixelData" in theirs) is (not disable_skip)
    assert not ours.PatientName
    assert not theirs.PatientName
    assert _values(ours) == _values(theirs)


@pytest.mark.parity
def test_a_config_skip_list_as_deid(tmp_path: Path) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers as deid_replace

    path = str(write_file(tmp_path / "a.dcm"))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "get": {"skip": ["PixelData", "PatientID"]},
                "put": {"actions": [{"action": "KEEP", "field": "PixelData"}]},
            }
        )
    )
    recipe = _recipe_file(tmp_path, "BLANK PatientID", "BLANK PatientName")
    (ours,) = replace_identifiers(path, deid=recipe, config=config)
    with quiet():
        (theirs,) = deid_replace([path], deid=DeidRecipe(recipe), config=str(config))
    assert ours.PatientID == theirs.PatientID == "PID-4711"  # skipped
    assert not ours.PatientName
    assert not theirs.PatientName
    assert _values(ours) == _values(theirs)


@pytest.mark.parity
def test_datasets_as_deid_but_never_changed(tmp_path: Path) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers as deid_replace

    recipe = _recipe_file(
        tmp_path, "BLANK PatientName", "REPLACE PatientID anon", "REMOVE StudyDate"
    )
    path = str(write_file(tmp_path / "a.dcm"))
    mine = pydicom.dcmread(path)
    before = copy.deepcopy(mine)
    theirs_input = copy.deepcopy(mine)
    (ours,) = replace_identifiers([mine], deid=recipe)
    with quiet():
        (theirs,) = deid_replace([theirs_input], deid=DeidRecipe(recipe))
        (from_path,) = deid_replace([path], deid=DeidRecipe(recipe))
    assert _values(ours) == _values(theirs) == _values(from_path)
    assert mine == before  # the caller's dataset is not changed...
    assert theirs_input.PatientID == "anon"  # ...deid changes it in place


def test_datasets_are_written_under_their_names(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_file(tmp_path / "in" / "scan.dcm"))
    bare = make_dataset()
    written = replace_identifiers(
        [ds, bare],
        deid=Recipe.from_profile(),
        save=True,
        output_folder=tmp_path / "out",
    )
    assert [Path(p).name for p in written] == ["scan.dcm", "dataset1.dcm"]
    assert pydicom.dcmread(written[0]).PatientName == ""
    assert ds.PatientName == "Doe^Jane"  # the caller's dataset is not changed
    # ids find a dataset by its file name
    (named,) = replace_identifiers(
        ds,
        ids={ds.filename: {"id": "from-ids"}},
        deid=Recipe.from_text("FORMAT dicom\n%header\nREPLACE PatientID var:id\n"),
    )
    assert named.PatientID == "from-ids"
