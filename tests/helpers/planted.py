"""A seeded synthetic corpus with identifiers planted everywhere a file can hold them.

:func:`make_planted` copies a few deid-data and pydicom test files into a
folder and plants known identifiers in each: marker tokens (``PLANT0001``,
``PLANT0002``, ... never in any source file) and realistic values (names,
dates, date-times, UIDs, phone numbers, addresses) made from the seed. Every
value planted is a row of the manifest, which says where it is, which PS3.15
Basic Profile action applies there and which option, alone, keeps it.

Places planted (see :data:`PLACES`):

- ``preamble``: the 128 bytes before ``DICM`` (a dual TIFF/DICOM file carries
  text there);
- ``file_meta``: SourceApplicationEntityTitle, PrivateInformationCreatorUID,
  PrivateInformation (bytes) and MediaStorageSOPInstanceUID (the
  SOPInstanceUID);
- ``dataset``: the patient, study, institution, device and physician
  elements, addresses, phone numbers, DT values, multi-valued elements,
  free text (with the patient's own name and ID in it), nested sequences
  (OtherPatientIDsSequence, RequestAttributesSequence, SR ContentSequence
  four levels deep with text, person name, date-time and UID items), overlay
  comments and overlay data (bytes) in several 60xx groups, private elements
  (short text, a UN value, a binary value over 4 KiB holding the token's
  bytes, a private sequence, a Retain Safe Private listed element and an
  unlisted one of the same creator);
- ``after_pixels``: elements whose tags follow PixelData (7FE0,0010): a
  private group 7FE1, the DigitalSignaturesSequence (FFFA,FFFA) and the
  DataSetTrailingPadding (FFFC,FFFC), the last holding the token's bytes.

Bytes that follow the last element without an element header are not
planted: pydicom cannot read such a file back (it reads a garbage element or
stops), and the brief asks that every file be readable.

A token is searched for as ASCII bytes; every planted value is ASCII (a name
in one UTF-8 file carries a non-ASCII given name beside the ASCII token).
"""

from __future__ import annotations

import os
import random
import shutil
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydicom
import pydicom.data
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID

from deidscope.data import get_dataset
from deidscope.ps315 import OPTIONS, lookup

__all__ = [
    "MANIFEST_COLUMNS",
    "PLACES",
    "PlantedCorpus",
    "expected_survivors",
    "find_tokens",
    "make_planted",
]

#: Where a value can be planted.
PLACES = ("preamble", "file_meta", "dataset", "after_pixels")

#: The manifest's columns.
#:
#: - ``file``: the planted file's path; ``patient``: P1, P2, ... (a patient's
#:   files share PatientID, dates, the study UID);
#: - ``token``: the exact string planted (searched for as ASCII bytes);
#: - ``place``: one of :data:`PLACES`; ``path``: the element path, such as
#:   ``ContentSequence[0].TextValue`` or ``(0019,xx9e) GEMS_ACQU_01``;
#: - ``tag`` (int, 0 for the preamble), ``keyword`` (or ``preamble``, or a
#:   description of a private element), ``VR``;
#: - ``kind``: name, id, date, datetime, uid, address, phone, text, binary;
#: - ``action``: the Basic Profile's code along the path (the strictest; ``X``
#:   for the preamble and the file meta, which the table does not list);
#: - ``retained_by``: the options that, used alone, keep the token in the file;
#: - ``cleaned_by``: the options that keep the element but must clean the
#:   token out of it (every such token is an identifier of its own file).
MANIFEST_COLUMNS = (
    "file",
    "patient",
    "token",
    "place",
    "path",
    "tag",
    "keyword",
    "VR",
    "kind",
    "action",
    "retained_by",
    "cleaned_by",
)

# (dataset, base file) pairs: which source file each planted file starts from,
# and which patient it belongs to
_BASES: tuple[tuple[str, str, str], ...] = (
    ("P1", "deid", "dicom-cookies/image1.dcm"),
    ("P1", "deid", "dicom-cookies/image2.dcm"),
    ("P1", "pydicom", "CT_small.dcm"),
    ("P2", "pydicom", "MR_small.dcm"),
    ("P2", "pydicom", "MR_small_implicit.dcm"),
    ("P2", "pydicom", "test-SR.dcm"),
    ("P3", "deid", "humans/ctbrain1.dcm"),
    ("P3", "pydicom", "examples_overlay.dcm"),
)

