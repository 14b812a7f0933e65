"""Synthetic files for the writing side of de-identification (tests/recipe).

``write_file`` saves a small, valid Secondary Capture image with identifiers
in the places the Basic Profile must clean: patient and study elements,
private blocks (an unknown creator, a listed creator's safe and unlisted
elements), the preamble and the file meta.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
NAME = "Doe^Jane"
PREAMBLE_TEXT = b"PREAMBLE Jane Doe 1970"


def make_dataset(
    *,
    patient_id: str = "PID-4711",
    name: str = NAME,
    study_uid: str | None = None,
    series_uid: str | None = None,
    study_date: str = "20200315",
    **elements: Any,
) -> Dataset:
    """Return a valid Secondary Capture image dataset with identifiers."""
    ds = Dataset()
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.ContentDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC-0815"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.StudyDescription = f"CT head for {name.replace('^', ' ')}"
    ds.SeriesDescription = "axial"
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyID = "S-42"
    ds.SeriesNumber = "1"
    ds.InstanceNumber = "1"
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 4
    ds.Columns = 4
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(16))
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", name)
    block = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    block.add_new(0x23, "DS", "12.5")  # Table E.3.10-1: Table Speed
    block.add_new(0x25, "LO", name)  # not listed
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.SourceApplicationEntityTitle = "JANEDOE_PACS"
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"PRIVINFO-4711"
    ds.preamble = PREAMBLE_TEXT.ljust(128, b"\0")
    return ds


def write_file(path: Path, **kwargs: Any) -> Path:
    """Write :func:`make_dataset` to `path` (folders made); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_dataset(**kwargs).save_as(path, enforce_file_format=True)
    return path
