"""deidscope identifiers writes the fields deid 0.4.13's get_identifiers finds.

deid runs for real on the same files; its pydicom-3 uids are normalised to the
spec's form, and private name components (ours carry the creator form, deid's
are empty) are blanked, as in the core parity test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from deid.dicom import get_identifiers as deid_get_identifiers

from deidscope.cli import main
from deidscope.cli._common import EXIT_OK
from deidscope.fields import normalize_uid
from deidscope.parallel import read_identifiers_parquet
from samples import deid_data_files

pytestmark = pytest.mark.parity


def _deid_name(name: str) -> str:
    return "__".join("" if part.startswith("(") else part for part in name.split("__"))


def test_cli_output_has_deids_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = list(deid_data_files())
    out = tmp_path / "ids.parquet"
    argv = ["identifiers", *files, "-o", str(out), "--workers", "2"]
    assert main([*argv, "--files-per-row-group", "4"]) == EXIT_OK
    capsys.readouterr()
    df = read_identifiers_parquet(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = deid_get_identifiers(files)
    assert df["file"].unique().tolist() == files
    for path in files:
        rows = df[df["file"] == path]
        fields = theirs[path]
        assert rows["uid"].tolist() == [normalize_uid(uid) for uid in fields]
        names = [_deid_name(name) for name in rows["name"]]
        assert names == [field.name for field in fields.values()]
        assert rows["VR"].tolist() == [str(f.element.VR) for f in fields.values()]
        assert rows["is_filemeta"].tolist() == [
            bool(f.is_filemeta) for f in fields.values()
        ]
