"""The installed ``deidscope`` script and ``python -m deidscope``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from deidscope.cli._common import EXIT_INPUT, EXIT_OK, EXIT_USAGE

SCRIPT = Path(sys.executable).parent / "deidscope"
COMMANDS = {
    "script": [str(SCRIPT)],
    "module": [sys.executable, "-m", "deidscope"],
}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def test_script_is_installed() -> None:
    assert SCRIPT.is_file()
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.slow
@pytest.mark.parametrize("how", list(COMMANDS), ids=list(COMMANDS))
def test_identifiers_end_to_end(how: str, tmp_path: Path) -> None:
    done = _run([*COMMANDS[how], "identifiers", "-o", "ids.parquet"], tmp_path)
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout == "252 rows of 7 files written to ids.parquet\n"
    assert done.stderr == (
        "deidscope identifiers: no PATH given: reading the dicom-cookies sample\n"
    )
    df = pd.read_parquet(tmp_path / "ids.parquet")
    assert df["file"].nunique() == 7
    again = _run([*COMMANDS[how], "identifiers", "-o", "ids.parquet"], tmp_path)
    assert again.returncode == EXIT_INPUT
    assert again.stdout == ""
    assert again.stderr.splitlines() == [
        "deidscope identifiers: error: the output exists (pass --force to replace "
        "it): ids.parquet"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("how", list(COMMANDS), ids=list(COMMANDS))
def test_usage_error_and_help(how: str, tmp_path: Path) -> None:
    bad = _run([*COMMANDS[how], "identifiers"], tmp_path)
    assert bad.returncode == EXIT_USAGE
    assert len(bad.stderr.splitlines()) == 1
    helped = _run([*COMMANDS[how], "audit", "--help"], tmp_path)
    assert helped.returncode == EXIT_OK
    assert helped.stdout.startswith("usage: deidscope audit ")
