"""deidscope audit: the HTML report from the command line."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from deidscope.cli import main
from deidscope.cli._common import EXIT_INPUT, EXIT_OK
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


def test_report_lists_unreadable_files_and_escapes_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    write_dicom(folder / "a.dcm", PatientName="<script>alert(1)</script>")
    (folder / "broken.dcm").write_bytes(b"")
    out = tmp_path / "audit.html"
    assert main(["audit", str(folder), "-o", str(out), "--workers", "2"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.startswith("audit of ")
    assert "in 2 files written to" in captured.out
    assert captured.err == (
        "deidscope audit: warning: 1 file could not be read (or only in part); "
        "the report lists them with the reason\n"
    )
    text = out.read_text()
    assert "broken.dcm" in text
    assert "empty file (0 bytes)" in text
    assert "<script>alert(1)</script>" not in text
    assert html.escape("<script>alert(1)</script>") in text


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
