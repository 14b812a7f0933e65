"""deidscope.audit.profile: counts, PS3.15 actions, order, partial aggregates."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import deidscope
from deidscope.audit import profile
from deidscope.audit._partial import combine, partial_profile
from deidscope.audit._profile import PROFILE_COLUMNS, finish, name_unnamed
from deidscope.errors import InputError
from deidscope.ps315 import OPTIONS, load_table
from samples import nested_dataset, write_dicom


def _naive(df: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The profile's counts, computed the plain, slow way."""
    df = name_unnamed(df)
    plain = pd.DataFrame(
        {column: df[column].astype(str).to_numpy() for column in ("file", "name", "VR")}
    )
    plain["value"] = df["value"].astype(str).to_numpy()
    rows = []
    for name, group in plain.groupby("name", sort=False):
        counts = group["value"].value_counts()
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        rows.append(
            {
                "name": name,
                "n_files": group["file"].nunique(),
                "n_rows": len(group),
                "n_values": group["value"].nunique(),
                "n_empty": int((group["value"] == "").sum()),
                "VR": "/".join(sorted(set(group["VR"]))),
                "top_values": [(v, int(c)) for v, c in ranked[:top]],
            }
        )
    return pd.DataFrame(rows).set_index("name")


def test_profile_columns_and_one_row_per_name(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame
) -> None:
    assert tuple(samples_profile.columns) == PROFILE_COLUMNS
    assert samples_profile["name"].is_unique
    names = set(samples_df["name"].astype(str))
    assert "" in names  # group lengths and overlay elements: deid names them ""
    assert set(samples_profile["name"]) == (names - {""}) | {
        uid.replace(" ", "").upper()
        for uid in samples_df.loc[samples_df["name"] == "", "uid"].astype(str)
    }
    assert "(6000,3000)" in set(samples_profile["name"])


def test_profile_counts_match_a_plain_computation(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame
) -> None:
    expected = _naive(samples_df)
    got = samples_profile.set_index("name").loc[expected.index]
    for column in ("n_files", "n_rows", "n_values", "n_empty", "VR"):
        assert got[column].tolist() == expected[column].tolist(), column
    assert got["top_values"].tolist() == expected["top_values"].tolist()


def test_profile_flags_and_sequence_columns(samples_profile: pd.DataFrame) -> None:
    table = samples_profile.set_index("name")
    nested = table.loc["ReferencedImageSequence__ReferencedSOPInstanceUID"]
    assert nested["in_sequence"]
    assert nested["tag"] == "(0008, 1155)"
    assert nested["sequence_basic_profile"] == "X/Z/U*"  # ReferencedImageSequence
    assert not table.loc["PatientName", "in_sequence"]
    assert table.loc["PatientName", "sequence_basic_profile"] == ""
    assert table.loc["MediaStorageSOPInstanceUID", "is_filemeta"]
    assert not table.loc["SOPInstanceUID", "is_filemeta"]


@pytest.mark.parametrize(
    ("name", "column", "expected"),
    [
        ("PatientName", "basic_profile", "Z"),
        ("StudyDate", "retain_long_full_dates", "K"),
        ("SOPInstanceUID", "basic_profile", "U"),
        ("SOPInstanceUID", "retain_uids", "K"),
        ("InstitutionName", "retain_institution_identity", "K"),
        ("Rows", "basic_profile", ""),
        ('(0009,"GEMS_IDEN_01",04)', "basic_profile", "X"),
        ('(0009,"GEMS_IDEN_01",04)', "retain_safe_private", "C"),
    ],
    ids=[
        "name-Z",
        "date-option",
        "uid-U",
        "uid-option",
        "institution",
        "unlisted",
        "private-X",
        "private-option",
    ],
)
def test_profile_ps315_actions(
    samples_profile: pd.DataFrame, name: str, column: str, expected: str
) -> None:
    assert samples_profile.set_index("name").loc[name, column] == expected


def _save(ds: object, path: Path) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta  # type: ignore[attr-defined]
    ds.SOPClassUID = meta.MediaStorageSOPClassUID  # type: ignore[attr-defined]
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID  # type: ignore[attr-defined]
    ds.save_as(path, enforce_file_format=True)  # type: ignore[attr-defined]
    return path


