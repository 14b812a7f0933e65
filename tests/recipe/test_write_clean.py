"""Written files are clean to the byte: preamble, file meta, method codes."""

from __future__ import annotations

import zlib
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.filereader import read_dataset

from deidscope import ps315
from deidscope.dicom import replace_identifiers
from deidscope.recipe import Recipe
from planted import PlantedCorpus, expected_survivors, find_tokens, make_planted
from write_helpers import PREAMBLE_TEXT, write_file


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> PlantedCorpus:
    return make_planted(tmp_path_factory.mktemp("planted"), seed=0)


def _survivors(
    corpus: PlantedCorpus, out: Path, options: tuple[str, ...]
) -> set[tuple[str, str]]:
    written = replace_identifiers(
        corpus.files,
        deid=Recipe.from_profile(options),
        save=True,
        output_folder=out,
        lookup={"jitter": -3},
    )
    assert written.errors.empty
    source = dict(zip(written, corpus.files, strict=True))
    found = find_tokens(written, corpus.manifest["token"])
    return {(source[f], token) for f, tokens in found.items() for token in tokens}


@pytest.mark.parametrize(
    "options",
    [(), *((o,) for o in ps315.OPTIONS)],
    ids=lambda o: "+".join(o) or "basic",
)
def test_the_profile_leaves_in_the_bytes_exactly_what_its_options_retain(
    planted: PlantedCorpus, tmp_path: Path, options: tuple[str, ...]
) -> None:
    survivors = _survivors(planted, tmp_path, options)
    assert survivors == expected_survivors(planted.manifest, options)
    if not options:
        assert survivors == set()


def _meta_keywords(path: str) -> set[str]:
    return {e.keyword for e in pydicom.dcmread(path).file_meta}


def test_written_files_get_a_new_file_meta_and_a_zeroed_preamble(
    tmp_path: Path,
) -> None:
    path = write_file(tmp_path / "in" / "a.dcm")
    assert PREAMBLE_TEXT in path.read_bytes()
    recipe = Recipe.from_text("FORMAT dicom\n%header\nBLANK PatientName\n")
    (out,) = replace_identifiers(
        [path], deid=recipe, save=True, output_folder=tmp_path / "out"
    )
    raw = Path(out).read_bytes()
    assert raw[:128] == bytes(128)
    assert b"JANEDOE_PACS" not in raw  # SourceApplicationEntityTitle
    assert b"PRIVINFO-4711" not in raw  # PrivateInformation
    ds = pydicom.dcmread(out)
    assert _meta_keywords(out) == {
        "FileMetaInformationGroupLength",
        "FileMetaInformationVersion",
        "MediaStorageSOPClassUID",
        "MediaStorageSOPInstanceUID",
        "TransferSyntaxUID",
        "ImplementationClassUID",
        "ImplementationVersionName",
    }
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    # the returned datasets (save=False) keep the meta they were read with
    (kept,) = replace_identifiers([path], deid=recipe)
    assert kept.file_meta.SourceApplicationEntityTitle == "JANEDOE_PACS"


def test_the_preamble_is_kept_only_when_asked_by_name(tmp_path: Path) -> None:
    path = write_file(tmp_path / "in" / "a.dcm")
    (out,) = replace_identifiers(
        [path],
        deid=Recipe.from_profile(),
        save=True,
        output_folder=tmp_path / "out",
        keep_preamble=True,
    )
    assert Path(out).read_bytes()[: len(PREAMBLE_TEXT)] == PREAMBLE_TEXT


def _codes(ds: pydicom.Dataset) -> list[tuple[str, str]]:
    return [
        (item.CodeValue, item.CodingSchemeDesignator)
        for item in ds.DeidentificationMethodCodeSequence
    ]


def test_profile_files_record_the_method_and_each_option(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.dcm")
    (basic,) = replace_identifiers([path], deid=Recipe.from_profile())
    assert basic.PatientIdentityRemoved == "YES"
    assert basic.DeidentificationMethod
    assert _codes(basic) == [("113100", "DCM")]
    assert "LongitudinalTemporalInformationModified" not in basic
    options = ["retain_uids", "retain_long_modified_dates", "retain_safe_private"]
    (ds,) = replace_identifiers(
        [path], deid=Recipe.from_profile(options), lookup={"jitter": 7}
    )
    assert _codes(ds) == [
        ("113100", "DCM"),
        ("113110", "DCM"),
        ("113107", "DCM"),
        ("113111", "DCM"),
    ]
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert ds.StudyDate == "20200322"
    (full,) = replace_identifiers(
        [path], deid=Recipe.from_profile(["retain_long_full_dates"])
    )
    assert full.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert full.StudyDate == "20200315"


def test_the_profile_survives_the_recipe_text(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.dcm")
    text = Recipe.from_profile(["clean_graphics"]).to_text()
    (ds,) = replace_identifiers([path], deid=Recipe.from_text(text))
    assert _codes(ds) == [("113100", "DCM"), ("113103", "DCM")]
    # a recipe of one's own records nothing it did not do
    (own,) = replace_identifiers(
        [path], deid=Recipe.from_text("FORMAT dicom\n%header\nBLANK PatientName\n")
    )
    assert "DeidentificationMethodCodeSequence" not in own


def test_a_deflated_input_is_written_raw_deflated(tmp_path: Path) -> None:
    """PS3.5 A.5: the data set after the file meta is a raw deflate stream.

    No zlib header or trailer; inflated, it is the de-identified data set in
    Explicit VR Little Endian. (The dciodvfy installed here reads no deflated
    file, not even pydicom's sample by dicom3tools' author, so
    tests/recipe/test_dciodvfy.py checks the inflated copies.)
    """
    source = pydicom.data.get_testdata_file("image_dfl.dcm")
    (out,) = replace_identifiers(
        [source], deid=Recipe.from_profile(), save=True, output_folder=tmp_path
    )
    meta = pydicom.filereader.read_file_meta_info(out)
    assert meta.TransferSyntaxUID == pydicom.uid.DeflatedExplicitVRLittleEndian
    raw = Path(out).read_bytes()
    body = raw[132 + 12 + meta.FileMetaInformationGroupLength :]
    with pytest.raises(zlib.error):
        zlib.decompress(body)  # no zlib wrapper
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated = inflater.decompress(body) + inflater.flush()
    assert inflater.eof
    assert inflater.unused_data == b""
    # the inflated data set: explicit VR, little endian, the new UIDs
    ds = read_dataset(BytesIO(inflated), is_implicit_VR=False, is_little_endian=True)
    written = pydicom.dcmread(out)
    assert ds.SOPInstanceUID == written.SOPInstanceUID
    assert ds.SOPInstanceUID == meta.MediaStorageSOPInstanceUID
    assert ds.SOPInstanceUID != pydicom.dcmread(source).SOPInstanceUID
    assert ds.PatientName == ""
    assert written.PixelData == pydicom.dcmread(source).PixelData
