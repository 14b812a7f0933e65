"""Recipe.from_profile: the PS3.15 Basic Profile as a deid recipe."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from _recipe_helpers import deid_load, parity_files, plain
from deidscope import ps315, read_identifiers
from deidscope.errors import InputError
from deidscope.recipe import Recipe
from deidscope.recipe._apply import replace_identifiers
from deidscope.recipe._keyed import Keyed
from write_helpers import SECONDARY_CAPTURE, make_dataset, write_file


def _by_field(recipe: Recipe) -> dict[str, str]:
    return {a.field: a.action for a in recipe.header}


def test_basic_profile_lines() -> None:
    recipe = Recipe.from_profile()
    actions = _by_field(recipe)
    assert actions["PatientName"] == "BLANK"  # Z
    assert actions["PatientAddress"] == "REMOVE"  # X
    assert actions["StudyInstanceUID"] == "REPLACE"  # U
    assert actions["InstitutionName"] == "REPLACE"  # X/Z/D: a dummy, valid anywhere
    assert actions["AcquisitionContextSequence"] == "BLANK"  # X/Z, Type 2 sequence
    assert actions["ReferencedStudySequence"] == "REMOVE"  # X/Z, Type 3 sequence
    assert actions["ContentDate"] == "REPLACE"  # Z/D: a dummy
    # Z/D, but Z: one dummy for every patient would join them
    assert next(a for a in recipe.header if a.field == "PatientID").action == "BLANK"
    # X/Z/U*: U*, no line (the sequence stays, its UIDs have their own lines)
    assert "SourceImageSequence" not in actions
    assert "ReferencedImageSequence" not in actions
    assert actions["ReferencedSOPInstanceUID"] == "REPLACE"
    assert actions["contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$"] == "REMOVE"
    uid = next(a for a in recipe.header if a.field == "SOPInstanceUID")
    assert uid.value == "deid_func:pydicom_uuid"
    assert recipe.header[-2:][0].field == "PatientIdentityRemoved"
    # one line per row but the two X/Z/U* ones, the three keyed pseudonyms,
    # the two ADD lines
    assert len(recipe.header) == len(ps315.load_table()) - 2 + 3 + 2
    assert [a.value for a in recipe.header[-5:-2]] == ["func:deidscope_pseudonym"] * 3


@pytest.mark.parametrize(
    ("options", "field", "action", "value"),
    [
        (["retain_uids"], "StudyInstanceUID", "KEEP", None),
        (["retain_long_full_dates"], "StudyDate", "KEEP", None),
        (["retain_long_modified_dates"], "StudyDate", "JITTER", "var:jitter"),
        # a dummy time: Type 1 in places, and a whole-day shift keeps it as is
        (["retain_long_modified_dates"], "StudyTime", "REPLACE", "000000"),
        (["clean_descriptors"], "StudyDescription", "BLANK", None),
        (["retain_device_identity"], "DeviceSerialNumber", "KEEP", None),
    ],
    ids=["uids", "full-dates", "modified-dates", "times", "descriptors", "device"],
)
def test_options(
    options: list[str], field: str, action: str, value: str | None
) -> None:
    line = next(a for a in Recipe.from_profile(options).header if a.field == field)
    assert (line.action, line.value) == (action, value)


PRIVATE = "contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$"


def test_retain_safe_private_keeps_table_e3_10_1_and_removes_the_rest() -> None:
    recipe = Recipe.from_profile(["retain_safe_private"])
    fields = _by_field(recipe)
    assert fields[PRIVATE] == "REMOVE"  # whatever the options
    assert fields['(0019,"GEMS_ACQU_01",23)'] == "KEEP"
    assert fields['(7E01,"HOLOGIC, Inc.",01)'] == "KEEP"
    keeps = [a for a in recipe.header if a.action == "KEEP" and '"' in a.field]
    assert len(keeps) == len(ps315.load_safe_private())


def _private(ds: Dataset) -> dict[int, object]:
    return {int(e.tag): e.value for e in ds if e.tag.is_private}


def test_retain_safe_private_on_a_file(tmp_path: Path) -> None:
    path = write_file(tmp_path / "in.dcm")
    (plain_profile,) = replace_identifiers([path], deid=Recipe.from_profile())
    assert _private(plain_profile) == {}
    (kept,) = replace_identifiers(
        [path], deid=Recipe.from_profile(["retain_safe_private"])
    )
    # the listed element and its creator stay; the unlisted element of the
    # same creator and the unknown creator's block (the patient's name) go
    assert _private(kept) == {0x00190010: "GEMS_ACQU_01", 0x00191023: "12.5"}


def test_the_date_options_exclude_each_other() -> None:
    with pytest.raises(InputError, match="exclude each other"):
        Recipe.from_profile(["retain_long_full_dates", "retain_long_modified_dates"])


def test_unknown_option() -> None:
    with pytest.raises(InputError, match="unknown options \\['retain_names'\\]"):
        Recipe.from_profile(["retain_names"])


@pytest.mark.parity
def test_profile_recipe_round_trips_and_deid_reads_it(tmp_path: Path) -> None:
    recipe = Recipe.from_profile(["retain_long_modified_dates"], jitter="-30")
    text = recipe.to_text()
    assert Recipe.from_text(text) == recipe
    path = tmp_path / "deid.profile"
    path.write_text(text)
    assert deid_load(path) == plain(recipe.to_deid())
    assert recipe.lint().empty


def test_profile_preview_removes_identifiers() -> None:
    df = read_identifiers(parity_files(), errors="ignore")
    out = Recipe.from_profile().preview(df)
    names = out[out.uid == "(0010, 0010)"]
    assert len(names) == df[df.uid == "(0010, 0010)"].file.nunique()
    assert (names.after == "").all()
    private = out[out.uid.astype(str).str.match(r"^\(00(09|11|19|43)")]
    assert len(private)
    assert private.after.isna().all()
    sop = out[out.uid == "(0008, 0018)"].set_index("file").after
    media = out[out.uid == "(0002, 0003)"].set_index("file").after
    assert (media.reindex(sop.index) == sop).all()


def _reference(uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = SECONDARY_CAPTURE
    item.ReferencedSOPInstanceUID = uid
    return item


@pytest.mark.parametrize("key", [None, "secret"], ids=["no-key", "key"])
def test_uid_reference_sequences_stay_with_their_uids_replaced(
    tmp_path: Path, key: str | None
) -> None:
    """X/Z/U*: the references stay and point at the new UIDs of the files."""
    first = write_file(tmp_path / "in" / "a.dcm")
    old = str(pydicom.dcmread(first).SOPInstanceUID)
    derivation = Dataset()
    derivation.SourceImageSequence = Sequence([_reference(old)])
    second = write_file(
        tmp_path / "in" / "b.dcm",
        ReferencedImageSequence=Sequence([_reference(old)]),
        SourceImageSequence=Sequence([_reference(old)]),
        DerivationImageSequence=Sequence([derivation]),
    )
    a, b = replace_identifiers([first, second], deid=Recipe.from_profile(), key=key)
    new = str(a.SOPInstanceUID)
    assert new != old
    if key is not None:
        assert new == Keyed(key.encode()).uid(old)
    nested = b.DerivationImageSequence[0].SourceImageSequence
    for sequence in (b.ReferencedImageSequence, b.SourceImageSequence, nested):
        assert len(sequence) == 1
        assert sequence[0].ReferencedSOPInstanceUID == new
        assert sequence[0].ReferencedSOPClassUID == SECONDARY_CAPTURE


def test_retain_uids_keeps_the_references(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "a.dcm", SourceImageSequence=Sequence([_reference("2.25.7")])
    )
    (ds,) = replace_identifiers([path], deid=Recipe.from_profile(["retain_uids"]))
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == "2.25.7"


def _add_plane(ds: Dataset, group: int) -> None:
    for element, vr, value in (
        (0x0010, "US", 4),  # OverlayRows
        (0x0011, "US", 4),  # OverlayColumns
        (0x0022, "LO", "drawn by Dr Who"),  # OverlayDescription
        (0x0040, "CS", "G"),  # OverlayType
        (0x0050, "SS", [1, 1]),  # OverlayOrigin
        (0x0100, "US", 1),  # OverlayBitsAllocated
        (0x0102, "US", 0),  # OverlayBitPosition
        (0x1500, "LO", "Jane's mark"),  # OverlayLabel
        (0x3000, "OW", bytes(2)),  # OverlayData
        (0x4000, "LT", "Doe Jane"),  # OverlayComments
    ):
        ds.add_new(group << 16 | element, vr, value)


def test_the_profile_removes_each_overlay_plane_whole(tmp_path: Path) -> None:
    """OverlayData is X and Type 1 in its plane: the plane goes with it."""
    path = tmp_path / "a.dcm"
    ds = make_dataset()
    for group in (0x6000, 0x6002, 0x601E):
        _add_plane(ds, group)
    ds.save_as(path, enforce_file_format=True)
    (out,) = replace_identifiers([path], deid=Recipe.from_profile())
    assert [e.tag for e in out if 0x6000 <= e.tag.group <= 0x601E] == []
    assert out.Rows == 4  # the image's own attributes stay


BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def _code(value: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = "99TEST"
    code.CodeMeaning = meaning
    return code


def _report(path: Path, sop_class: str = BASIC_TEXT_SR) -> Path:
    """A verified text report by Dr Who on Jane Doe, done in a step."""
    step = _reference("2.25.99")
    step.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    observer = Dataset()
    observer.VerifyingObserverName = "Who^Doctor"
    observer.VerifyingOrganization = "Gallifrey Clinic"
    observer.VerificationDateTime = "20200316093000"
    observer.VerifyingObserverIdentificationCodeSequence = Sequence(
        [_code("WHO-1", "Dr Who")]
    )
    text = Dataset()
    text.RelationshipType = "CONTAINS"
    text.ValueType = "TEXT"
    text.ConceptNameCodeSequence = Sequence([_code("F-1", "Finding")])
    text.TextValue = "Jane Doe has a cold"
    return write_file(
        path,
        SOPClassUID=sop_class,
        Modality="SR",
        ValueType="CONTAINER",
        ConceptNameCodeSequence=Sequence([_code("R-1", "Report")]),
        ContinuityOfContent="SEPARATE",
        CompletionFlag="COMPLETE",
        VerificationFlag="VERIFIED",
        ReferencedPerformedProcedureStepSequence=Sequence([step]),
        VerifyingObserverSequence=Sequence([observer]),
        ContentSequence=Sequence([text]),
    )


def test_the_profile_keeps_a_report_valid(tmp_path: Path) -> None:
    """What the IOD needs beyond the table's code: empty, dummy, or gone."""
    (ds,) = replace_identifiers(
        [_report(tmp_path / "sr.dcm")], deid=Recipe.from_profile()
    )
    # X/Z/D, Type 2 in the SR Document Series: empty, not removed
    assert ds.ReferencedPerformedProcedureStepSequence == Sequence()
    # D: one dummy observer with the item's Type 1 and 2 attributes
    (observer,) = ds.VerifyingObserverSequence
    assert observer.VerifyingObserverName == "ANONYMOUS"
    assert observer.VerifyingOrganization == "ANONYMOUS"
    assert observer.VerificationDateTime == "19000101000000"
    assert observer.VerifyingObserverIdentificationCodeSequence == Sequence()
    # D on the content: emptied, and an empty Type 1C sequence is invalid
    # where the root container has no children left: removed
    assert "ContentSequence" not in ds
    assert ds.VerificationFlag == "VERIFIED"
    text = str(ds)
    for original in ("Who", "Gallifrey", "20200316", "Jane", "2.25.99"):
        assert original not in text


