"""Every keyword and input of deid's get_files and get_identifiers works, as deid's.

deid runs for real on the same inputs. Where deid 0.4.13 accepts a keyword and
ignores it (``strip_sequences``, ``remove_private`` and ``disable_skip`` of
``get_identifiers``), deidscope does what the keyword says, and the tests
compare with deid's own way of doing it (its ``DicomParser`` for
``disable_skip``, pydicom's ``remove_private_tags`` for ``remove_private``).
"""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path

import pydicom
import pytest
from deid.dicom import get_files as deid_get_files
from deid.dicom import get_identifiers as deid_get_identifiers
from deid.dicom.parser import DicomParser
from pydicom.datadict import dictionary_has_tag
from pydicom.dataset import Dataset

from deidscope.dicom import DEFAULT_SKIP, get_files, get_identifiers
from deidscope.errors import InputError, ReadErrorsWarning
from deidscope.fields import normalize_uid
from fuzz_corpus import element_bytes
from samples import deid_data_files

pytestmark = pytest.mark.parity


def _uids(fields: dict[str, object]) -> list[str]:
    return [normalize_uid(uid) for uid in fields]


def _deid(*args: object, **kwargs: object) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deid_get_identifiers(*args, **kwargs)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def cookie() -> str:
    return next(f for f in deid_data_files() if f.endswith("dicom-cookies/image1.dcm"))


@pytest.fixture(scope="module")
def nested() -> str:
    """A sample file with sequences and private elements."""
    for path in deid_data_files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        has_private = any(elem.tag.is_private for elem in ds)
        if has_private and any(elem.VR == "SQ" for elem in ds):
            return path
    raise AssertionError("no sample with sequences and private elements")


def test_signatures_are_deids_in_deids_order() -> None:
    theirs = list(inspect.signature(deid_get_identifiers).parameters)
    ours = list(inspect.signature(get_identifiers).parameters)
    assert ours[: len(theirs)] == theirs
    assert ours[len(theirs) :] == ["skip", "errors"]
    assert list(inspect.signature(get_files).parameters) == list(
        inspect.signature(deid_get_files).parameters
    )


def test_positional_arguments_mean_what_they_mean_to_deid(cookie: str) -> None:
    # deid's second positional argument is force, its seventh expand_sequences
    args = ([cookie], True, None, False, False, False, False)
    assert _uids(get_identifiers(*args)[cookie]) == _uids(_deid(*args)[cookie])


def test_a_dataset_is_accepted_as_deid_accepts_it(cookie: str) -> None:
    ds = pydicom.dcmread(cookie)
    before = ds.to_json_dict()
    ours = get_identifiers(ds)
    theirs = _deid(ds)
    ((our_key, fields),) = ours.items()
    ((their_key, their_fields),) = theirs.items()
    assert our_key == cookie  # its filename
    assert str(their_key).endswith("image1.dcm")
    assert _uids(fields) == _uids(their_fields)
    assert ds.to_json_dict() == before  # the caller's dataset is left alone


def test_a_dataset_without_a_filename_gets_a_key_by_position(cookie: str) -> None:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ids = get_identifiers([cookie, ds])
    assert list(ids) == [cookie, "<dataset 1>"]
    assert ids["<dataset 1>"]["PatientName"].element.value == "Doe^Jane"


def test_expand_sequences_false_as_deid(nested: str) -> None:
    ours = get_identifiers(nested, expand_sequences=False)[nested]
    theirs = _deid(nested, expand_sequences=False)[nested]
    assert _uids(ours) == _uids(theirs)
    assert all("__" not in uid for uid in ours)


def test_disable_skip_lists_what_deids_parser_lists_without_skipping(
    nested: str,
) -> None:
    ours = get_identifiers(nested, disable_skip=True)[nested]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = DicomParser(nested, disable_skip=True).get_fields().fields
    assert _uids(ours) == _uids(theirs)
    assert "(7fe0, 0010)" in ours  # PixelData is listed ...
    assert "(7fe0, 0010)" not in get_identifiers(nested)[nested]  # ... only now


def test_disable_skip_never_reads_pixel_data(nested: str) -> None:
    field = get_identifiers(nested, disable_skip=True)[nested]["(7fe0, 0010)"]
    assert field.name == "PixelData"


def test_remove_private_as_pydicom_removes_them(nested: str) -> None:
    ours = get_identifiers(nested, remove_private=True)[nested]
    ds = pydicom.dcmread(nested)
    ds.remove_private_tags()
    theirs = _deid(ds)
    (their_fields,) = theirs.values()
    assert _uids(ours) == _uids(their_fields)
    assert len(ours) < len(get_identifiers(nested)[nested])


def test_strip_sequences_leaves_out_sequences_and_their_items(nested: str) -> None:
    ours = get_identifiers(nested, strip_sequences=True)[nested]
    ds = pydicom.dcmread(nested)
    for tag in [elem.tag for elem in ds if elem.VR == "SQ"]:
        del ds[tag]  # deid's replace_identifiers(strip_sequences=True)
    (theirs,) = _deid(ds).values()
    assert _uids(ours) == _uids(theirs)
    assert all(field.element.VR != "SQ" for field in ours.values())