_GIVEN = ("Jane", "Amir", "Lucia", "Tomasz", "Ingrid", "Kwame", "Mei", "Rosa")
_FAMILY = ("Kowalczyk", "Okonkwo", "Haverbeke", "Lindqvist", "Marchetti", "Varga")
_STREETS = ("Linden Lane", "Harbour Road", "Quarry Street", "Orchard Way")
_CITIES = ("Springfield", "Lakeside", "Millbrook", "Fairhaven")

# PS3.15 Table E.3.10-1 (2026d) lists (0019,xx9E) of GEMS_ACQU_01 as safe;
# (0019,xxF0) of the same creator is not listed
SAFE_PRIVATE = (0x0019, "GEMS_ACQU_01", 0x9E, "LO")
UNSAFE_PRIVATE = (0x0019, "GEMS_ACQU_01", 0xF0, "LO")

# note(token, place, path, tags, keyword, VR, kind, **how): one manifest row
Note = Callable[..., None]


@dataclass
class PlantedCorpus:
    """The planted files and their manifest (one row per planted value and place)."""

    folder: Path
    files: list[str]
    manifest: pd.DataFrame
    sources: dict[str, str] = field(default_factory=dict)  # planted -> base file

    def tokens(self, file: str | None = None) -> set[str]:
        """The distinct tokens planted, in one file or in all."""
        rows = (
            self.manifest
            if file is None
            else self.manifest[self.manifest["file"] == file]
        )
        return set(rows["token"])


def _effective(code: str) -> str:
    """The kind of a table code: "keep", "clean" or "remove"."""
    if not code or code == "K":
        return "keep"
    if code == "C":
        return "clean"
    return "remove"


def _codes(tags: Sequence[int], option: str | None) -> list[str]:
    """The action on each tag of a path, with one option used (or none)."""
    codes = []
    for tag in tags:
        row = lookup(tag)
        if row is None:
            codes.append("")
        elif option is not None and row.get(option):
            codes.append(row[option])
        else:
            codes.append(row["basic_profile"])
    return codes