def test_the_profile_mends_only_what_the_iod_needs(tmp_path: Path) -> None:
    """An image loses the step sequence (Type 3); a plain recipe mends nothing."""
    image = write_file(
        tmp_path / "ct.dcm",
        ReferencedPerformedProcedureStepSequence=Sequence([_reference("2.25.9")]),
        ResponsiblePerson="Doe^John",
    )
    (ds,) = replace_identifiers([image], deid=Recipe.from_profile())
    assert "ReferencedPerformedProcedureStepSequence" not in ds
    assert "ResponsiblePerson" not in ds  # a human patient: X
    plain_recipe = Recipe.from_text(
        "FORMAT dicom\n%header\nBLANK VerifyingObserverSequence\n"
        "REMOVE ReferencedPerformedProcedureStepSequence\n"
    )
    (ds,) = replace_identifiers([_report(tmp_path / "sr.dcm")], deid=plain_recipe)
    assert ds.VerifyingObserverSequence == Sequence()
    assert "ReferencedPerformedProcedureStepSequence" not in ds


def test_an_animal_keeps_its_responsible_person_empty(tmp_path: Path) -> None:
    """Type 2C for an animal: the table's X becomes a zero-length value."""
    path = write_file(
        tmp_path / "cat.dcm",
        PatientSpeciesDescription="cat",
        ResponsiblePerson="Doe^John",
        ResponsiblePersonRole="OWNER",
        ResponsibleOrganization="Cat Rescue Ltd",
    )
    (ds,) = replace_identifiers([path], deid=Recipe.from_profile())
    assert ds.ResponsiblePerson == ""
    assert ds.ResponsibleOrganization == ""
    assert ds.PatientSpeciesDescription == "cat"