def test_config_skip_list_replaces_the_default(cookie: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"get": {"skip": ["PatientName", "PixelData"]}}))
    ours = get_identifiers(cookie, config=config)[cookie]
    theirs = _deid(cookie, config=str(config))[cookie]
    assert _uids(ours) == _uids(theirs)
    assert "(0010, 0010)" not in ours
    assert "(0002, 0010)" in ours  # TransferSyntaxUID: no longer skipped
    # an explicit skip wins over the config's
    explicit = get_identifiers(cookie, config=config, skip=(*DEFAULT_SKIP, "Modality"))
    assert "(0010, 0010)" in explicit[cookie]


@pytest.mark.parametrize(
    ("content", "message"),
    [("not json", "JSONDecodeError"), ('{"put": {}}', "KeyError")],
    ids=["not-json", "no-get-skip"],
)
def test_a_bad_config_is_refused(
    cookie: str, tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    with pytest.raises(InputError, match=f"get_identifiers: .*{message}"):
        get_identifiers(cookie, config=config)


def _without_preamble(path: Path, first: str) -> Path:
    """A data set written without preamble or file meta, starting with `first`."""
    ds = Dataset()
    setattr(ds, first, "1.2.3" if first.endswith("UID") else "Doe^John")
    ds.PatientID = "p-1"
    ds.save_as(path, implicit_vr=False, little_endian=True, enforce_file_format=False)
    assert path.read_bytes()[128:132] != b"DICM"
    return path


@pytest.mark.parametrize("first", ["SOPInstanceUID", "PatientName"])
def test_force_reads_a_data_set_without_preamble_whatever_its_first_tag(
    tmp_path: Path, first: str
) -> None:
    path = str(_without_preamble(tmp_path / "bare.dcm", first))
    ours = get_identifiers(path)[path]
    theirs = _deid(path)[path]
    assert ours.error is None
    assert _uids(ours) == _uids(theirs)
    assert "(0010, 0020)" in ours


def test_force_false_refuses_a_file_without_the_marker(tmp_path: Path) -> None:
    path = str(_without_preamble(tmp_path / "bare.dcm", "PatientName"))
    with pytest.warns(ReadErrorsWarning):
        ids = get_identifiers(path, force=False)
    assert "no DICM marker" in str(ids[path].error)
    with pytest.raises(pydicom.errors.InvalidDicomError):
        _deid(path, force=False)  # deid fails the whole call


def test_get_files_force_as_deid(tmp_path: Path) -> None:
    bare = _without_preamble(tmp_path / "bare.dcm", "PatientName")
    (tmp_path / "notes.txt").write_text("not a DICOM file at all\n" * 10)
    for force in (False, True):
        ours = [Path(p).name for p in get_files(str(tmp_path), force=force)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = [Path(p).name for p in deid_get_files(str(tmp_path), force=force)]
        assert ("bare.dcm" in ours) == force
        assert ("bare.dcm" in theirs) == force
        assert "notes.txt" not in ours
    assert bare.exists()


def test_get_files_never_unpacks_archives(tmp_path: Path, cookie: str) -> None:
    import zipfile

    archive = tmp_path / "in" / "scan.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(cookie, "../escape.dcm")
    unpack = tmp_path / "unpack"
    unpack.mkdir()
    assert list(get_files(str(archive.parent), tempdir=unpack)) == []
    assert list(unpack.iterdir()) == []
    assert not (tmp_path / "escape.dcm").exists()
    with pytest.raises(InputError, match="tempdir to be a folder"):
        list(get_files(str(archive.parent), tempdir=tmp_path / "missing"))


def _bare_bytes(first: str, explicit: bool) -> bytes:
    """A data set without preamble or file meta that starts with a private
    block, or with a public tag the dictionary does not know (then tags of
    group 0070, to keep them in order)."""
    if first == "private":
        return (
            element_bytes(0x00090010, b"LO", b"ACME 1.1", explicit)
            + element_bytes(0x00091001, b"LO", b"private text", explicit)
            + element_bytes(0x00100010, b"PN", b"Doe^John", explicit)
            + element_bytes(0x00100020, b"LO", b"p-1", explicit)
        )
    return (
        element_bytes(0x00500100, b"LO", b"unknown public", explicit)
        + element_bytes(0x00700080, b"CS", b"p-1", explicit)
        + element_bytes(0x00700081, b"LO", b"a description", explicit)
    )


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "implicit"])
@pytest.mark.parametrize("first", ["private", "unknown"])
def test_force_reads_a_data_set_starting_with_a_tag_outside_the_dictionary(
    tmp_path: Path, first: str, explicit: bool
) -> None:
    path = tmp_path / "bare.dcm"
    path.write_bytes(_bare_bytes(first, explicit))
    assert not dictionary_has_tag(int.from_bytes(path.read_bytes()[:2], "little") << 16)
    name = str(path)
    ours = get_identifiers(name, errors="ignore")[name]
    theirs = _deid(name)[name]
    assert ours.error is None
    assert _uids(ours) == _uids(theirs)
    keyword = "PatientID" if first == "private" else "ContentLabel"
    assert ours[keyword].element.value == "p-1"
    assert list(get_files(tmp_path, force=True)) == [name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert list(deid_get_files(str(tmp_path), force=True)) == [name]
    assert list(get_files(tmp_path)) == []  # force=False: as deid, not found


def test_force_still_refuses_text(tmp_path: Path) -> None:
    for text in ("Patient list\nnot a DICOM file\n" * 10, "ABCD" * 100):
        path = tmp_path / "notes.dcm"
        path.write_text(text)
        ids = get_identifiers(str(path), errors="ignore")
        assert str(ids[str(path)].error).startswith("not a DICOM file")