def _rules(
    tags: Sequence[int], *, removed: bool
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(basic action, retained_by, cleaned_by) for a dataset path of tags.

    `removed` says the element is removed whatever the table says (private
    elements of an unknown creator, and the like): no option keeps it.
    """
    basic = _codes(tags, None)
    action = next((c for c in basic if _effective(c) == "remove"), "")
    action = action or next((c for c in basic if c), "")
    retained: list[str] = []
    cleaned: list[str] = []
    for option in OPTIONS:
        codes = _codes(tags, option)
        kinds = {_effective(c) for c in codes}
        if "remove" in kinds:
            continue
        if "clean" in kinds:
            if not removed:
                cleaned.append(option)
        elif not removed:
            retained.append(option)
    return action, tuple(retained), tuple(cleaned)


class _Planter:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counter = 0
        self.used: set[str] = set()
        self.rows: list[dict[str, object]] = []

    def token(self) -> str:
        self.counter += 1
        return f"PLANT{self.counter:04d}"

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return str(value)
        raise RuntimeError("planted: could not make a unique value")  # pragma: no cover

    def date(self, lo: int = 1931, hi: int = 1999) -> str:
        return self.unique(
            lambda: (
                f"{self.rng.randint(lo, hi)}"
                f"{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
            )
        )

    def datetime(self) -> str:
        return self.unique(
            lambda: (
                f"{self.rng.randint(2001, 2019)}{self.rng.randint(1, 12):02d}"
                f"{self.rng.randint(1, 28):02d}{self.rng.randint(0, 23):02d}"
                f"{self.rng.randint(0, 59):02d}{self.rng.randint(0, 59):02d}"
            )
        )

    def uid(self) -> str:
        return self.unique(lambda: f"2.25.{self.rng.randrange(10**38, 10**39)}")

    def phone(self) -> str:
        return self.unique(lambda: f"+1 555 01{self.rng.randint(10, 99)}")


def _tag_of(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - guards the keywords below
        raise KeyError(keyword)
    return int(tag)


def _text_seq(items: list[Dataset]) -> DicomSequence:
    return DicomSequence(items)


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "99PLANT"
    item.CodeMeaning = meaning
    return item


def make_planted(folder: os.PathLike[str] | str, *, seed: int = 0) -> PlantedCorpus:
    """Write the planted corpus into `folder` (made if missing); return it.

    The same seed writes the same values. Each file is read back with pydicom
    (``dcmread``, no force), and every token is checked to be absent from the
    file it was made from, so a token found in an output came from the plant.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    planter = _Planter(seed)
    rng = planter.rng
    patients: dict[str, dict[str, str]] = {}
    files: list[str] = []
    sources: dict[str, str] = {}
    study_uids: dict[str, str] = {}
    previous_sop: dict[str, str] = {}
    for index, (patient, origin, name) in enumerate(_BASES):
        if origin == "deid":
            dataset, rel = name.split("/")
            source = os.path.join(get_dataset(dataset), rel)
        else:
            source = str(pydicom.data.get_testdata_file(name))
        if patient not in patients:
            family_token = planter.token()
            patients[patient] = {
                "family": family_token,
                "given": rng.choice(_GIVEN),
                "id": planter.token(),
                "birth": planter.date(),
                "study_date": planter.date(2000, 2020),
                "other_name": f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}",
                "accession": planter.token(),
                "address_token": (address_token := planter.token()),
                "address": f"{rng.randint(10, 99)} {rng.choice(_STREETS)}, "
                f"{rng.choice(_CITIES)} {address_token}",
                "phone": planter.phone(),
            }
            study_uids[patient] = planter.uid()
        target = out / f"{index:02d}_{Path(name).stem}.dcm"
        rows = _plant_one(
            planter,
            source,
            target,
            patients[patient],
            study_uid=study_uids[patient],
            previous_sop=previous_sop.get(patient),
            utf8=(index == 2),
        )
        previous_sop[patient] = next(
            str(r["token"]) for r in rows if r["keyword"] == "SOPInstanceUID"
        )
        for row in rows:
            row["file"] = str(target)
            row["patient"] = patient
        planter.rows += rows
        files.append(str(target))
        sources[str(target)] = source
    manifest = pd.DataFrame(planter.rows).loc[:, list(MANIFEST_COLUMNS)]
    _check(manifest, sources)
    return PlantedCorpus(folder=out, files=files, manifest=manifest, sources=sources)


