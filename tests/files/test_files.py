"""get_files: finding DICOM files in files and folders."""

from __future__ import annotations

import io
import logging
import os
import socket
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deidscope.data import DATASETS, get_dataset
from deidscope.dicom import get_files
from deidscope.errors import InputError
from deidscope.files import (
    check_paths,
    expand_paths,
    iter_dicom_files,
    list_paths,
    not_a_regular_file,
    shown_path,
    sniff_dicom,
)
from fuzz_corpus import run_isolated
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


def test_get_dataset_unknown_name_warns_with_the_valid_ones_and_gives_none() -> None:
    for name in ("dogs", None):
        with pytest.warns(UserWarning, match="valid names are: dicom-cookies, animals"):
            assert get_dataset(name) is None  # as deid 0.4.13
    with pytest.raises(InputError, match="expected a dataset name"):
        get_dataset(42)  # type: ignore[call-overload]
    with (
        pytest.warns(UserWarning, match="not a dataset"),
        pytest.raises(InputError, match="get_files: expected"),
    ):
        list(get_files(get_dataset("dogs")))  # type: ignore[arg-type]


@pytest.mark.parity
@pytest.mark.parametrize("name", ["dogs", None, "ANIMALS.zip", "dicom-cookies"])
def test_get_dataset_as_deid(
    name: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    from deid.data import get_dataset as deid_get_dataset

    theirs = deid_get_dataset(name)
    printed = capsys.readouterr().out  # deid prints the valid names
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = get_dataset(name)
    assert capsys.readouterr().out == ""  # deidscope prints nothing
    assert (ours is None) == (theirs is None)
    if ours is None:
        names = printed.split(": ", 1)[1].strip().split(",")
        assert names == list(DATASETS)
        assert len(caught) == 1
        assert ", ".join(names) in str(caught[0].message)
    else:
        assert os.path.samefile(ours, theirs)
        assert caught == []


def test_files_are_read_not_written(tree: Path) -> None:
    stat = {
        p: (p.stat().st_mtime_ns, p.read_bytes())
        for p in tree.rglob("*")
        if p.is_file()
    }
    list(get_files(tree))
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in stat} == stat


# --- what a folder walk finds that is not a regular file --------------------


@pytest.fixture
def odd_tree(tmp_path: Path) -> Path:
    """A folder with one DICOM file and every kind of thing that is not a file."""
    write_dicom(tmp_path / "good.dcm")
    os.mkfifo(tmp_path / "pipe.dcm")
    (tmp_path / "zero.dcm").symlink_to("/dev/zero")
    (tmp_path / "dangling.dcm").symlink_to(tmp_path / "gone.dcm")
    (tmp_path / "loop.dcm").symlink_to(tmp_path / "loop.dcm")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.dcm"))
    sock.close()
    return tmp_path


ODD_REASONS = {
    "dangling.dcm": "a dangling symbolic link",
    "loop.dcm": "a symbolic link loop",
    "pipe.dcm": "a named pipe (FIFO), not a regular file: not opened",
    "sock.dcm": "a socket, not a regular file: not opened",
    "zero.dcm": "a character device, not a regular file: not opened",
}


def _in_child(func: Any, *args: Any) -> Any:
    """Run `func` in a child with a timeout, so that a hang fails the test."""
    out = run_isolated(func, *args, timeout=30)
    assert out.status == "ok", out.value
    return out.value


def _get_files_skipped(folder: str, check: bool) -> tuple[list[str], list]:
    skipped: list[tuple[str, str]] = []
    found = list(iter_dicom_files(folder, check=check, skipped=skipped))
    return found, skipped


@pytest.mark.parametrize("check", [True, False])
def test_pipes_devices_sockets_and_bad_links_are_listed_never_opened(
    odd_tree: Path, check: bool
) -> None:
    found, skipped = _in_child(_get_files_skipped, str(odd_tree), check)
    assert found == [str(odd_tree / "good.dcm")]
    reasons = {os.path.basename(path): reason for path, reason in skipped}
    assert set(reasons) == set(ODD_REASONS)
    for name, reason in ODD_REASONS.items():
        assert reasons[name].startswith(reason)


