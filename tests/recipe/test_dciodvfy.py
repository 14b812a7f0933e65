"""dciodvfy (dicom3tools) finds no new IOD error in the profile's written files.

For every sample file dciodvfy reads (DICOMDIRs left out: they index files,
which are de-identified one by one), the Basic Profile's copy, and the
copies with every option (all but Full Dates at once, then Full Dates),
have no error that the input did not have, but for the residuals listed in ``RESIDUALS``
(none now), each with its reason; a residual that no longer occurs fails
the test too. Error texts are compared with their values masked
(``= <...>``): a new UID makes a new text, not a new error. Deflated files
are compared inflated (this dciodvfy reads no deflated file).

Installed by scripts/install-dicom3tools.sh (CI and ``make test``); without
it the test is skipped, unless DEIDSCOPE_REQUIRE_DCIODVFY=1 (CI sets it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from deidscope import ps315
from deidscope.dicom import replace_identifiers
from deidscope.recipe import Recipe
from samples import deid_data_files, pydicom_test_files

pytestmark = pytest.mark.slow

#: New errors that remain, as (file name, error text pattern), and why.
RESIDUALS: tuple[tuple[str, str, str], ...] = (
    # none left: the profile mends what the table's codes alone would break
    # (recipe/_finish.keep_iod_valid); a file name ("" for any), a pattern
    # of the error text and the reason go here when one is needed
)
_UNREADABLE = ("read failed", "Tags out of order", "giving up")


def _errors(path: str, scratch: Path) -> tuple[set[str], str]:
    path = _inflated(path, scratch)
    done = subprocess.run(
        ["dciodvfy", "-new", path], capture_output=True, timeout=120, check=False
    )
    text = (done.stdout + done.stderr).decode("latin-1")
    errors = {
        # a value holding a CR splits its line: masked to the line's end
        re.sub(r"= <[^>]*(>|$)", "= <>", line.split(" - ", 1)[-1].strip())
        for line in text.splitlines()
        if line.startswith("Error")
    }
    return errors, text


def _inflated(path: str, scratch: Path) -> str:
    """A deflated file as Explicit VR Little Endian (dciodvfy reads no deflate).

    This dciodvfy fails on deflated files, its author's own sample too
    ("Tag read failed"): input and output are compared inflated, both
    re-encoded the same way. That the deflated output itself is right (raw
    deflate, PS3.5 A.5) is tests/recipe/test_write_clean.py's.
    """
    try:
        meta = pydicom.filereader.read_file_meta_info(path)
    except Exception:  # no file meta: not deflated
        return path
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        return path
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    scratch.mkdir(exist_ok=True)
    target = scratch / f"{len(list(scratch.iterdir()))}.dcm"
    ds.save_as(target)
    return str(target)


def _residual(name: str, error: str) -> bool:
    return any(
        (not file or file == name) and re.search(pattern, error)
        for file, pattern, _ in RESIDUALS
    )


@pytest.fixture(scope="module")
def dciodvfy() -> str:
    found = shutil.which("dciodvfy")
    if found is None:
        message = "dciodvfy (Debian's dicom3tools) is not installed"
        if os.environ.get("DEIDSCOPE_REQUIRE_DCIODVFY") == "1":
            pytest.fail(message + " (DEIDSCOPE_REQUIRE_DCIODVFY=1)")
        pytest.skip(message + ": bash scripts/install-dicom3tools.sh")
    return found


@pytest.fixture(scope="module")
def inputs(
    dciodvfy: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[str]]:
    """The sample files dciodvfy reads, with the errors they have."""
    scratch = tmp_path_factory.mktemp("inflated")
    found = {}
    for source in (*deid_data_files(), *pydicom_test_files()):
        if "DICOMDIR" in source:
            continue
        before, text = _errors(source, scratch)
        if not any(word in text for word in _UNREADABLE):
            found[source] = before
    return found


#: Every option: all but Full Dates at once (Modified Dates with a key), and
#: Full Dates, which excludes Modified Dates.
_ALL_BUT_FULL_DATES = tuple(o for o in ps315.OPTIONS if o != "retain_long_full_dates")


@pytest.mark.parametrize(
    "options",
    [(), _ALL_BUT_FULL_DATES, ("retain_long_full_dates",)],
    ids=["basic", "all-but-full-dates", "full-dates"],
)
def test_the_profile_adds_no_iod_error(
    inputs: dict[str, set[str]], tmp_path: Path, options: tuple[str, ...]
) -> None:
    files = list(inputs)
    written = replace_identifiers(
        files,
        deid=Recipe.from_profile(options),
        save=True,
        output_folder=tmp_path / "out",
        errors="ignore",
        key="dciodvfy",
        progress=False,
    )
    assert written.errors.empty
    new: list[str] = []
    seen_residuals: set[str] = set()
    for source, output in zip(files, written, strict=True):
        after, _ = _errors(output, tmp_path / "inflated")
        name = Path(source).name
        for error in sorted(after - inputs[source]):
            if _residual(name, error):
                seen_residuals.add(error)
            else:
                new.append(f"{name}: {error}")
    assert len(files) > 100
    assert new == []
    if options:
        return
    # a residual that no longer occurs is stale: take it out of RESIDUALS
    stale = [
        pattern
        for _, pattern, _ in RESIDUALS
        if not any(re.search(pattern, error) for error in seen_residuals)
    ]
    assert stale == []
