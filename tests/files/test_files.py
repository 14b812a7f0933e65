"""get_files: finding DICOM files in files and folders."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import pytest

from deidscope.data import DATASETS, get_dataset
from deidscope.dicom import get_files
from deidscope.errors import InputError
from deidscope.files import sniff_dicom
from samples import write_dicom


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with DICOM files in nested folders, and things that are not."""
    write_dicom(tmp_path / "b" / "two.dcm")
    write_dicom(tmp_path / "a" / "one.dcm")
    write_dicom(tmp_path / "a" / "z" / "three")  # no extension
    write_dicom(tmp_path / "top.dcm")
    (tmp_path / "notes.txt").write_text("not dicom\n")
    (tmp_path / "empty.dcm").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "a" / "archive.zip", "w") as archive:
        archive.write(tmp_path / "top.dcm", "inside.dcm")
    return tmp_path


def test_folders_are_walked_recursively_in_sorted_order(tree: Path) -> None:
    found = list(get_files(tree))
    assert found == [
        str(tree / "top.dcm"),
        str(tree / "a" / "one.dcm"),
        str(tree / "a" / "z" / "three"),
        str(tree / "b" / "two.dcm"),
    ]
    assert list(get_files(str(tree))) == found  # str or Path, same answer


def test_zip_archives_are_skipped_not_unpacked(
    tree: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    before = sorted(p.name for p in tree.rglob("*"))
    found = list(get_files(tree, check=False))
    assert str(tree / "a" / "archive.zip") not in found
    assert not any("inside" in f for f in found)
    assert list(cwd.iterdir()) == []  # deid extracts archives into the working folder
    assert sorted(p.name for p in tree.rglob("*")) == before


def test_deid_data_ultrasounds_with_zips_give_each_file_once() -> None:
    found = list(get_files(get_dataset("ultrasounds")))
    names = [os.path.basename(f) for f in found]
    assert names == sorted(names)
    assert len(names) == len(set(names)) == 3
    assert not any(name.endswith(".zip") for name in names)


def test_check_false_keeps_non_dicom_files_but_not_archives(tree: Path) -> None:
    found = [os.path.basename(f) for f in get_files(tree, check=False)]
    assert "notes.txt" in found
    assert "empty.dcm" in found
    assert "archive.zip" not in found


def test_a_file_named_twice_is_yielded_once(tree: Path) -> None:
    one = tree / "a" / "one.dcm"
    found = list(get_files([one, tree / "a", str(one)]))
    assert found.count(str(one)) == 1
    assert found[0] == str(one)  # named directly: as given


def test_pattern_filters_names_found_in_folders(tree: Path) -> None:
    found = list(get_files(tree, pattern="t*"))
    assert [os.path.basename(f) for f in found] == ["top.dcm", "three", "two.dcm"]


def test_skipped_files_are_logged(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="deidscope"):
        list(get_files(tree))
    text = caplog.text
    assert "notes.txt: not a DICOM file" in text
    assert "empty.dcm: empty file (0 bytes)" in text
    assert "archive.zip: a zip archive" in text


def test_missing_path_raises_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.dcm"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.dcm"):
        list(get_files([tmp_path, missing]))


@pytest.mark.parametrize(
    "bad", [42, [1, 2], b"bytes-path"], ids=["int", "list-of-int", "bytes"]
)
def test_wrong_input_types_get_an_input_error(bad: object) -> None:
    with pytest.raises(InputError, match="get_files: expected"):
        list(get_files(bad))  # type: ignore[arg-type]


def test_get_files_accepts_a_generator_and_leaves_a_list_alone(tree: Path) -> None:
    given = [tree / "b", tree / "top.dcm"]
    copy = list(given)
    assert len(list(get_files(p for p in given))) == 2
    list(get_files(given))
    assert given == copy


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"hello world, this is text" * 10, "not a DICOM file"),
        (b"PK\x03\x04" + b"\x00" * 200, "a zip archive"),
    ],
    ids=["empty", "text", "zip-magic"],
)
def test_sniff_explains_why_a_file_is_not_dicom(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "file.dcm"
    path.write_bytes(content)
    assert reason in (sniff_dicom(path) or "")


def test_sniff_accepts_files_without_preamble(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "raw.dcm", preamble=False)
    assert path.read_bytes()[128:132] != b"DICM"
    assert sniff_dicom(path) is None
    assert list(get_files(path)) == [str(path)]


def test_sniff_reports_a_folder(tmp_path: Path) -> None:
    assert sniff_dicom(tmp_path) == "is a folder, not a file"


@pytest.mark.parametrize("name", DATASETS)
def test_get_dataset_finds_every_sample(name: str) -> None:
    folder = get_dataset(name)
    assert os.path.isdir(folder)
    assert get_dataset(name.upper() + ".zip") == folder  # as deid: case, extension
    assert list(get_files(folder))


def test_get_dataset_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match="valid names are: dicom-cookies, animals"):
        get_dataset("dogs")
    with pytest.raises(InputError, match="expected a dataset name"):
        get_dataset(None)  # type: ignore[arg-type]


def test_files_are_read_not_written(tree: Path) -> None:
    stat = {
        p: (p.stat().st_mtime_ns, p.read_bytes())
        for p in tree.rglob("*")
        if p.is_file()
    }
    list(get_files(tree))
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in stat} == stat
