"""Every CSV deidscope writes: CRLF line ends, and a value holding a lone
carriage return or line feed reads back whole with pandas.read_csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from deidscope.parallel import errors_path, write_identifiers
from deidscope.parallel._write import CSV_LINE_END, frame_to_csv
from samples import write_dicom

#: Values that break a CSV written with LF line ends (a lone CR is not quoted).
BREAKS = ["lone\rCR", "lone\nLF", "both\r\nends", "plain"]


def records_end_with_crlf(raw: bytes) -> bool:
    """Whether every record of a CSV ends with CRLF (line breaks inside
    quoted values left alone)."""
    text = raw.decode("utf-8")
    ends = []
    inside = False
    for i, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char == "\n" and not inside:
            ends.append(text[i - 1 : i + 1])
    return bool(ends) and set(ends) == {"\r\n"} and text.endswith("\r\n")


def test_frame_to_csv_round_trips_line_breaks_in_values(tmp_path: Path) -> None:
    frame = pd.DataFrame({"value": [*BREAKS, "=1+1"], "n": range(5)})
    text = frame_to_csv(frame)
    assert isinstance(text, str)
    assert records_end_with_crlf(text.encode())
    back = pd.read_csv(io.StringIO(text, newline=""), keep_default_na=False)
    assert back["value"].tolist() == [*BREAKS, "'=1+1"]  # the formula quoted
    target = tmp_path / "rows.csv"
    assert frame_to_csv(frame, target, escape=False) is None
    assert records_end_with_crlf(target.read_bytes())
    back = pd.read_csv(target, keep_default_na=False)
    assert back["value"].tolist() == [*BREAKS, "=1+1"]  # kept as it is
    assert CSV_LINE_END == "\r\n"


def test_pandas_lf_line_ends_split_a_lone_cr() -> None:
    """Why CRLF: with LF line ends the value below comes back in two rows."""
    text = pd.DataFrame({"value": ["a\rb"]}).to_csv(index=False, lineterminator="\n")
    assert pd.read_csv(io.StringIO(text, newline=""))["value"].tolist() != ["a\rb"]


@pytest.fixture
def hostile(tmp_path: Path) -> list[str]:
    """A file whose values hold line breaks, and an unreadable file whose
    name holds a CR (listed in the errors sidecar)."""
    good = write_dicom(
        tmp_path / "in" / "good.dcm",
        ImageComments=BREAKS[0],
        PatientComments=BREAKS[1],
        StudyComments=BREAKS[2],
    )
    bad = tmp_path / "in" / "bad\rname.dcm"
    bad.write_bytes(b"")
    return [str(good), str(bad)]


def test_write_identifiers_csv_and_sidecar(tmp_path: Path, hostile: list[str]) -> None:
    out = tmp_path / "ids.csv"
    written = write_identifiers(hostile, out, errors="ignore", progress=False)
    assert written.n_errors == 1
    assert records_end_with_crlf(out.read_bytes())
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    values = dict(zip(rows["name"], rows["value"], strict=False))
    assert [values[k] for k in ("ImageComments", "PatientComments")] == BREAKS[:2]
    assert values["StudyComments"] == BREAKS[2]
    sidecar = errors_path(out)
    assert records_end_with_crlf(sidecar.read_bytes())
    errors = pd.read_csv(sidecar, dtype=str, keep_default_na=False)
    assert errors["file"].tolist() == [hostile[1]]
    with sidecar.open(newline="", encoding="utf-8") as fp:
        assert list(csv.reader(fp))[1][0] == hostile[1]