def _plant_one(
    planter: _Planter,
    source: str,
    target: Path,
    patient: dict[str, str],
    *,
    study_uid: str,
    previous_sop: str | None,
    utf8: bool,
) -> list[dict[str, object]]:
    rng = planter.rng
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
    assert isinstance(ds, FileDataset)
    rows: list[dict[str, object]] = []

    def note(
        token: str,
        place: str,
        path: str,
        tags: Sequence[int],
        keyword: str,
        vr: str,
        kind: str,
        *,
        removed: bool = False,
        action: str | None = None,
        retained_by: tuple[str, ...] | None = None,
    ) -> None:
        if action is None:
            action, retained, cleaned = _rules(tags, removed=removed)
        else:
            retained, cleaned = (), ()
        if retained_by is not None:
            retained = retained_by
        rows.append(
            {
                "token": token,
                "place": place,
                "path": path,
                "tag": int(tags[-1]) if tags else 0,
                "keyword": keyword,
                "VR": vr,
                "kind": kind,
                "action": action,
                "retained_by": tuple(retained),
                "cleaned_by": tuple(cleaned),
            }
        )

    def put(keyword: str, value: str, kind: str, token: str | None = None) -> None:
        tag = _tag_of(keyword)
        setattr(ds, keyword, value)
        vr = ds[tag].VR
        for one in [token] if token else value.split("\\"):
            note(one, "dataset", keyword, [tag], keyword, vr, kind)

    # the preamble
    text = f"PREAMBLE {planter.token()} {patient['family']}"
    preamble_token = text.split()[1]
    ds.preamble = text.encode("ascii").ljust(128, b" ")
    note(
        preamble_token,
        "preamble",
        "preamble",
        [],
        "preamble",
        "",
        "text",
        action="X",
        retained_by=(),
    )
    note(
        patient["family"],
        "preamble",
        "preamble",
        [],
        "preamble",
        "",
        "name",
        action="X",
        retained_by=(),
    )

    # the patient
    if utf8:
        ds.SpecificCharacterSet = "ISO_IR 192"
        given = "Zoë"
    else:
        given = patient["given"]
    put("PatientName", f"{patient['family']}^{given}", "name", patient["family"])
    put("PatientID", patient["id"], "id")
    put("PatientBirthDate", patient["birth"], "date")
    put("OtherPatientNames", patient["other_name"], "name")
    put("OtherPatientIDs", f"{planter.token()}\\{planter.token()}", "id")
    put("PatientAddress", patient["address"], "address", patient["address_token"])
    put("PatientTelephoneNumbers", patient["phone"], "phone")
    mother = planter.token()
    put("PatientMotherBirthName", f"{mother}^{rng.choice(_GIVEN)}", "name", mother)
    put("EthnicGroup", planter.token(), "text")
    put(
        "PatientComments",
        f"Seen with {patient['family']} ({patient['id']})",
        "text",
        patient["family"],
    )
    rows.append({**rows[-1], "token": patient["id"]})
    put(
        "AdditionalPatientHistory",
        f"Lives at {patient['address']}",
        "address",
        patient["address_token"],
    )

    # the study and its people
    put("StudyDate", patient["study_date"], "date")
    put("AccessionNumber", patient["accession"], "id")
    put("StudyID", planter.token(), "id")
    put("AcquisitionDateTime", planter.datetime(), "datetime")
    ref_name = f"{planter.token()}^{rng.choice(_GIVEN)}^^Dr."
    put("ReferringPhysicianName", ref_name, "name", ref_name.split("^")[0])
    token = planter.token()
    put("ReferringPhysicianAddress", f"1 Clinic Rd {token}", "address", token)
    put("ReferringPhysicianTelephoneNumbers", planter.phone(), "phone")
    performer = f"{planter.token()}^{rng.choice(_GIVEN)}"
    put("PerformingPhysicianName", performer, "name", performer.split("^")[0])
    operator = f"{planter.token()}^{rng.choice(_GIVEN)}"
    put("OperatorsName", operator, "name", operator.split("^")[0])
    put(
        "StudyDescription",
        f"CT chest for {patient['family']}",
        "text",
        patient["family"],
    )
    put(
        "ImageComments",
        f"Patient {patient['id']} tolerated well",
        "text",
        patient["id"],
    )

    # the institution and the device
    token = planter.token()
    put("InstitutionName", f"St {token} Hospital", "text", token)
    token = planter.token()
    put("InstitutionAddress", f"2 Hill St {token}", "address", token)
    put("InstitutionalDepartmentName", planter.token(), "text")
    put("StationName", planter.token(), "text")
    put("DeviceSerialNumber", planter.token(), "id")

    # UIDs: the study is shared by the patient's files; a file points at the
    # patient's previous file
    sop = planter.uid()
    put("SOPInstanceUID", sop, "uid")
    put("StudyInstanceUID", study_uid, "uid")
    put("SeriesInstanceUID", planter.uid(), "uid")
    put("FrameOfReferenceUID", planter.uid(), "uid")
    if previous_sop is not None:
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = previous_sop
        ds.ReferencedImageSequence = DicomSequence([item])
        tags = [_tag_of("ReferencedImageSequence"), _tag_of("ReferencedSOPInstanceUID")]
        note(
            previous_sop,
            "dataset",
            "ReferencedImageSequence[0].ReferencedSOPInstanceUID",
            tags,
            "ReferencedSOPInstanceUID",
            "UI",
            "uid",
        )

    # nested sequences
    other = Dataset()
    other.PatientID = planter.token()
    other.IssuerOfPatientID = planter.token()
    ds.OtherPatientIDsSequence = DicomSequence([other])
    seq = _tag_of("OtherPatientIDsSequence")
    for keyword in ("PatientID", "IssuerOfPatientID"):
        note(
            str(other.get(keyword)),
            "dataset",
            f"OtherPatientIDsSequence[0].{keyword}",
            [seq, _tag_of(keyword)],
            keyword,
            "LO",
            "id",
        )
    request = Dataset()
    request.RequestedProcedureID = planter.token()
    request.ScheduledProcedureStepID = planter.token()
    request.RequestedProcedureDescription = f"Follow-up {patient['family']}"
    ds.RequestAttributesSequence = DicomSequence([request])
    seq = _tag_of("RequestAttributesSequence")
    for keyword, token in (
        ("RequestedProcedureID", request.RequestedProcedureID),
        ("ScheduledProcedureStepID", request.ScheduledProcedureStepID),
        ("RequestedProcedureDescription", patient["family"]),
    ):
        note(
            str(token),
            "dataset",
            f"RequestAttributesSequence[0].{keyword}",
            [seq, _tag_of(keyword)],
            keyword,
            request[_tag_of(keyword)].VR,
            "id" if keyword.endswith("ID") else "text",
        )

    # SR content, four levels deep
    _plant_content(planter, ds, patient, note)

    # overlays in three groups, curve data
    for group in (0x6000, 0x6002, 0x601E):
        if (group << 16 | 0x3000) in ds:
            continue
        comment_token = planter.token()
        data_token = planter.token()
        ds.add_new(group << 16 | 0x0010, "US", 8)  # OverlayRows
        ds.add_new(group << 16 | 0x0011, "US", 64)  # OverlayColumns
        ds.add_new(group << 16 | 0x0040, "CS", "G")  # OverlayType
        ds.add_new(group << 16 | 0x0050, "SS", [1, 1])  # OverlayOrigin
        ds.add_new(group << 16 | 0x0100, "US", 1)  # OverlayBitsAllocated
        ds.add_new(group << 16 | 0x0102, "US", 0)  # OverlayBitPosition
        data = bytearray(64)
        data[20 : 20 + len(data_token)] = data_token.encode("ascii")
        ds.add_new(group << 16 | 0x3000, "OW", bytes(data))
        ds.add_new(group << 16 | 0x4000, "LT", f"Annotated by {comment_token}")
        note(
            comment_token,
            "dataset",
            f"({group:04x},4000)",
            [group << 16 | 0x4000],
            "OverlayComments",
            "LT",
            "text",
        )
        note(
            data_token,
            "dataset",
            f"({group:04x},3000)",
            [group << 16 | 0x3000],
            "OverlayData",
            "OW",
            "binary",
        )
    # private elements
    _plant_private(planter, ds, note)

    # after the pixel data
    _plant_tail(planter, ds, note)

    # the file meta
    meta = ds.file_meta
    meta.MediaStorageSOPInstanceUID = UID(sop)
    note(
        sop,
        "file_meta",
        "MediaStorageSOPInstanceUID",
        [_tag_of("SOPInstanceUID")],
        "MediaStorageSOPInstanceUID",
        "UI",
        "uid",
    )
    rows[-1]["tag"] = _tag_of("MediaStorageSOPInstanceUID")
    ae = planter.token()
    meta.SourceApplicationEntityTitle = ae
    note(
        ae,
        "file_meta",
        "SourceApplicationEntityTitle",
        [],
        "SourceApplicationEntityTitle",
        "AE",
        "text",
        action="X",
        retained_by=(),
    )
    rows[-1]["tag"] = _tag_of("SourceApplicationEntityTitle")
    creator_uid = planter.uid()
    meta.PrivateInformationCreatorUID = UID(creator_uid)
    note(
        creator_uid,
        "file_meta",
        "PrivateInformationCreatorUID",
        [],
        "PrivateInformationCreatorUID",
        "UI",
        "uid",
        action="X",
        retained_by=(),
    )
    rows[-1]["tag"] = _tag_of("PrivateInformationCreatorUID")
    info = planter.token()
    meta.PrivateInformation = b"INFO " + info.encode("ascii") + b" " + bytes(6)
    note(
        info,
        "file_meta",
        "PrivateInformation",
        [],
        "PrivateInformation",
        "OB",
        "binary",
        action="X",
        retained_by=(),
    )
    rows[-1]["tag"] = _tag_of("PrivateInformation")

    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmread(target)  # readable without force
    return rows


