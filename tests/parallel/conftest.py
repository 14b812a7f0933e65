"""Fixtures of the scale tests: sample files mixed with unreadable ones."""

from __future__ import annotations

from pathlib import Path

import pytest

import deidscope.frame._read
from samples import all_sample_files, deid_data_files


def make_bad_files(folder: Path) -> list[str]:
    """An empty file, a text file and a cookie cut short after its header."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.dcm"
    empty.write_bytes(b"")
    text = folder / "notes.txt"
    text.write_text("not a DICOM file\n" * 20)
    cookie = next(f for f in deid_data_files() if "dicom-cookies" in f)
    data = Path(cookie).read_bytes()
    truncated = folder / "truncated.dcm"
    truncated.write_bytes(data[: len(data) // 2])
    return [str(empty), str(text), str(truncated)]


@pytest.fixture
def scale_bad_files(tmp_path: Path) -> list[str]:
    """Three files that cannot be read (or only in part)."""
    return make_bad_files(tmp_path / "bad")


@pytest.fixture
def scale_mixed_files(scale_bad_files: list[str]) -> list[str]:
    """Every sample file, with the unreadable ones at the start, middle and end."""
    files = list(all_sample_files())
    middle = len(files) // 2
    empty, text, truncated = scale_bad_files
    return [empty, *files[:middle], truncated, *files[middle:], text]


@pytest.fixture
def pool_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read with the pool whatever the number of files (when workers > 1)."""
    monkeypatch.setattr(deidscope.frame._read, "MIN_POOL_FILES", 0)
