"""What a de-identified dataset carries beyond its recipe: method, meta, preamble.

After a recipe ran over a dataset (:mod:`deidscope.recipe._apply`):

- a recipe written by :meth:`Recipe.from_profile` (its header comments name
  the profile and its options, so the recipe text keeps them) records what
  was done: ``PatientIdentityRemoved`` ``YES``, ``DeidentificationMethod``
  and the De-identification Method Code Sequence (0012,0064) with the
  PS3.16 CID 7050 codes of the profile and of each option used, and
  Longitudinal Temporal Information Modified (0028,0303) ``MODIFIED`` when
  the recipe moved a date of the file;
- a profile recipe's output stays valid where the table's code alone would
  break its IOD (:func:`keep_iod_valid`): an attribute the table removes
  (``X``) gets a zero-length value where the data set's IOD makes it Type 2
  (Referenced Performed Procedure Step Sequence in an SR or a Key Object
  Selection document; Responsible Person and Organization of an animal);
  a sequence the table replaces by a dummy (``D``) and the recipe emptied
  gets a dummy item (Verifying Observer Sequence), or goes where an empty
  one is invalid and none is required (an SR's Content Sequence: the root
  container has no children left);
- a written file gets a new file meta made from the dataset (the SOP Class
  and Instance UIDs the dataset now has, the transfer syntax, pydicom's
  implementation UID and name; nothing else of the original meta: no
  source AE title, no private information) and a zeroed preamble, unless
  the caller keeps the preamble by name (``keep_preamble=True``).

pydicom writes only the elements it holds: bytes after the last element of
the input (after the pixel data, trailing padding) are never copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydicom import __version__ as _pydicom_version
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, generate_uid

from deidscope import ps315

__all__ = [
    "METHOD_CODES",
    "finish_dataset",
    "keep_iod_valid",
    "method_codes",
    "new_file_meta",
    "profile_options",
]

_PROFILE_COMMENT = (
    "# DICOM PS3.15 Table E.1-1, Basic Application Level Confidentiality Profile"
)
_OPTIONS_COMMENT = "# options: "

#: PS3.16 CID 7050 (De-identification Method): code value and meaning of the
#: Basic Profile (``"basic_profile"``) and of each option.
METHOD_CODES: dict[str, tuple[str, str]] = {
    "basic_profile": ("113100", "Basic Application Confidentiality Profile"),
    "clean_pixel_data": ("113101", "Clean Pixel Data Option"),
    "clean_recognizable_visual_features": (
        "113102",
        "Clean Recognizable Visual Features Option",
    ),
    "clean_graphics": ("113103", "Clean Graphics Option"),
    "clean_structured_content": ("113104", "Clean Structured Content Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_long_full_dates": (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    "retain_long_modified_dates": (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    "retain_patient_characteristics": (
        "113108",
        "Retain Patient Characteristics Option",
    ),
    "retain_device_identity": ("113109", "Retain Device Identity Option"),
    "retain_uids": ("113110", "Retain UIDs Option"),
    "retain_safe_private": ("113111", "Retain Safe Private Option"),
    "retain_institution_identity": ("113112", "Retain Institution Identity Option"),
}


def profile_options(comments: Sequence[str]) -> tuple[str, ...] | None:
    """Return the options of a profile recipe from its header comments.

    None when the comments are not those :meth:`Recipe.from_profile` writes.
    """
    if _PROFILE_COMMENT not in comments:
        return None
    for comment in comments:
        if comment.startswith(_OPTIONS_COMMENT):
            names = comment[len(_OPTIONS_COMMENT) :].split(", ")
            return tuple(n for n in names if n in ps315.OPTIONS)
    return ()


def method_codes(options: Iterable[str]) -> DicomSequence:
    """Return the De-identification Method Code Sequence of a profile run."""
    items = []
    for name in ("basic_profile", *options):
        value, meaning = METHOD_CODES[name]
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    return DicomSequence(items)


#: The SOP classes of the structured reports and Key Object Selection
#: documents: their series modules (SR Document Series, Key Object Document
#: Series) make Referenced Performed Procedure Step Sequence Type 2.
_SR_CLASSES = "1.2.840.10008.5.1.4.1.1.88."
#: The dummy of an emptied Verifying Observer Sequence: the Type 1 attributes
#: of its item (the table's D for each) and the Type 2 code sequence (Z).
_OBSERVER = (
    ("VerifyingObserverName", "ANONYMOUS"),
    ("VerifyingOrganization", "ANONYMOUS"),
    ("VerificationDateTime", "19000101000000"),
)


def keep_iod_valid(ds: Dataset) -> None:
    """Undo what makes a profile's output invalid where the IOD needs more.

    Changes `ds` in place, after a profile recipe ran over it:

    - an SR or Key Object Selection document without Referenced Performed
      Procedure Step Sequence (the table's ``X/Z/D``: removed, since it is
      Type 3 in the images' General Series) gets it empty (Type 2 there);
    - an animal patient (a species given) without Responsible Person and
      Responsible Organization (``X``) gets both zero-length (Type 2C);
    - an empty Verifying Observer Sequence (``D``, emptied) gets one dummy
      item: name and organization ``ANONYMOUS``, date-time 19000101, an
      empty observer code sequence;
    - an empty top-level Content Sequence of an SR (``D``, emptied) is
      removed: it is Type 1C, required only when the root container has
      children, and none is left;
    - an emptied OverlayData (Clean Graphics' ``C``: the bitmap may hold
      burned-in text, and cannot be cleaned bit by bit) becomes a blank
      bitmap of its plane's size (Type 1 in the Overlay Plane module).

    Nothing identifying is added: zero-length values and fixed dummies.
    """
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if (
        sop_class.startswith(_SR_CLASSES)
        and "ReferencedPerformedProcedureStepSequence" not in ds
    ):
        ds.ReferencedPerformedProcedureStepSequence = DicomSequence()
    animal = ds.get("PatientSpeciesDescription") or ds.get("PatientSpeciesCodeSequence")
    if animal and "ResponsiblePerson" not in ds and "ResponsibleOrganization" not in ds:
        ds.ResponsiblePerson = ""
        ds.ResponsibleOrganization = ""
    observers = ds.get("VerifyingObserverSequence")
    if observers is not None and not observers:
        item = Dataset()
        for keyword, value in _OBSERVER:
            setattr(item, keyword, value)
        item.VerifyingObserverIdentificationCodeSequence = DicomSequence()
        ds.VerifyingObserverSequence = DicomSequence([item])
    content = ds.get("ContentSequence")
    if content is not None and not content and "ValueType" in ds:
        del ds.ContentSequence
    for group in range(0x6000, 0x6020, 2):
        _blank_overlay(ds, group)


def _blank_overlay(ds: Dataset, group: int) -> None:
    """Make an emptied OverlayData (Type 1) a blank bitmap of its plane."""
    data = ds.get(group << 16 | 0x3000)
    if data is None or data.value:
        return
    rows = ds.get(group << 16 | 0x0010)
    columns = ds.get(group << 16 | 0x0011)
    frames = ds.get(group << 16 | 0x0015)
    if rows is None or columns is None or not rows.value or not columns.value:
        return
    try:
        count = int(frames.value) if frames is not None and frames.value else 1
    except (TypeError, ValueError):
        count = 1
    bits = int(rows.value) * int(columns.value) * max(count, 1)
    size = (bits + 7) // 8
    ds[group << 16 | 0x3000] = DataElement(
        group << 16 | 0x3000, "OW", bytes(size + size % 2)
    )


def finish_dataset(
    ds: Dataset, options: Sequence[str] | None, *, dates_moved: bool
) -> None:
    """Record the profile and its options in a de-identified dataset.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset, changed in place.
    options : sequence of str or None
        The profile's options (None: the recipe is not a profile recipe, and
        nothing is recorded).
    dates_moved : bool
        Whether the recipe moved a date of this dataset.
    """
    if options is None:
        return
    keep_iod_valid(ds)
    ds.PatientIdentityRemoved = "YES"
    if "DeidentificationMethod" not in ds or not ds.DeidentificationMethod:
        ds.DeidentificationMethod = "PS3.15 Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = method_codes(options)
    if dates_moved:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    elif "retain_long_full_dates" in options:
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"


def new_file_meta(ds: Dataset) -> FileMetaDataset | None:
    """Return a file meta made from the dataset, nothing of the original kept.

    None when the dataset had no file meta (it is written without one).
    """
    old = getattr(ds, "file_meta", None)
    if old is None or not len(old):
        return None
    meta = FileMetaDataset()
    meta.FileMetaInformationGroupLength = 0  # pydicom writes the real length
    meta.FileMetaInformationVersion = b"\x00\x01"
    # a dataset without SOP UIDs (a DICOMDIR): the class as it was, the
    # instance a new UID derived from the old one (as deid's pydicom_uuid)
    sop_class = ds.get("SOPClassUID") or old.get("MediaStorageSOPClassUID")
    if sop_class:
        meta.MediaStorageSOPClassUID = sop_class
    sop_instance = ds.get("SOPInstanceUID")
    if not sop_instance and old.get("MediaStorageSOPInstanceUID"):
        sop_instance = generate_uid(entropy_srcs=[str(old.MediaStorageSOPInstanceUID)])
    if sop_instance:
        meta.MediaStorageSOPInstanceUID = sop_instance
    syntax = old.get("TransferSyntaxUID")
    if syntax:
        meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"PYDICOM {_pydicom_version}"[:16]
    return meta
