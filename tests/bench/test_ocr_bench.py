"""Smoke test of bench_ocr.py's corpus audit: well-formed output, no timings checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deidscope.data import get_dataset

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ocr.py"


@pytest.mark.slow
def test_corpus_audit_reports_each_step(tmp_path: Path) -> None:
    cookies = get_dataset("dicom-cookies")
    command = [sys.executable, str(BENCH), "--corpus", cookies, "--sample", "1"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "bench_ocr_corpus.json").read_text())
    assert result["files"] == 7
    assert result["sample"] == 1
    # every cookie has the same pixel signature, so one image is read
    assert result["signatures"] == 1
    assert result["images_read_by_ocr"] == 1
    assert result["ocr_errors"] == 0
    steps = ("read_identifiers_s", "find_text_s", "propose_filters_s")
    assert result["total_s"] == pytest.approx(sum(result[s] for s in steps))
    assert "7 files: read_identifiers(workers=2)" in done.stdout
    assert "load average" in done.stdout