def test_profile_private_fields_grouped_by_creator(tmp_path: Path) -> None:
    first = nested_dataset()
    second = nested_dataset()
    # the same creator in another block, after someone else's
    del second[0x00090010]
    del second[0x00091001]
    del second[0x00091002]
    second.private_block(0x0009, "OTHER VENDOR", create=True).add_new(0x01, "LO", "x")
    block = second.private_block(0x0009, "DEIDSCOPE TEST", create=True)
    block.add_new(0x01, "LO", "Other^Name")
    files = [_save(first, tmp_path / "a.dcm"), _save(second, tmp_path / "b.dcm")]
    table = profile(deidscope.read_identifiers(files)).set_index("name")
    row = table.loc['(0009,"DEIDSCOPE TEST",01)']
    assert row["n_files"] == 2
    assert row["private_creator"] == "DEIDSCOPE TEST"
    assert row["is_private"]
    assert row["tag"] in {"(0009, 1001)", "(0009, 1101)"}
    assert row["looks_like"] == "person_name"
    # nested names are apart from top-level ones
    assert table.loc["ReferencedImageSequence__ReferencedSOPInstanceUID", "n_rows"] == 4
    assert "ReferencedSOPInstanceUID" not in table.index


def test_profile_orders_public_then_private_by_creator(
    samples_profile: pd.DataFrame,
) -> None:
    private = samples_profile["is_private"].to_numpy()
    assert not private[: (~private).sum()].any()  # all public rows come first
    creators = samples_profile.loc[private, "private_creator"].fillna("").tolist()
    # each creator's rows sit together
    seen: list[str] = []
    for creator in creators:
        if not seen or seen[-1] != creator:
            assert creator not in seen, creator
            seen.append(creator)


def test_profile_sequence_rows_follow_their_sequence(
    samples_profile: pd.DataFrame,
) -> None:
    names = samples_profile["name"].tolist()
    sequence = names.index("ReferencedImageSequence")
    nested = names.index("ReferencedImageSequence__ReferencedSOPInstanceUID")
    assert sequence < nested


def test_profile_of_frame_with_only_required_columns(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame
) -> None:
    slim = samples_df[["file", "uid", "name", "VR", "value"]]
    slim_profile = profile(slim)
    columns = ["name", "n_files", "n_values", "basic_profile", "looks_like"]
    pd.testing.assert_frame_equal(
        slim_profile[columns].sort_values("name").reset_index(drop=True),
        samples_profile[columns].sort_values("name").reset_index(drop=True),
    )


def test_profile_does_not_change_its_input(samples_df: pd.DataFrame) -> None:
    before = samples_df.copy()
    profile(samples_df)
    pd.testing.assert_frame_equal(samples_df, before)


def test_profile_of_empty_frame() -> None:
    empty = deidscope.frame.empty_frame()
    result = profile(empty)
    assert tuple(result.columns) == PROFILE_COLUMNS
    assert len(result) == 0


def test_profile_top_argument(samples_df: pd.DataFrame) -> None:
    table = profile(samples_df, top=2).set_index("name")
    assert max(len(values) for values in table["top_values"]) == 2


