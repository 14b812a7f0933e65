"""Sample DICOM files for the tests: deid-data, pydicom's test files, synthetic ones.

No real patient data: deid-data and pydicom's bundled files are synthetic or
anonymised test data, and :func:`write_dicom` makes files from scratch.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pydicom.data
from pydicom.datadict import dictionary_has_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from deidscope.data import DATASETS, get_dataset

PYDICOM_TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"


@functools.cache
def deid_data_files() -> tuple[str, ...]:
    """Every DICOM file of deid-data (zip archives aside), sorted."""
    files: list[str] = []
    for name in DATASETS:
        base = get_dataset(name)
        files += [
            os.path.join(base, f)
            for f in sorted(os.listdir(base))
            if f.endswith(".dcm")
        ]
    return tuple(files)


@functools.cache
def pydicom_test_files() -> tuple[str, ...]:
    """pydicom's bundled test files that pydicom reads as DICOM, sorted.

    "Reads" means ``dcmread(force=True)`` succeeds and finds at least one
    element of the DICOM dictionary; a forced read of a text file also
    "succeeds", with one garbage element.
    """
    files: list[str] = []
    for path in sorted(PYDICOM_TEST_FILES.rglob("*")):
        if not path.is_file():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            except Exception:
                continue
            tags = list(ds.keys()) + list(getattr(ds, "file_meta", {}).keys())
        if any(dictionary_has_tag(tag) for tag in tags):
            files.append(str(path))
    return tuple(files)


def all_sample_files() -> tuple[str, ...]:
    return deid_data_files() + pydicom_test_files()


def short_id(path: str) -> str:
    """A short, readable test id for a sample file."""
    parts = Path(path).parts
    return "/".join(parts[-2:])


def write_dicom(path: Path, *, preamble: bool = True, **elements: Any) -> Path:
    """Write a small synthetic DICOM file with the given keyword elements."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Synthetic^Person"
    ds.PatientID = "SYN-0001"
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=preamble)
    return path


def nested_dataset() -> Dataset:
    """A dataset with sequences two levels deep and a private block."""
    inner = Dataset()
    inner.CodeValue = "121322"
    inner.CodeMeaning = "Inner code"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    item.PurposeOfReferenceCodeSequence = Sequence([inner])
    second = Dataset()
    second.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    second.ReferencedSOPInstanceUID = "1.2.3.4.6"
    ds = Dataset()
    ds.ReferencedImageSequence = Sequence([item, second])
    block = ds.private_block(0x0009, "DEIDSCOPE TEST", create=True)
    block.add_new(0x01, "LO", "Private^Name")
    block.add_new(0x02, "SH", "secret-id")
    return ds
