"""deidscope.audit.report: a self-contained, escaped HTML report."""

from __future__ import annotations

import html.parser
import os
import shutil
import stat
import warnings
from pathlib import Path

import pandas as pd
import pytest

import deidscope
from deidscope.audit import report
from deidscope.errors import InputError
from samples import deid_data_files, write_dicom

EVIL = '<script>alert("x")</script>'


class _Collector(html.parser.HTMLParser):
    """Tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


@pytest.fixture
def evil_folder(tmp_path: Path) -> Path:
    """Cookies, a file whose header holds markup, and a file that is not DICOM."""
    folder = tmp_path / "in"
    folder.mkdir()
    for file in [f for f in deid_data_files() if "cookies" in f][:3]:
        shutil.copy(file, folder)
    write_dicom(
        folder / "evil.dcm",
        PatientName="<u>Under</u>^Name",
        InstitutionName=EVIL,
        StudyDescription="line\x07bell",
        Modality="CT",
        Manufacturer="<img src=http://example.org/x.png>",
    )
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    return folder


@pytest.fixture
def evil_df(evil_folder: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deidscope.read_identifiers(evil_folder, errors="ignore")


def test_report_writes_every_section(evil_df: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    written = report(evil_df, out)
    assert written == out
    text = out.read_text(encoding="utf-8")
    for heading in (
        "Modality, manufacturer and model",
        "DICOM PS3.15 Basic Profile",
        "Fields that look identifying",
        "Every field",
        "Files that could not be read",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert "broken.dcm" in text  # the read error is listed with its file
    assert "PatientName" in text
    assert "retain_uids" in text


def test_report_escapes_every_header_value(
    evil_df: pd.DataFrame, tmp_path: Path
) -> None:
    out = report(evil_df, tmp_path / "audit.html")
    page = _parse(out)
    assert "script" not in page.tags
    assert "img" not in page.tags
    assert "u" not in page.tags
    text = "".join(page.text)
    assert EVIL in text  # shown as text
    assert "<img src=http://example.org/x.png>" in text
    assert "\\x07" in text  # a control character, shown visibly
    raw = out.read_text(encoding="utf-8")
    assert "\x07" not in raw


def test_report_loads_nothing_from_anywhere(
    evil_df: pd.DataFrame, tmp_path: Path
) -> None:
    out = report(evil_df, tmp_path / "audit.html")
    page = _parse(out)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3"}
    allowed |= {"p", "b", "ul", "li", "a", "section", "div", "span"}
    allowed |= {"table", "thead", "tbody", "tr", "th", "td"}
    assert set(page.tags) <= allowed
    for name, value in page.attributes:
        if name in ("src", "href"):
            assert value is not None
            assert value.startswith("#"), (name, value)
    raw = out.read_text(encoding="utf-8")
    assert "default-src 'none'" in raw
    assert "http://" not in raw.replace("http://example.org/x.png", "")


def test_report_names_files_with_markup_safely(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "a<i>b.dcm", PatientName="X")
    out = report(deidscope.read_identifiers([path]), tmp_path / "r.html")
    page = _parse(out)
    assert "i" not in page.tags


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644)])
def test_report_mode_follows_the_umask(
    evil_df: pd.DataFrame, tmp_path: Path, umask: int, mode: int
) -> None:
    """As every output: who may read it is the umask's say (as for any tool)."""
    old = os.umask(umask)
    try:
        out = report(evil_df, tmp_path / "audit.html")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_report_missing_folder_fails_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"folder of the output does not exist"):
        report("not even a frame", tmp_path / "nowhere" / "audit.html")  # type: ignore[arg-type]


def test_report_refuses_to_overwrite(evil_df: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    out.write_text("old")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        report(evil_df, out)
    assert out.read_text() == "old"
    report(evil_df, out, overwrite=True)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(os.listdir(tmp_path)) == ["audit.html", "in"]  # no temporary file


def test_report_refuses_a_folder(evil_df: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the output is a folder"):
        report(evil_df, tmp_path)


def test_report_never_replaces_an_input(
    evil_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = evil_folder / "evil.dcm"
    df = deidscope.read_identifiers([target])
    before = target.read_bytes()
    with pytest.raises(InputError, match="is one of the frame's DICOM files"):
        report(df, target, overwrite=True)
    monkeypatch.chdir(evil_folder)  # the same file by another path
    with pytest.raises(InputError, match="is one of the frame's DICOM files"):
        report(df, Path("..") / "in" / "evil.dcm", overwrite=True)
    assert target.read_bytes() == before


def test_report_leaves_no_temporary_file_on_failure(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected the identifier DataFrame"):
        report(pd.Series([1]), tmp_path / "audit.html")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_report_title_is_escaped(evil_df: pd.DataFrame, tmp_path: Path) -> None:
    out = report(evil_df, tmp_path / "audit.html", title=EVIL)
    assert "script" not in _parse(out).tags
    assert "<title>&lt;script&gt;" in out.read_text(encoding="utf-8")


def test_report_of_a_dask_frame(evil_df: pd.DataFrame, tmp_path: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(evil_df, npartitions=3, sort=False)
    out = report(ddf, tmp_path / "dask.html", errors=evil_df.attrs["errors"])
    text = "".join(_parse(out).text)
    assert EVIL in text
    assert "broken.dcm" in text


def test_report_of_a_frame_without_errors_says_they_are_unknown(
    evil_df: pd.DataFrame, tmp_path: Path
) -> None:
    bare = evil_df.copy()
    bare.attrs = {}  # as a frame read back from a CSV file would be
    text = "".join(_parse(report(bare, tmp_path / "audit.html")).text)
    assert "Every file was read" not in text
    assert 'Unknown: the frame carries no df.attrs["errors"]' in text
    assert "broken.dcm" not in text


def test_report_of_readable_files_says_every_file_was_read(tmp_path: Path) -> None:
    df = deidscope.read_identifiers([write_dicom(tmp_path / "a.dcm")])
    text = "".join(_parse(report(df, tmp_path / "audit.html")).text)
    assert "Every file was read" in text
    assert "0 files could not be read" in text


@pytest.mark.parametrize(
    ("errors", "message"),
    [
        (["broken.dcm"], r"expected errors as None or a DataFrame .* but got list"),
        (
            pd.DataFrame({"path": ["broken.dcm"]}),
            r"with columns file and error .* but got columns \['path'\]",
        ),
    ],
    ids=["list", "wrong-columns"],
)
def test_report_rejects_bad_errors(
    evil_df: pd.DataFrame, tmp_path: Path, errors: object, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        report(evil_df, tmp_path / "audit.html", errors=errors)
    assert not (tmp_path / "audit.html").exists()
