"""get_identifiers gives deid 0.4.13's fields on every sample file.

deid runs for real on the same files. Keys are compared after normalising
deid's pydicom-3 form ``(0008,1115)__0__(0008,1150)`` to the spec's; names are
compared with the private components (ours carry the creator form, deid's are
empty) blanked.
"""

from __future__ import annotations

import tracemalloc
import warnings

import pytest
from deid.dicom import get_identifiers as deid_get_identifiers
from pydicom.dataset import Dataset

from deidscope.dicom import get_identifiers
from deidscope.fields import normalize_uid
from samples import all_sample_files, deid_data_files, short_id


def _deid_name(name: str) -> str:
    return "__".join("" if part.startswith("(") else part for part in name.split("__"))


def _deid_fields(path: str) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = deid_get_identifiers([path])
    (fields,) = result.values()
    return {normalize_uid(uid): field for uid, field in fields.items()}


@pytest.mark.parity
@pytest.mark.parametrize("path", all_sample_files(), ids=short_id)
def test_same_fields_as_deid(path: str) -> None:
    theirs = _deid_fields(path)
    ours = get_identifiers(path, errors="ignore")[path]
    assert list(ours) == list(theirs)  # same fields, same order
    for uid, field in ours.items():
        other = theirs[uid]
        assert _deid_name(field.name) == other.name, uid  # type: ignore[attr-defined]
        assert field.is_filemeta == other.is_filemeta, uid  # type: ignore[attr-defined]
        mine, deids = field.element, other.element  # type: ignore[attr-defined]
        assert mine.VR == deids.VR, uid
        assert mine.tag == deids.tag, uid
        if deids.private_creator is not None:  # ours is set where pydicom left it
            assert mine.private_creator == deids.private_creator, uid
        with warnings.catch_warnings():  # comparing items converts their values
            warnings.simplefilter("ignore")
            # a sequence: pydicom Datasets equal to deid's, item by item
            assert mine.value == deids.value, uid
        if mine.VR == "SQ":
            assert all(isinstance(item, Dataset) for item in mine.value), uid


def test_parity_covers_nested_private_and_trailing_elements() -> None:
    """The sample set exercises what the parity test claims to cover."""
    uids: set[str] = set()
    names: set[str] = set()
    for path in all_sample_files():
        fields = get_identifiers(path, errors="ignore")[path]
        uids.update(fields)
        names.update(field.name for field in fields.values())
    assert any(uid.count("__") >= 4 for uid in uids)  # two levels of nesting
    assert any(name.startswith('(0009,"GEMS_IDEN_01"') for name in names)
    assert "(fffc, fffc)" in uids  # DataSetTrailingPadding, stored after PixelData
    assert "(7fe0, 0010)" not in uids


def test_pixel_data_is_never_loaded() -> None:
    big = next(f for f in deid_data_files() if f.endswith("ultrasound-multiframe.dcm"))
    tracemalloc.start()
    try:
        ids = get_identifiers(big)
        for field in ids[big].values():
            _ = field.element.value
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak} bytes for a 43 MB file"
    assert len(ids[big]) > 50
