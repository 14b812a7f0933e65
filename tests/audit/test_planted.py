"""The planted corpus (tests/helpers/planted.py) and what the audit finds in it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest

import deidscope
from deidscope.audit import leaks, scorecard
from deidscope.dicom import replace_identifiers
from deidscope.recipe import Recipe
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


TWO_LINES = "FORMAT dicom\n%header\nREPLACE PatientName ANONYMOUS\nBLANK PatientID\n"


@pytest.fixture(scope="module")
def two_lines(
    corpus: PlantedCorpus, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The corpus through a two-line recipe: (written files, before, after)."""
    out = tmp_path_factory.mktemp("two_lines")
    # the preamble kept (replace_identifiers zeroes it unless asked), for the
    # byte scan to find what a weak writer leaves there
    replace_identifiers(
        corpus.files,
        deid=TWO_LINES,
        save=True,
        output_folder=out,
        progress=False,
        keep_preamble=True,
    )
    written = sorted(str(p) for p in out.rglob("*.dcm"))
    assert len(written) == len(corpus.files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = deidscope.read_identifiers(corpus.files)
        after = deidscope.read_identifiers(written)
    return written, before, after


def _reported(found: pd.DataFrame, file: str, tokens: set[str]) -> set[str]:
    """The tokens of `file` that some finding's source value holds."""
    values = [v.casefold() for v in found.loc[found["file"] == file, "source_value"]]
    return {t for t in tokens if any(t.casefold() in v for v in values)}


def test_leaks_reports_every_token_a_two_line_recipe_leaves(
    corpus: PlantedCorpus, two_lines: tuple[list[str], pd.DataFrame, pd.DataFrame]
) -> None:
    written, before, after = two_lines
    left = find_tokens(written, corpus.manifest["token"])
    assert sum(map(len, left.values())) > 300  # the recipe leaves most of them
    found = leaks(before, after, scan_bytes=True)
    for file in written:
        missed = left[file] - _reported(found, file, left[file])
        assert not missed, (file, sorted(missed))
    # the preamble by the byte scan; the long private value byte for byte
    by_bytes = found[found["match"] == "bytes"]
    assert set(by_bytes["name"]) == {"preamble"}
    long_value = found[found["source_value"].str.startswith("<6000 bytes: ")]
    assert set(long_value["match"]) == {"kept"}
    assert len(long_value) == len(written)


def test_leaks_without_the_scan_misses_only_the_preamble(
    corpus: PlantedCorpus, two_lines: tuple[list[str], pd.DataFrame, pd.DataFrame]
) -> None:
    written, before, after = two_lines
    left = find_tokens(written, corpus.manifest["token"])
    found = leaks(before, after)
    assert "bytes" not in set(found["match"])
    in_preamble = set(
        corpus.manifest.loc[corpus.manifest["place"] == "preamble", "token"]
    )
    elsewhere = set(
        corpus.manifest.loc[corpus.manifest["place"] != "preamble", "token"]
    )
    only_preamble = in_preamble - elsewhere
    for file in written:
        missed = left[file] - _reported(found, file, left[file])
        assert missed <= only_preamble, (file, sorted(missed - only_preamble))


@pytest.fixture(scope="module")
def profiled(
    corpus: PlantedCorpus, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The corpus through the Basic Profile recipe: (written files, before, after)."""
    out = tmp_path_factory.mktemp("profile")
    replace_identifiers(
        corpus.files,
        deid=Recipe.from_profile(),
        save=True,
        output_folder=out,
        progress=False,
    )
    written = sorted(str(p) for p in out.rglob("*.dcm"))
    assert len(written) == len(corpus.files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = deidscope.read_identifiers(corpus.files)
        after = deidscope.read_identifiers(written)
    return written, before, after


def test_the_profile_leaves_no_planted_token_in_the_written_bytes(
    corpus: PlantedCorpus, profiled: tuple[list[str], pd.DataFrame, pd.DataFrame]
) -> None:
    """Preamble, file meta, private, overlays, SR, after the pixels: nothing left."""
    written, before, after = profiled
    left = find_tokens(written, corpus.manifest["token"])
    assert {file: sorted(tokens) for file, tokens in left.items() if tokens} == {}
    assert leaks(before, after, scan_bytes=True).empty


def test_the_profile_scores_100(
    profiled: tuple[list[str], pd.DataFrame, pd.DataFrame],
) -> None:
    _, before, after = profiled
    card = scorecard(before, after)
    assert card.ok, card.failures
    totals = card.summary.set_index("check")["total"]
    assert totals["text_removed"] > 1000
    # the replaced UIDs, and in uids_consistent also the references the
    # profile keeps with new UIDs (X/Z/U*: ReferencedImageSequence)
    assert totals["uids_consistent"] > totals["uids_changed"] > 30
    assert totals["patient_ids_consistent"] == len(before["file"].unique())


def test_leaks_follows_retain_safe_private(
    corpus: PlantedCorpus, two_lines: tuple[list[str], pd.DataFrame, pd.DataFrame]
) -> None:
    """The listed safe element is not a leak with the option; the unlisted one is."""
    _, before, after = two_lines
    manifest = corpus.manifest
    safe = set(manifest.loc[manifest["keyword"] == "private safe", "token"])
    unsafe = set(manifest.loc[manifest["keyword"] == "private unlisted", "token"])
    plain = set(leaks(before, after)["source_value"])
    kept = set(leaks(before, after, options=["retain_safe_private"])["source_value"])
    assert safe <= plain
    assert unsafe <= plain
    assert not safe & kept
    assert unsafe <= kept
    card = scorecard(before, after, options=["retain_safe_private"], pixels=False)
    removed = card.failures[card.failures["check"] == "text_removed"]
    assert not safe & set(removed["before"])
    assert unsafe <= set(removed["before"])