def _plant_content(
    planter: _Planter,
    ds: Dataset,
    patient: dict[str, str],
    note: Note,
) -> None:
    """A ContentSequence four levels deep: text, person name, date-time, UID."""
    content = _tag_of("ContentSequence")
    text_item = Dataset()
    text_item.RelationshipType = "CONTAINS"
    text_item.ValueType = "TEXT"
    text_item.ConceptNameCodeSequence = DicomSequence([_code("121071", "Finding")])
    text_item.TextValue = (
        f"Findings discussed with {patient['family']}, ID {patient['id']}."
    )
    name_item = Dataset()
    name_item.RelationshipType = "CONTAINS"
    name_item.ValueType = "PNAME"
    name_item.ConceptNameCodeSequence = DicomSequence([_code("121008", "Observer")])
    observer = f"{planter.token()}^{planter.rng.choice(_GIVEN)}"
    name_item.PersonName = observer
    when_item = Dataset()
    when_item.RelationshipType = "CONTAINS"
    when_item.ValueType = "DATETIME"
    when_item.ConceptNameCodeSequence = DicomSequence([_code("111526", "DateTime")])
    when = planter.datetime()
    when_item.DateTime = when
    uid_item = Dataset()
    uid_item.RelationshipType = "CONTAINS"
    uid_item.ValueType = "UIDREF"
    uid_item.ConceptNameCodeSequence = DicomSequence([_code("121232", "Source UID")])
    uid = planter.uid()
    uid_item.UID = uid
    level3 = Dataset()
    level3.RelationshipType = "CONTAINS"
    level3.ValueType = "CONTAINER"
    level3.ContinuityOfContent = "SEPARATE"
    level3.ContentSequence = DicomSequence([text_item, name_item, when_item, uid_item])
    level2 = Dataset()
    level2.RelationshipType = "CONTAINS"
    level2.ValueType = "CONTAINER"
    level2.ContinuityOfContent = "SEPARATE"
    level2.ContentSequence = DicomSequence([level3])
    level1 = Dataset()
    level1.RelationshipType = "CONTAINS"
    level1.ValueType = "CONTAINER"
    level1.ContinuityOfContent = "SEPARATE"
    level1.ContentSequence = DicomSequence([level2])
    existing = list(ds.get("ContentSequence", []))
    ds.ContentSequence = DicomSequence([*existing, level1])
    top = len(existing)
    prefix = (
        f"ContentSequence[{top}].ContentSequence[0].ContentSequence[0].ContentSequence"
    )
    chain = [content, content, content, content]
    for token, where, keyword, vr, kind in (
        (patient["family"], "[0].TextValue", "TextValue", "UT", "name"),
        (patient["id"], "[0].TextValue", "TextValue", "UT", "id"),
        (observer.split("^")[0], "[1].PersonName", "PersonName", "PN", "name"),
        (when, "[2].DateTime", "DateTime", "DT", "datetime"),
        (uid, "[3].UID", "UID", "UI", "uid"),
    ):
        note(
            token,
            "dataset",
            prefix + where,
            [*chain, _tag_of(keyword)],
            keyword,
            vr,
            kind,
        )


