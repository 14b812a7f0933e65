"""The planted corpus (tests/helpers/planted.py) and what the audit finds in it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest

import deidscope
from planted import (
    MANIFEST_COLUMNS,
    PLACES,
    PlantedCorpus,
    expected_survivors,
    find_tokens,
    make_planted,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> PlantedCorpus:
    return make_planted(tmp_path_factory.mktemp("planted"), seed=0)


def test_every_token_is_in_its_file_and_every_file_reads(corpus: PlantedCorpus) -> None:
    found = find_tokens(corpus.files, corpus.manifest["token"])
    for file in corpus.files:
        assert corpus.tokens(file) == found[file], file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pydicom.dcmread(file)  # no force
    df = deidscope.read_identifiers(corpus.files)
    assert df["file"].nunique() == len(corpus.files)


def test_manifest_covers_every_place(corpus: PlantedCorpus) -> None:
    manifest = corpus.manifest
    assert tuple(manifest.columns) == MANIFEST_COLUMNS
    assert set(manifest["place"]) == set(PLACES)
    keywords = set(manifest["keyword"])
    for keyword in (
        "PatientName",
        "InstitutionName",
        "InstitutionAddress",
        "OverlayComments",
        "OverlayData",
        "TextValue",
        "AcquisitionDateTime",
        "private UN",
        "private OB > 4 KiB",
        "DataSetTrailingPadding",
        "SourceApplicationEntityTitle",
        "PrivateInformation",
    ):
        assert keyword in keywords, keyword
    # overlay comments in several groups of one file
    first = manifest[manifest["file"] == corpus.files[0]]
    groups = first.loc[first["keyword"] == "OverlayComments", "path"]
    assert len(set(groups)) >= 3
    # the SR text is four sequences deep
    text = first.loc[first["keyword"] == "TextValue", "path"].iloc[0]
    assert text.count("ContentSequence") == 4


def test_options_retain_what_the_table_says(corpus: PlantedCorpus) -> None:
    manifest = corpus.manifest
    assert expected_survivors(manifest, ()) == set()
    uids = expected_survivors(manifest, ["retain_uids"])
    assert uids
    assert all(token.startswith("2.25.") for _, token in uids)
    institution = manifest[manifest["keyword"] == "InstitutionName"]
    assert set(institution["retained_by"]) == {("retain_institution_identity",)}
    safe = manifest[manifest["keyword"].isin(["private safe", "private unlisted"])]
    assert dict(zip(safe["keyword"], safe["retained_by"], strict=False)) == {
        "private safe": ("retain_safe_private",),
        "private unlisted": (),
    }


def test_same_seed_same_values(corpus: PlantedCorpus, tmp_path: Path) -> None:
    again = make_planted(tmp_path / "again", seed=0)
    other = make_planted(tmp_path / "other", seed=1)
    assert list(again.manifest["token"]) == list(corpus.manifest["token"])
    assert list(other.manifest["token"]) != list(corpus.manifest["token"])
    assert isinstance(corpus.manifest, pd.DataFrame)
