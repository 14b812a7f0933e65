"""The audit report in a real browser: offline, and markup shown as text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import deidscope
from deidscope.audit import report
from samples import deid_data_files, write_dicom

CHROMIUM = os.environ.get("DEIDSCOPE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVIL = '<script>document.title = "pwned"</script>'


def _chromium() -> str:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"browser tests need Chromium at {CHROMIUM}: install Debian's chromium "
        "with `bash scripts/install-chromium.sh`"
    )
    if os.environ.get("DEIDSCOPE_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.browser
def test_report_opens_offline_and_shows_markup_as_text(tmp_path: Path) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(next(f for f in deid_data_files() if "cookies" in f), folder)
    write_dicom(folder / "evil.dcm", InstitutionName=EVIL, Modality="CT")
    out = report(deidscope.read_identifiers(folder), tmp_path / "audit.html")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(out.as_uri())
            body = page.inner_text("body")
            title = page.title()
        finally:
            browser.close()
    assert requests == [out.as_uri()]  # nothing else was fetched
    assert errors == []
    assert title == "deidscope audit"  # the header's script did not run
    assert EVIL in body
    assert "Fields that look identifying" in body