def _plant_private(planter: _Planter, ds: Dataset, note: Note) -> None:
    """Private text, UN, a long binary value, a private sequence, safe and unsafe."""
    block = ds.private_block(0x0029, "PLANT PRIVATE", create=True)
    text = planter.token()
    block.add_new(0x01, "LO", f"Owner {text}")
    note(
        text,
        "dataset",
        "(0029,xx01) PLANT PRIVATE",
        [block.get_tag(0x01)],
        "private LO",
        "LO",
        "text",
        removed=True,
    )
    un = planter.token()
    block.add_new(0x02, "UN", f"{un} ".encode("ascii"))
    note(
        un,
        "dataset",
        "(0029,xx02) PLANT PRIVATE",
        [block.get_tag(0x02)],
        "private UN",
        "UN",
        "binary",
        removed=True,
    )
    long_token = planter.token()
    payload = bytearray(planter.rng.randbytes(6000))
    for offset in (4100, 5000):
        payload[offset : offset + len(long_token)] = long_token.encode("ascii")
    block.add_new(0x03, "OB", bytes(payload))
    note(
        long_token,
        "dataset",
        "(0029,xx03) PLANT PRIVATE",
        [block.get_tag(0x03)],
        "private OB > 4 KiB",
        "OB",
        "binary",
        removed=True,
    )
    inner = Dataset()
    nested = planter.token()
    inner.PatientName = f"{nested}^Nested"
    block.add_new(0x04, "SQ", DicomSequence([inner]))
    note(
        nested,
        "dataset",
        "(0029,xx04) PLANT PRIVATE[0].PatientName",
        [block.get_tag(0x04), _tag_of("PatientName")],
        "PatientName",
        "PN",
        "name",
        removed=True,
    )
    group, creator, element, vr = SAFE_PRIVATE
    gems = ds.private_block(group, creator, create=True)
    safe = planter.token()
    gems.add_new(element, vr, safe)
    note(
        safe,
        "dataset",
        f"({group:04x},xx{element:02x}) {creator}",
        [gems.get_tag(element)],
        "private safe",
        vr,
        "text",
        action="X",
        retained_by=("retain_safe_private",),
    )
    _, _, element, vr = UNSAFE_PRIVATE
    unsafe = planter.token()
    gems.add_new(element, vr, unsafe)
    note(
        unsafe,
        "dataset",
        f"({group:04x},xx{element:02x}) {creator}",
        [gems.get_tag(element)],
        "private unlisted",
        vr,
        "text",
        removed=True,
    )