def _get_files_logged(folder: str) -> tuple[list[str], str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("deidscope.files")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return list(get_files(folder)), stream.getvalue()


def test_get_files_logs_them(odd_tree: Path) -> None:
    found, log = _in_child(_get_files_logged, str(odd_tree))
    assert found == [str(odd_tree / "good.dcm")]
    for name, reason in ODD_REASONS.items():
        assert f"{name}: {reason}" in log
        assert (not_a_regular_file(odd_tree / name) or "").startswith(reason)
    assert not_a_regular_file(odd_tree / "good.dcm") is None


def test_a_named_pipe_named_directly_is_not_opened(odd_tree: Path) -> None:
    pipe = str(odd_tree / "pipe.dcm")
    found, skipped = _in_child(_get_files_skipped, pipe, True)
    assert found == []
    assert skipped == [(pipe, ODD_REASONS["pipe.dcm"])]
    assert sniff_dicom(pipe) == ODD_REASONS["pipe.dcm"]
    files, listed = expand_paths([pipe, odd_tree / "good.dcm"])
    assert files == [str(odd_tree / "good.dcm")]
    assert listed == [(pipe, ODD_REASONS["pipe.dcm"])]


def test_a_named_dangling_link_still_raises_file_not_found(odd_tree: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dangling\.dcm"):
        list(get_files(odd_tree / "dangling.dcm"))


def test_a_folder_that_cannot_be_listed_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dicom(tmp_path / "a" / "one.dcm")
    write_dicom(tmp_path / "locked" / "two.dcm")
    locked = str(tmp_path / "locked")
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == locked:  # tests run as root: chmod would not do
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    skipped: list[tuple[str, str]] = []
    found = list(iter_dicom_files(tmp_path, skipped=skipped))
    assert found == [str(tmp_path / "a" / "one.dcm")]
    assert skipped == [(locked, "folder cannot be listed: permission denied")]
    files, listed = expand_paths([tmp_path])
    assert files == found
    assert listed == skipped


def test_file_names_that_are_not_utf8_are_kept_as_given(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    name = os.path.join(folder, b"caf\xe9.dcm")
    write_dicom(Path(os.fsdecode(name)))
    found = list(get_files(tmp_path))
    assert found == [os.fsdecode(name)]  # str, the bytes kept (surrogateescape)
    assert os.fsencode(found[0]) == name
    assert shown_path(found[0]) == str(tmp_path / "caf\\xe9.dcm")
    assert shown_path(tmp_path / "café.dcm") == str(tmp_path / "café.dcm")


def test_list_paths_checks_every_path_before_walking_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dicom(tmp_path / "tree" / "a.dcm")
    walked: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        walked.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(FileNotFoundError, match=r"read_identifiers: no such") as info:
        list_paths(
            [tmp_path / "tree", tmp_path / "gone.dcm"], caller="read_identifiers"
        )
    assert info.value.filename == str(tmp_path / "gone.dcm")
    assert walked == []


def test_list_paths_lists_as_check_then_expand(odd_tree: Path) -> None:
    names = [odd_tree, odd_tree / "good.dcm", odd_tree / "pipe.dcm", str(odd_tree)]
    assert list_paths(names, caller="x") == expand_paths(check_paths(names, caller="x"))
    files, skipped = list_paths(odd_tree / "good.dcm", caller="x")  # one path
    assert (files, skipped) == ([str(odd_tree / "good.dcm")], [])
    # a dangling link or a link loop is missing to both, as to os.path.exists
    for odd in ("dangling.dcm", "loop.dcm"):
        assert (odd_tree / odd).is_symlink()
        with pytest.raises(FileNotFoundError, match=odd.replace(".", r"\.")):
            list_paths([odd_tree / odd], caller="x")
        with pytest.raises(FileNotFoundError):
            check_paths([odd_tree / odd], caller="x")