@pytest.mark.parametrize(
    ("df", "kwargs", "message"),
    [
        ("not a frame", {}, "expected the identifier DataFrame"),
        (pd.DataFrame({"name": ["x"]}), {}, r"lacks \['file', 'uid', 'VR', 'value'\]"),
        (None, {"top": 0}, "top must be a positive int"),
        (None, {"top": True}, "top must be a positive int"),
    ],
    ids=["not-frame", "missing-columns", "top-zero", "top-bool"],
)
def test_profile_bad_input(
    samples_df: pd.DataFrame, df: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        profile(samples_df if df is None else df, **kwargs)


@pytest.mark.parametrize(
    "cuts",
    [1, 2, 5, 23, pytest.param(97, marks=pytest.mark.slow)],
    ids=lambda n: f"{n}-parts",
)
def test_partials_combine_to_the_whole(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame, cuts: int
) -> None:
    """Partial aggregates of any row split combine to the single-frame result."""
    samples_df = name_unnamed(samples_df)
    bounds = np.linspace(0, len(samples_df), cuts + 1).astype(int)
    parts = [
        partial_profile(samples_df.iloc[start:stop], keep=1000)
        for start, stop in itertools.pairwise(bounds)
    ]
    merged = combine(parts, keep=1000)
    assert merged.contiguous
    result = finish(merged)
    pd.testing.assert_frame_equal(result, samples_profile)


def test_combine_notices_files_split_apart(samples_df: pd.DataFrame) -> None:
    shuffled = samples_df.sample(frac=1.0, random_state=1)
    halves = [shuffled.iloc[: len(shuffled) // 2], shuffled.iloc[len(shuffled) // 2 :]]
    merged = combine([partial_profile(half) for half in halves])
    assert not merged.contiguous


def test_profile_flags_reasons_and_counts(samples_profile: pd.DataFrame) -> None:
    table = samples_profile.set_index("name")
    row = table.loc['(0009,"GEMS_GENIE_1",40)']  # a private LO holding BERRA,JAMES
    assert row["looks_like"] == "person_name"
    assert "LAST,FIRST" in row["reasons"]
    assert "e.g. 'Patient,The'" in row["reasons"]  # the greatest match
    assert row["n_flagged"] == row["n_rows"] - row["n_empty"]
    assert table.loc["Rows", "looks_like"] == ""
    assert table.loc["Rows", "n_flagged"] == 0
    assert set(OPTIONS) <= set(table.columns)


def test_profile_of_dicom_cookies_doctest_values() -> None:
    from deidscope.data import get_dataset

    table = profile(deidscope.read_identifiers(get_dataset("dicom-cookies")))
    row = table.set_index("name").loc["PatientName"]
    assert (row["n_files"], row["n_values"], row["basic_profile"]) == (7, 7, "Z")


def test_combine_needs_hashes(samples_df: pd.DataFrame) -> None:
    halves = [samples_df.iloc[:100], samples_df.iloc[100:]]
    parts = [partial_profile(half, hashes=False) for half in halves]
    with pytest.raises(InputError, match="hashes=True"):
        combine(parts)


@pytest.fixture(scope="module")
def repeating_profile(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The profile of one synthetic file with curve, overlay and private elements."""
    path = write_dicom(tmp_path_factory.mktemp("repeating") / "repeating.dcm")
    ds = pydicom.dcmread(path)
    ds.add_new(0x50003000, "OW", b"\x00\x01" * 4)  # curve data
    ds.add_new(0x60003000, "OW", b"\x01\x00" * 4)  # overlay data
    ds.add_new(0x60000010, "US", 4)  # overlay rows: not in the table
    ds.add_new(0x60024000, "LT", "Second overlay, reviewed by Dr Who")
    ds.private_block(0x0009, "DEIDSCOPE TEST", create=True).add_new(
        0x01, "LO", "Private^Name"
    )
    item = Dataset()
    item.add_new(0x60004000, "LT", "nested overlay comment")
    ds.ReferencedImageSequence = Sequence([item])
    ds.save_as(path)
    return profile(deidscope.read_identifiers([path])).set_index("name")


@pytest.mark.parametrize(
    ("name", "tag", "row"),
    [
        ("(5000,3000)", "(5000, 3000)", "(50xx, xxxx)"),
        ("(6002,4000)", "(6002, 4000)", "(60xx, 4000)"),
        ("(6000,3000)", "(6000, 3000)", "(60xx, 3000)"),
        ('(0009,"DEIDSCOPE TEST",01)', "(0009, 1001)", "private"),
        ("ReferencedImageSequence__(6000,4000)", "(6000, 4000)", "(60xx, 4000)"),
        ("(6000,0010)", "(6000, 0010)", None),
    ],
    ids=[
        "curve-data",
        "overlay-comments",
        "overlay-data",
        "private",
        "nested-overlay-comments",
        "overlay-rows-unlisted",
    ],
)
def test_profile_resolves_repeating_groups_and_private_tags(
    repeating_profile: pd.DataFrame, name: str, tag: str, row: str | None
) -> None:
    """Each element is its own row, with the actions of its PS3.15 row."""
    field = repeating_profile.loc[name]
    assert field["tag"] == tag
    assert field["n_rows"] == 1  # not merged with another element without keyword
    columns = ["basic_profile", *OPTIONS]
    if row is None:
        assert field[columns].tolist() == [""] * len(columns)
    else:
        expected = load_table().set_index("tag").loc[row, columns]
        assert field[columns].tolist() == expected.tolist()
        assert field["basic_profile"] == "X"
    assert field["is_private"] == (row == "private")
    assert "" not in repeating_profile.index