def test_a_sequence_with_x_or_d_is_removed() -> None:
    """X/D on a sequence: emptied is invalid (Type 1 or 3), removed is not."""
    actions = _by_field(Recipe.from_profile())
    assert actions["WaveformAnnotationSequence"] == "REMOVE"
    assert actions["OperatorIdentificationSequence"] == "REMOVE"
    assert actions["OperatorsName"] == "REPLACE"  # X/D on a value: a dummy


def test_clean_graphics_leaves_a_blank_overlay(tmp_path: Path) -> None:
    """C on OverlayData: a blank bitmap of the plane's size (Type 1)."""
    path = tmp_path / "a.dcm"
    ds = make_dataset()
    _add_plane(ds, 0x6002)
    ds[0x60023000].value = b"\xff\x0f"
    ds.save_as(path, enforce_file_format=True)
    (out,) = replace_identifiers([path], deid=Recipe.from_profile(["clean_graphics"]))
    assert out[0x60023000].value == bytes(2)  # 4 x 4 bits
    assert out[0x60020010].value == 4  # the plane stays


def test_clean_descriptors_keeps_the_request_cleaned(tmp_path: Path) -> None:
    """C on RequestAttributesSequence: kept; its IDs go, its text is cleaned."""
    request = Dataset()
    request.RequestedProcedureID = "RP-4711"
    request.ScheduledProcedureStepID = "SPS-4711"
    request.RequestedProcedureDescription = "CT head for Jane Doe"
    path = write_file(tmp_path / "a.dcm", RequestAttributesSequence=Sequence([request]))
    (out,) = replace_identifiers(
        [path], deid=Recipe.from_profile(["clean_descriptors"])
    )
    (item,) = out.RequestAttributesSequence
    assert "RequestedProcedureID" not in item
    assert "ScheduledProcedureStepID" not in item
    text = item.RequestedProcedureDescription
    assert text.startswith("CT head for")
    assert "Jane" not in text
    assert "Doe" not in text


def test_retain_device_identity_cleans_the_network_id(tmp_path: Path) -> None:
    """NetworkID (AE) is C with the option: kept, cleaned like other text."""
    plain_id = write_file(tmp_path / "a.dcm", NetworkID="CT_NODE_7")
    named = write_file(tmp_path / "b.dcm", NetworkID="DOE_CT")
    recipe = Recipe.from_profile(["retain_device_identity"])
    a, b = replace_identifiers([plain_id, named], deid=recipe)
    assert a.NetworkID == "CT_NODE_7"
    assert b.NetworkID == "[removed]_CT"  # Doe, the patient's family name
    (basic,) = replace_identifiers([plain_id], deid=Recipe.from_profile())
    assert "NetworkID" not in basic