def _plant_tail(planter: _Planter, ds: Dataset, note: Note) -> None:
    """Elements after (7FE0,0010): private group 7FE1, signatures, padding."""
    tail = ds.private_block(0x7FE1, "PLANT TAIL", create=True)
    token = planter.token()
    tail.add_new(0x01, "LO", token)
    note(
        token,
        "after_pixels",
        "(7fe1,xx01) PLANT TAIL",
        [tail.get_tag(0x01)],
        "private after pixels",
        "LO",
        "text",
        removed=True,
    )
    signature = Dataset()
    signature.DigitalSignatureUID = planter.uid()
    signature.DigitalSignatureDateTime = planter.datetime()
    certificate = planter.token()
    signature.CertificateOfSigner = b"CERT " + certificate.encode("ascii") + b" "
    signature.Signature = bytes(16)
    ds.DigitalSignaturesSequence = DicomSequence([signature])
    seq = 0xFFFAFFFA
    for keyword, token, vr, kind in (
        ("DigitalSignatureUID", signature.DigitalSignatureUID, "UI", "uid"),
        (
            "DigitalSignatureDateTime",
            signature.DigitalSignatureDateTime,
            "DT",
            "datetime",
        ),
        ("CertificateOfSigner", certificate, "OB", "binary"),
    ):
        note(
            str(token),
            "after_pixels",
            f"DigitalSignaturesSequence[0].{keyword}",
            [seq, _tag_of(keyword)],
            keyword,
            vr,
            kind,
        )
    padding = planter.token()
    ds.add(
        DataElement(
            0xFFFCFFFC, "OB", b"PAD " + padding.encode("ascii") + b" " + bytes(8)
        )
    )
    note(
        padding,
        "after_pixels",
        "DataSetTrailingPadding",
        [0xFFFCFFFC],
        "DataSetTrailingPadding",
        "OB",
        "binary",
    )


def _check(manifest: pd.DataFrame, sources: dict[str, str]) -> None:
    """Every token is absent from the file its planted file was made from."""
    for file, group in manifest.groupby("file", sort=False):
        raw = Path(sources[str(file)]).read_bytes()
        clash = [t for t in set(group["token"]) if t.encode("ascii") in raw]
        if clash:  # pragma: no cover - guards the seeds
            raise RuntimeError(f"planted: {clash} already in {sources[str(file)]}")


def find_tokens(
    paths: Iterable[str | os.PathLike[str]], tokens: Iterable[str]
) -> dict[str, set[str]]:
    """Which tokens occur in each file's raw bytes (as ASCII, case-sensitive)."""
    wanted = [t.encode("ascii") for t in set(tokens)]
    found: dict[str, set[str]] = {}
    for path in paths:
        raw = Path(path).read_bytes()
        found[str(path)] = {t.decode("ascii") for t in wanted if t in raw}
    return found


def expected_survivors(
    manifest: pd.DataFrame, options: Iterable[str] = ()
) -> set[tuple[str, str]]:
    """(file, token) pairs the Basic Profile with `options` keeps in the file.

    A token survives when at least one of its places is retained by one of
    the options (a token can be planted in several places of a file).
    """
    chosen = set(options)
    keep = [bool(chosen & set(r)) for r in manifest["retained_by"]]
    rows = manifest[keep]
    return set(zip(rows["file"], rows["token"], strict=True))


def copy_corpus(corpus: PlantedCorpus, folder: os.PathLike[str] | str) -> list[str]:
    """Copy the planted files into `folder`; return the copies' paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for file in corpus.files:
        target = out / Path(file).name
        shutil.copyfile(file, target)
        copies.append(str(target))
    return copies
