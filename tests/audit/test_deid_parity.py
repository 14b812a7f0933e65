"""leaks and compare on real deid output, checked against pydicom directly."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset

import deidscope
from deidscope.audit import compare, leaks
from deidscope.fields import DEFAULT_SKIP, format_tag
from samples import deid_data_files

pytestmark = pytest.mark.parity

STATUSES = ["kept", "changed", "emptied", "removed", "added"]


@pytest.fixture(scope="module")
def deid_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    """deid's replace_identifiers with its default recipe, over deid-data."""
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    out = tmp_path_factory.mktemp("deid-out")
    inputs = list(deid_data_files())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = replace_identifiers(
            inputs, deid=DeidRecipe(), save=True, output_folder=str(out), overwrite=True
        )
    return inputs, [str(path) for path in written]


@pytest.fixture(scope="module")
def frames(deid_run: tuple[list[str], list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    inputs, outputs = deid_run
    return deidscope.read_identifiers(inputs), deidscope.read_identifiers(outputs)


def _top_level(ds: Dataset) -> dict[int, pydicom.DataElement]:
    elements = {int(e.tag): e for e in ds if e.VR != "SQ"}
    elements.update(
        {int(e.tag): e for e in getattr(ds, "file_meta", []) if e.VR != "SQ"}
    )
    skip = set(DEFAULT_SKIP)
    return {
        tag: e
        for tag, e in elements.items()
        if not tag >> 16 & 1 and e.keyword and e.keyword not in skip and tag & 0xFFFF
    }


def _empty(value: object) -> bool:
    return value is None or value == "" or value == b"" or value == []


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on odd sample values
def test_compare_agrees_with_pydicom(
    deid_run: tuple[list[str], list[str]], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    inputs, outputs = deid_run
    by_name = {os.path.basename(f): f for f in inputs}
    expected: dict[str, dict[str, int]] = {}
    for output in outputs:
        before = _top_level(pydicom.dcmread(by_name[os.path.basename(output)]))
        after = _top_level(pydicom.dcmread(output))
        for tag in before.keys() | after.keys():
            keyword = (before.get(tag) or after[tag]).keyword
            if tag not in after:
                status = "removed"
            elif tag not in before:
                status = "added"
            elif before[tag].value == after[tag].value:
                status = "kept"
            elif _empty(after[tag].value):
                status = "emptied"
            else:
                status = "changed"
            counts = expected.setdefault(keyword, dict.fromkeys(STATUSES, 0))
            counts[status] += 1
    summary = compare(*frames).set_index("name")
    assert summary.attrs["unpaired"].empty
    got = summary.loc[sorted(expected), STATUSES]
    want = pd.DataFrame.from_dict(expected, orient="index").loc[sorted(expected)]
    pd.testing.assert_frame_equal(got, want, check_names=False, check_dtype=False)
    assert len(expected) > 50  # a real comparison, not a vacuous one


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_leaks_agree_with_pydicom(
    deid_run: tuple[list[str], list[str]], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    inputs, outputs = deid_run
    found = leaks(*frames)
    kept = found[found["match"] == "kept"]
    # every person name deid's default recipe leaves in place is reported
    by_name = {os.path.basename(f): f for f in inputs}
    names_left = set()
    for output in outputs:
        before = pydicom.dcmread(by_name[os.path.basename(output)])
        after = pydicom.dcmread(output)
        for elem in before.iterall():
            if (
                elem.VR == "PN"
                and str(elem.value).strip("^ ")
                and elem.tag in after
                and after[elem.tag].value == elem.value
            ):
                names_left.add((output, format_tag(int(elem.tag))))
    reported = set(zip(kept["file"], kept["uid"], strict=True))
    assert names_left, "deid's default recipe was expected to leave private names"
    assert names_left <= reported
    # and each kept value really is unchanged in the file deid wrote
    for row in kept.itertuples():
        if "__" in row.uid:
            continue
        tag = int(row.uid.strip("()").replace(", ", ""), 16)
        before = pydicom.dcmread(row.source_file)
        after = pydicom.dcmread(row.file)
        assert str(before[tag].value) == str(after[tag].value)


def test_deid_output_keeps_private_identifiers(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """deid's default recipe leaves private tags: the leak check says so."""
    found = leaks(*frames)
    private = found[found["name"].str.startswith("(")]
    assert {"person_name", "date"} <= set(private["kind"])
    assert Path(private["file"].iloc[0]).exists()
