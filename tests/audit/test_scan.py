"""deidscope.audit.scan_files and what leaks adds to the heuristics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset

import deidscope
from deidscope.audit import _scan as scan_module
from deidscope.audit import leaks, scan_files
from deidscope.audit._scan import SCAN_COLUMNS
from deidscope.errors import InputError
from samples import write_dicom


def _pair(
    tmp_path: Path, edit: object, **elements: object
) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    before = write_dicom(tmp_path / "before" / "a.dcm", **elements)
    ds = pydicom.dcmread(before)
    edit(ds)  # type: ignore[operator]
    after = tmp_path / "after" / "a.dcm"
    after.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(after)
    return (
        before,
        after,
        deidscope.read_identifiers([before]),
        deidscope.read_identifiers([after]),
    )


def _hide(ds: Dataset) -> None:
    """Blank the name and ID but hide them elsewhere, as a careless tool might."""
    name = str(ds.PatientName)
    ds.PatientName = ""
    ds.PatientID = ""
    ds.preamble = b"OWNER " + name.encode() + bytes(128 - 6 - len(name))
    block = ds.private_block(0x0011, "HIDER", create=True)
    block.add_new(0x01, "OB", b"\x01\x02" + name.upper().encode("utf-16-le") + b"\x00")
    block.add_new(0x02, "OB", bytes(range(256)) * 20 + name.replace("^", " ").encode())


def test_scan_finds_the_forms_and_places(tmp_path: Path) -> None:
    before, after, before_df, _ = _pair(
        tmp_path, _hide, PatientName="Quist^Ottoline", PatientID="QX-4411"
    )
    found = scan_files([after], before_df)
    assert tuple(found.columns) == SCAN_COLUMNS
    found = found[found["kind"] == "person_name"]
    forms = set(zip(found["where"], found["form"], strict=True))
    assert ("preamble", "as is, utf-8") in forms
    assert ("dataset", "upper case, utf-16le") in forms
    assert ("dataset", "^ as space, utf-8") in forms
    assert set(found["source_value"]) == {"Quist^Ottoline"}
    assert (found["source_file"] == str(before)).all()
    # nothing of the ID, which is gone; nothing shorter than min_bytes
    assert not found["source_value"].str.contains("QX-4411").any()
    assert scan_files([after], before_df, min_bytes=100).empty


def test_scan_without_the_automaton_finds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, after, before_df, _ = _pair(
        tmp_path, _hide, PatientName="Quist^Ottoline", PatientID="QX-4411"
    )
    fast = scan_files([after], before_df)
    monkeypatch.setattr(scan_module, "_aho", None)
    slow = scan_files([after], before_df)
    pd.testing.assert_frame_equal(fast, slow)
    assert len(fast) >= 3


def test_leaks_counts_what_the_profile_removes(
    tmp_path: Path,
) -> None:
    def edit(ds: Dataset) -> None:
        ds.PatientName = ""
        ds.PatientID = ""

    _, _, before_df, after_df = _pair(
        tmp_path,
        edit,
        InstitutionName="Marrowfield Clinic",
        PatientComments="Drawn by Harlan",  # X
    )
    found = leaks(before_df, after_df)
    kinds = dict(zip(found["source_name"], found["kind"], strict=True))
    assert kinds["InstitutionName"] == "profile"
    assert kinds["PatientComments"] == "profile"
    # the heuristics alone miss the institution
    heuristic = leaks(before_df, after_df, kinds=["person_name", "id", "date"])
    assert "InstitutionName" not in set(heuristic["source_name"])


def test_leaks_respects_the_options(tmp_path: Path) -> None:
    def edit(ds: Dataset) -> None:
        ds.PatientName = ""
        ds.PatientID = ""

    _, _, before_df, after_df = _pair(
        tmp_path, edit, InstitutionName="Marrowfield Clinic"
    )
    kept = leaks(before_df, after_df)
    uids = {"SOPInstanceUID", "MediaStorageSOPInstanceUID"}
    assert {*uids, "InstitutionName"} <= set(kept["source_name"])
    options = ["retain_uids", "retain_institution_identity"]
    allowed = leaks(before_df, after_df, options=options)
    # the file meta's copy of the SOP Instance UID is kept with it
    assert not {*uids, "InstitutionName"} & set(allowed["source_name"])
    with pytest.raises(InputError, match="unknown options"):
        leaks(before_df, after_df, options=["retain_everything"])
    with pytest.raises(InputError, match="unknown kinds"):
        leaks(before_df, after_df, kinds=["secrets"])
    with pytest.raises(InputError, match="min_bytes"):
        scan_files([], before_df, min_bytes=0)


def test_binary_values_are_compared_by_their_bytes(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 24  # 6 KiB: the frame shows <6144 bytes>

    def same_length(ds: Dataset) -> None:
        ds.PatientName = ""
        ds.PatientID = ""
        block = ds.private_block(0x0011, "HIDER", create=False)
        ds[block.get_tag(0x01)].value = bytes(reversed(payload))

    def add_private(ds: Dataset) -> None:
        block = ds.private_block(0x0011, "HIDER", create=True)
        block.add_new(0x01, "OB", payload)

    before = write_dicom(tmp_path / "b" / "a.dcm")
    ds = pydicom.dcmread(before)
    add_private(ds)
    ds.save_as(before)
    changed = tmp_path / "changed" / "a.dcm"
    changed.parent.mkdir()
    ds = pydicom.dcmread(before)
    same_length(ds)
    ds.save_as(changed)
    kept = tmp_path / "kept" / "a.dcm"
    kept.parent.mkdir()
    ds = pydicom.dcmread(before)
    ds.PatientName = ""
    ds.PatientID = ""
    ds.save_as(kept)
    before_df = deidscope.read_identifiers([before])
    for path, expected in ((changed, 0), (kept, 1)):
        after_df = deidscope.read_identifiers([path])
        assert (after_df["value"] == "<6144 bytes>").sum() == 1
        found = leaks(before_df, after_df)
        binary = found[found["source_value"].str.startswith("<6144 bytes")]
        assert len(binary) == expected, path


def test_a_value_also_in_a_kept_element_is_not_a_leak_elsewhere(
    tmp_path: Path,
) -> None:
    def edit(ds: Dataset) -> None:
        ds.PatientName = ""
        ds.PatientID = ""
        del ds[0x00110010]
        del ds[0x00111001]

    before = write_dicom(tmp_path / "b" / "a.dcm", ImageType=["ORIGINAL", "PRIMARY"])
    ds = pydicom.dcmread(before)
    ds.private_block(0x0011, "COPIER", create=True).add_new(0x01, "LO", "ORIGINAL")
    ds.save_as(before)
    ds = pydicom.dcmread(before)
    edit(ds)
    after = tmp_path / "a" / "a.dcm"
    after.parent.mkdir()
    ds.save_as(after)
    before_df = deidscope.read_identifiers([before])
    after_df = deidscope.read_identifiers([after])
    found = leaks(before_df, after_df, scan_bytes=True)
    assert "ORIGINAL" not in set(found["source_value"])


def test_a_dummy_equal_to_an_original_value_is_not_a_leak(tmp_path: Path) -> None:
    # the corpus case: a birth time of midnight, and the profile's dummy time
    # 000000 written into InstanceCreationTime (1,000 files gave 29 such leaks)
    from deidscope.dicom import replace_identifiers
    from deidscope.recipe import Recipe

    before = write_dicom(
        tmp_path / "b" / "a.dcm",
        PatientBirthTime="000000",
        InstanceCreationTime="084826.804",
        PatientName="Quist^Ottoline",
    )
    out = tmp_path / "out"
    profile = Recipe.from_profile()
    written = replace_identifiers([before], deid=profile, save=True, output_folder=out)
    assert b"000000" in Path(written[0]).read_bytes()  # the dummy is there
    before_df = deidscope.read_identifiers([before])
    after_df = deidscope.read_identifiers([written[0]])
    assert leaks(before_df, after_df, scan_bytes=True).empty
    # a recipe that keeps the birth time is still caught, where it was kept
    weak = Recipe.from_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    kept = replace_identifiers(
        [before], deid=weak, save=True, output_folder=tmp_path / "weak"
    )
    found = leaks(before_df, deidscope.read_identifiers(kept), scan_bytes=True)
    birth = found[found["source_name"] == "PatientBirthTime"]
    assert set(birth["name"]) == {"PatientBirthTime"}


def _with_jpeg_comment(source: str, target: Path, comment: str) -> Path:
    """A copy of a JPEG-encapsulated file with a comment segment after SOI."""
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(source)
    frames = list(generate_frames(ds.PixelData, number_of_frames=1))
    text = comment.encode("ascii")
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    frame = frames[0][:2] + segment + frames[0][2:]
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target)
    return target


def test_scan_reads_the_metadata_of_pixel_data_left_as_it_was(
    tmp_path: Path,
) -> None:
    from samples import deid_data_files

    cookie = next(f for f in deid_data_files() if "dicom-cookies" in f)
    name = str(pydicom.dcmread(cookie, stop_before_pixels=True).PatientName)
    before = _with_jpeg_comment(cookie, tmp_path / "b" / "a.dcm", f"Seen: {name}")
    ds = pydicom.dcmread(before)
    ds.PatientName = ""
    after = tmp_path / "a" / "a.dcm"
    after.parent.mkdir()
    ds.save_as(after)  # the pixel data byte for byte the original's
    before_df = deidscope.read_identifiers([before])
    found = scan_files([after], before_df)
    names = found[found["source_value"] == name]
    assert len(names) == 1
    offset = int(names["offset"].iloc[0])
    assert after.read_bytes()[offset : offset + len(name)] == name.encode()
    assert (names["where"] == "dataset").all()
    full = scan_files([after], before_df, full_pixels=True)
    assert len(full[full["source_value"] == name]) == 1
    # only the head of each item was read: less than the file
    data = after.read_bytes()
    segments = scan_module._pixel_segments(str(after), data, str(before))
    assert segments is not None
    assert sum(end - start for start, end in segments) < len(data) // 2
    changed = bytearray(data)
    changed[-20] ^= 0xFF  # pixel data not the original's: all of it is read
    (tmp_path / "c.dcm").write_bytes(bytes(changed))
    assert (
        scan_module._pixel_segments(
            str(tmp_path / "c.dcm"), bytes(changed), str(before)
        )
        is None
    )
