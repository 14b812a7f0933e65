"""Property: a batch with one damaged file gives exactly the good files' rows.

Hypothesis damages one sample file (cuts it, overwrites a run of bytes,
appends bytes) and reads it between two good files, in a forked child with a
timeout and a memory cap (a hang or a blow-up fails the example instead of
the run). Whatever the damage, the good files' rows are those they give read
alone, the damaged file gives rows or is listed, and the batch never raises.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deidscope import read_identifiers
from fuzz_corpus import good_files, rows_of, run_isolated
from samples import deid_data_files, pydicom_test_files

#: Small files of each kind: explicit VR with sequences, a cookie, implicit VR.
SOURCES = tuple(
    [f for f in deid_data_files() if f.endswith(("ctbrain1.dcm", "image1.dcm"))]
    + [
        f
        for f in pydicom_test_files()
        if f.endswith(("/CT_small.dcm", "/rtplan.dcm", "/MR_small_bigendian.dcm"))
    ]
)


def _batch(good: tuple[str, str], damaged: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_identifiers([good[0], damaged, good[1]], errors="ignore")
    return {
        "rows": {file: rows_of(df, file) for file in (*good, damaged)},
        "errors": set(df.attrs["errors"]["file"]),
    }


@st.composite
def damages(draw: st.DrawFn) -> tuple[str, str, int, bytes]:
    """A damage, described (a small repr when it fails): source, kind, where, bytes."""
    source = draw(st.sampled_from(SOURCES))
    size = Path(source).stat().st_size
    # most structure sits in the first few kilobytes: aim there more often
    at = draw(st.one_of(st.integers(0, min(size, 4096)), st.integers(0, size)))
    kind = draw(st.sampled_from(["cut", "overwrite", "append"]))
    patch = b"" if kind == "cut" else draw(st.binary(min_size=1, max_size=12))
    return source, kind, at, patch


def _apply(damage: tuple[str, str, int, bytes]) -> bytes:
    source, kind, at, patch = damage
    data = Path(source).read_bytes()
    if kind == "cut":
        return data[:at]
    if kind == "append":
        return data + patch
    return data[:at] + patch + data[at + len(patch) :]


@pytest.fixture(scope="module")
def alone() -> dict[str, list[tuple[Any, ...]]]:
    return {file: rows_of(read_identifiers(file), file) for file in good_files()}


@pytest.mark.slow
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(damage=damages())
def test_one_damaged_file_costs_only_itself(
    damage: tuple[str, str, int, bytes],
    tmp_path: Path,
    alone: dict[str, list[tuple[Any, ...]]],
) -> None:
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(_apply(damage))
    good = good_files()
    out = run_isolated(_batch, good, str(damaged), timeout=30)
    assert out.status == "ok", out.value
    got = out.value
    for file in good:
        assert file not in got["errors"]
        assert got["rows"][file] == alone[file]
    assert got["rows"][str(damaged)] or str(damaged) in got["errors"]
