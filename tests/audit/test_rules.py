"""The heuristics: what looks identifying, and why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import deidscope
from deidscope.audit import profile
from deidscope.audit._rules import KINDS, RULES
from samples import write_dicom

# (name, keyword, VR, value, expected kinds)
CASES = [
    ("PatientName", "PatientName", "PN", "Doe^John", "person_name"),
    ("PatientName", "PatientName", "PN", "", ""),
    ('(0033,"MITRA",13)', "", "LO", "SIMPSON^HOMER^J^", "person_name"),
    ('(0009,"GEMS",40)', "", "LO", "BERRA,JAMES", "person_name"),
    ("ImageComments", "ImageComments", "LT", "seen by Dr. Smith", "person_name"),
    ("StudyDescription", "StudyDescription", "LO", "Thorax LAT", ""),
    ("StudyDate", "StudyDate", "DA", "20131210", "date"),
    ("AcquisitionDateTime", "AcquisitionDateTime", "DT", "20131210101010", "date"),
    ("ImageComments", "ImageComments", "LT", "done 2013-12-10", "date"),
    ("ImageComments", "ImageComments", "LT", "done 10/12/2013", "date"),
    ('(0029,"SIEMENS",43)', "", "LO", "V1 20120914", "date"),
    ("StudyTime", "StudyTime", "TM", "101010", "time"),
    ("ImageComments", "ImageComments", "LT", "arrived 10:30", "time"),
    ("PatientID", "PatientID", "LO", "ABC12", "id"),
    ("AccessionNumber", "AccessionNumber", "SH", "A1", "id"),
    ('(0031,"MITRA LINKED",20)', "", "LO", "M1212121", "id"),
    ("StudyStatusID", "StudyStatusID", "CS", "READ", ""),
    ("InstanceNumber", "InstanceNumber", "IS", "12345678", ""),
    ("SliceThickness", "SliceThickness", "DS", "20131210", ""),
    ("X__CodeValue", "CodeValue", "SH", "121322", ""),
    ("SOPInstanceUID", "SOPInstanceUID", "UI", "1.2.3.4.5", "uid"),
    ("SOPClassUID", "SOPClassUID", "UI", "1.2.840.10008.5.1.4.1.1.2", ""),
    # a vendor's SOP class (Siemens CSA non-image) names a kind of object
    ("X__ReferencedSOPClassUID", "ReferencedSOPClassUID", "UI", "1.3.12.2.1107.5", ""),
    (
        "X__ReferencedSOPInstanceUID",
        "ReferencedSOPInstanceUID",
        "UI",
        "1.2.840.10008.1.2\\1.2.3.4.5",
        "uid",
    ),
    (
        "ScheduledProcedureStepID",
        "ScheduledProcedureStepID",
        "SH",
        "1.2.826.0.1.3680043",
        "id, uid",
    ),
    ('(0009,"X",01)', "", "SH", "1.2.840.10008.1.2.1", ""),
    ("InstitutionAddress", "InstitutionAddress", "ST", "Somewhere", "address"),
    (
        "ImageComments",
        "ImageComments",
        "LT",
        "6270 State Rd, Parma, OH 44134",
        "address",
    ),
    ('(0049,"GEMS",0A)', "", "ST", "InVivo Research 3500 CT", ""),
    ("PatientTelephoneNumbers", "PatientTelephoneNumbers", "SH", "x", "phone"),
    ("ImageComments", "ImageComments", "LT", "call (555) 123-4567", "phone"),
    ("ImageComments", "ImageComments", "LT", "host 192.168.100.200", ""),
    ("ImageComments", "ImageComments", "LT", "mail jane.doe@example.org", "email"),
    ('(0011,"X",11)', "", "OB", "<5 bytes>", ""),
    ('(0011,"X",12)', "", "UN", "DOE^JANE", "person_name"),
]


@pytest.mark.parametrize(
    ("name", "keyword", "vr", "value", "expected"),
    CASES,
    ids=[f"{i}-{case[2]}-{case[4] or 'none'}" for i, case in enumerate(CASES)],
)
def test_rules_flag_values(
    name: str, keyword: str, vr: str, value: str, expected: str
) -> None:
    df = pd.DataFrame(
        {
            "file": ["a.dcm"],
            "uid": ["(0009, 1001)" if name.startswith("(") else "(0010, 0010)"],
            "name": [name],
            "VR": [vr],
            "value": [value],
            "tag": ["(0010, 0010)"],
            "keyword": [keyword],
            "private_creator": [None],
            "depth": [0],
            "is_filemeta": [False],
        }
    )
    row = profile(df).iloc[0]
    assert row["looks_like"] == expected, row["reasons"]
    assert (row["reasons"] != "") == bool(expected)


def test_rules_are_well_formed() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert {rule.kind for rule in RULES} == set(KINDS)
    assert all(rule.reason for rule in RULES)


def test_rules_find_identifiers_in_nested_private_elements(tmp_path: Path) -> None:
    inner = Dataset()
    block = inner.private_block(0x0011, "ACME HIDDEN", create=True)
    block.add_new(0x01, "LO", "DOE^JANE")
    block.add_new(0x02, "LT", "born 1970-03-02, phone 555-123-4567")
    path = write_dicom(
        tmp_path / "nested.dcm", ReferencedImageSequence=Sequence([inner])
    )
    table = profile(deidscope.read_identifiers([path])).set_index("name")
    name = 'ReferencedImageSequence__(0011,"ACME HIDDEN",01)'
    text = 'ReferencedImageSequence__(0011,"ACME HIDDEN",02)'
    assert table.loc[name, "looks_like"] == "person_name"
    assert table.loc[name, "in_sequence"]
    assert table.loc[name, "is_private"]
    assert table.loc[text, "looks_like"] == "date, phone"
    assert "DICOM person name" in table.loc[name, "reasons"]
    assert "'DOE^JANE'" in table.loc[name, "reasons"]
