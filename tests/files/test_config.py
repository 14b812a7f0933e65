"""read_config_skip: the get.skip list of a deid configuration file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deidscope.errors import InputError
from deidscope.files import read_config_skip


def test_reads_the_skip_list_in_order(tmp_path: Path) -> None:
    config = tmp_path / "deid.json"
    config.write_text(json.dumps({"get": {"skip": ["PixelData", "PatientName"]}}))
    assert read_config_skip(config, caller="f") == ("PixelData", "PatientName")
    assert read_config_skip(str(config), caller="f") == ("PixelData", "PatientName")


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        read_config_skip(tmp_path / "nope.json", caller="get_identifiers")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", r"JSONDecodeError"),
        ('{"put": {}}', r"KeyError"),
        ('["get"]', r"TypeError"),
        ('{"get": {"skip": "PixelData"}}', r"get\.skip .* list of keywords"),
        ('{"get": {"skip": ["PixelData", 3]}}', r"list of keywords, but got"),
    ],
    ids=["not-json", "no-get", "not-an-object", "a-string", "not-all-strings"],
)
def test_a_bad_config_names_the_caller_and_the_file(
    tmp_path: Path, text: str, match: str
) -> None:
    config = tmp_path / "deid.json"
    config.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        read_config_skip(config, caller="replace_identifiers")
    assert str(info.value).startswith("replace_identifiers: expected ")
    assert "deid.json" in str(info.value)
