"""deidscope audit: the HTML report from the command line."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from deidscope.cli import main
from deidscope.cli._common import EXIT_INPUT, EXIT_OK
from deidscope.frame import _read
from deidscope.frame._read import CHUNK_FILES
from samples import write_dicom


def test_sample_report_without_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cookies.html"
    assert main(["audit", "-o", str(out)]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.startswith("audit of 252 fields in 7 files written to ")
    assert "reading the dicom-cookies sample" in captured.err
    text = out.read_text()
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "PatientName" in text
    assert [p.name for p in tmp_path.iterdir()] == ["cookies.html"]


def _without_stamp(text: str) -> str:
    """The report without its "deidscope VERSION, YYYY-MM-DD HH:MM UTC" line."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "(time)", text)


def test_report_lists_unreadable_files_and_escapes_values(
    cookie_files: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Enough files for the process pool; the same report as with one process."""
    folder = tmp_path / "data"
    # a field the cookies lack, so its one value is among the most common
    write_dicom(folder / "a.dcm", PatientComments="<script>alert(1)</script>")
    (folder / "broken.dcm").write_bytes(b"")
    n_copies = CHUNK_FILES + 6  # more than one chunk
    for i in range(n_copies):
        shutil.copy(cookie_files[i % len(cookie_files)], folder / f"copy{i:03d}.dcm")
    pooled: list[int] = []
    read_pooled = _read._read_pooled

    def spy(files: Sequence[str], workers: int, *args: Any) -> Any:
        pooled.append(workers)
        return read_pooled(files, workers, *args)

    monkeypatch.setattr(_read, "_read_pooled", spy)
    monkeypatch.setattr(
        _read, "MIN_POOL_FILES", 0
    )  # a small batch, pooled all the same
    out = tmp_path / "audit.html"
    assert main(["audit", str(folder), "-o", str(out), "--workers", "2"]) == EXIT_OK
    assert pooled == [2]
    captured = capsys.readouterr()
    assert captured.out.startswith("audit of ")
    assert f"in {n_copies + 2} files written to" in captured.out
    assert captured.err == (
        "deidscope audit: warning: 1 file could not be read (or only in part); "
        "the report lists them with the reason\n"
    )
    text = out.read_text()
    assert "broken.dcm" in text
    assert "empty file (0 bytes)" in text
    assert "<script>alert(1)</script>" not in text
    assert html.escape("<script>alert(1)</script>") in text
    assert f"<b>{n_copies + 1}</b> files" in text

    single = tmp_path / "single.html"
    assert main(["audit", str(folder), "-o", str(single), "--workers", "1"]) == EXIT_OK
    assert pooled == [2]  # one process this time
    assert capsys.readouterr() == captured._replace(
        out=captured.out.replace(str(out), str(single))
    )
    assert _without_stamp(single.read_text()) == _without_stamp(text)


def test_existing_report_needs_force(
    cookie_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.html"
    out.write_text("old")
    assert main(["audit", *cookie_files, "-o", str(out)]) == EXIT_INPUT
    assert "pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "old"
    assert main(["audit", *cookie_files, "-o", str(out), "--force"]) == EXIT_OK
    assert "PatientName" in out.read_text()
