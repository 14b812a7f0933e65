"""The widgets' CSV downloads and exports: deidscope's CSV rules."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from deidscope.widgets._common import csv_bytes, export_frame

VALUES = ["lone\rCR", "lone\nLF", "=1+1", "plain"]


def test_csv_bytes_crlf_a_lone_cr_reads_back() -> None:
    raw = csv_bytes(pd.DataFrame({"value": VALUES}))
    assert raw.startswith(b"value\r\n")
    assert raw.endswith(b"\r\n")
    back = pd.read_csv(io.BytesIO(raw), keep_default_na=False)
    assert back["value"].tolist() == [*VALUES[:2], "'=1+1", "plain"]


def test_export_frame_csv_crlf_a_lone_cr_reads_back(tmp_path: Path) -> None:
    written = export_frame(pd.DataFrame({"value": VALUES}), tmp_path / "rows.csv")
    raw = written.read_bytes()
    assert raw.startswith(b"value\r\n")
    back = pd.read_csv(written, keep_default_na=False)
    assert back["value"].tolist() == [*VALUES[:2], "'=1+1", "plain"]
