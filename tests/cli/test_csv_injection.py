"""Header values never reach a CSV cell a spreadsheet would run as a formula.

Every CSV the command line writes (identifiers CSV and its errors sidecar,
apply's --leaks, clean's report) puts a single quote in front of a cell that
starts with =, +, -, @, a tab or a carriage return (OWASP's advice).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from deidscope.cli import main
from deidscope.cli._common import EXIT_FINDINGS, EXIT_OK
from deidscope.parallel._write import FORMULA_STARTS, escape_cell, escape_formulas
from samples import write_dicom

#: Header values a spreadsheet would run, by keyword (LT allows a tab and a CR).
EVIL = {
    "PatientName": '=HYPERLINK("http://x")',
    "PatientID": "+SUM(1,1)",
    "StudyDescription": "@cmd",
    "InstitutionName": "-2+3",
    "ImageComments": "\tTAB",
    "AdditionalPatientHistory": "\rCR",
}


@pytest.fixture
def evil_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``=scans`` (a relative path starting with =): an evil file, an empty one."""
    monkeypatch.chdir(tmp_path)
    write_dicom(tmp_path / "=scans" / "evil.dcm", **EVIL)
    (tmp_path / "=scans" / "empty.dcm").write_bytes(b"")
    return "=scans"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fp:
        return list(csv.reader(fp))


def _assert_no_formula(rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    assert cells
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []


def _by_name(rows: list[list[str]], value_column: str) -> dict[str, str]:
    header, *body = rows
    name, value = header.index("name"), header.index(value_column)
    return {row[name]: row[value] for row in body}


def test_identifiers_csv_and_sidecar(
    evil_folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["identifiers", evil_folder, "-o", "ids.csv"]) == EXIT_OK
    rows = _rows(tmp_path / "ids.csv")
    _assert_no_formula(rows)
    values = _by_name(rows, "value")
    assert values["PatientName"] == "'" + '=HYPERLINK("http://x")'
    assert {k: values[k] for k in EVIL} == {k: "'" + v for k, v in EVIL.items()}
    assert values["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.7"  # left alone
    assert {row[0] for row in rows[1:]} == {"'=scans/evil.dcm"}
    errors = _rows(tmp_path / "ids.csv.errors.csv")
    _assert_no_formula(errors)
    assert errors == [["file", "error"], ["'=scans/empty.dcm", "empty file (0 bytes)"]]


def test_apply_leaks_csv(
    evil_folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "weak.deid"
    recipe.write_text("FORMAT dicom\n%header\nREMOVE StudyDate\n")
    argv = ["apply", "-r", str(recipe), evil_folder, "-o", "out", "--leaks", "l.csv"]
    assert main(argv) == EXIT_FINDINGS
    rows = _rows(tmp_path / "l.csv")
    _assert_no_formula(rows)
    values = _by_name(rows, "value")
    assert values["PatientName"] == "'" + '=HYPERLINK("http://x")'
    assert _by_name(rows, "source_value")["PatientID"] == "'+SUM(1,1)"


def test_clean_report(
    evil_folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "label.deid"
    recipe.write_text(
        "FORMAT dicom\n%filter blacklist\nLABEL @evil label\n"
        "contains PatientName HYPERLINK\n"
    )
    argv = ["clean", "-r", str(recipe), evil_folder, "-o", "out"]
    assert main(argv) == EXIT_FINDINGS  # flagged without boxes, an unreadable file
    rows = _rows(tmp_path / "out" / "clean-report.csv")
    _assert_no_formula(rows)
    header, *body = rows
    found = {row[header.index("file")]: row for row in body}
    assert sorted(found) == ["'=scans/empty.dcm", "'=scans/evil.dcm"]
    assert found["'=scans/evil.dcm"][header.index("label")] == "'@evil label"


def test_help_says_how_csv_cells_are_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for command in ("identifiers", "apply", "clean"):
        assert main([command, "--help"]) == EXIT_OK
        text = " ".join(capsys.readouterr().out.split())
        assert "starts with =, +, -, @, a tab or a carriage return" in text, command
        assert "single quote in front" in text, command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1.5", "'-1.5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("'=x", "'=x"),
        ("", ""),
    ],
    ids=["eq", "plus", "minus", "at", "tab", "cr", "inside", "quoted", "empty"],
)
def test_escape_cell(text: str, expected: str) -> None:
    assert escape_cell(text) == expected


def test_escape_formulas_leaves_its_input_and_non_text_alone() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {
            "text": pd.array(["=x", "y", None], dtype="string"),
            "obj": pd.Series(["@a", 3, None], dtype=object),
            "cat": pd.Categorical(["-1", "ok", "-1"]),
            "n": [-1, 2, 3],
        }
    )
    before = df.copy()
    out = escape_formulas(df)
    pd.testing.assert_frame_equal(df, before)
    assert out["text"].tolist()[:2] == ["'=x", "y"]
    assert pd.isna(out["text"].iloc[2])
    assert out["obj"].tolist()[:2] == ["'@a", 3]
    assert out["cat"].tolist() == ["'-1", "ok", "'-1"]
    assert out["n"].tolist() == [-1, 2, 3]
