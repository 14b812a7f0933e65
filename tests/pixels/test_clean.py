"""clean: blanked regions, a valid output, deid parity, and never the input."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from deidscope.errors import InputError, ReadError
from deidscope.pixels import BoxWarning, PixelDataError, clean
from deidscope.recipe import Recipe
from pixels_helpers import deid_boxes, deid_detect_and_clean, write_image
from samples import PYDICOM_TEST_FILES, all_sample_files, deid_data_files, short_id

PARITY_FILES = [f for f in deid_data_files() if "cookies" in f or "ultrasounds" in f]


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _decoded(path) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, force=True).pixel_array
        except Exception:
            return None


@pytest.mark.parity
@pytest.mark.parametrize("recipe", ["deid.dicom", "deid.dicom.ultrasound"])
@pytest.mark.parametrize("path", PARITY_FILES, ids=short_id)
def test_clean_equals_deid(path: str, recipe: str, tmp_path) -> None:
    results, theirs = deid_detect_and_clean(path, recipe, tmp_path / "deid")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    blank, keep = deid_boxes(results, ds.Rows, ds.Columns)
    out = clean(path, blank, keep=keep, output=tmp_path / "ours.dcm")
    ours = pydicom.dcmread(out).pixel_array
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


DECODABLE = [f for f in all_sample_files() if _decoded(f) is not None]


@pytest.mark.parametrize("path", DECODABLE, ids=short_id)
def test_clean_every_sample_gives_a_valid_file(path: str, tmp_path) -> None:
    before = _digest(path)
    original = _decoded(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds_in = pydicom.dcmread(path, force=True, stop_before_pixels=True)
    frames = int(ds_in.get("NumberOfFrames", 1) or 1)
    out = clean(path, [(0, 0, 2, 3)], output=tmp_path / "out.dcm")
    assert _digest(path) == before, "the input changed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a consistent file reads without complaint
        ds = pydicom.dcmread(out)
        arr = ds.pixel_array
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.get("SOPInstanceUID") == ds_in.get("SOPInstanceUID")
    expected = original.copy()
    if frames > 1:
        expected[:, :3, :2] = 0
    else:
        expected[:3, :2] = 0
    np.testing.assert_array_equal(arr, expected)
    colour = arr.ndim == 3 + (frames > 1)
    assert ds.SamplesPerPixel == (3 if colour else 1)
    if colour:
        assert ds.PhotometricInterpretation == "RGB"
    if not np.array_equal(original, expected):
        assert ds.BurnedInAnnotation == "NO"
    assert not list(tmp_path.glob(".deidscope-*")), "a temporary file was left"


def _square(tmp_path, name="in.dcm", **elements) -> Path:
    arr = np.full((6, 8), 200, np.uint8)
    return write_image(tmp_path / name, arr, **elements)


def test_keep_boxes_win(tmp_path) -> None:
    path = _square(tmp_path)
    out = clean(path, [(0, 0, 8, 6)], keep=[(2, 1, 4, 3)], output=tmp_path / "o.dcm")
    arr = pydicom.dcmread(out).pixel_array
    expected = np.zeros((6, 8), np.uint8)
    expected[1:3, 2:4] = 200
    np.testing.assert_array_equal(arr, expected)


def test_boxes_outside_are_clipped_or_dropped_with_a_warning(tmp_path) -> None:
    path = _square(tmp_path)
    with pytest.warns(BoxWarning, match=r"in\.dcm: clean: box \(6, 4, 20, 20\)"):
        out = clean(path, [(6, 4, 20, 20)], output=tmp_path / "o.dcm")
    arr = pydicom.dcmread(out).pixel_array
    assert arr[4:, 6:].max() == 0
    assert arr[:4].min() == 200
    with pytest.warns(BoxWarning, match="lies outside"):
        out = clean(path, [(100, 100, 120, 120)], output=tmp_path / "p.dcm")
    ds = pydicom.dcmread(out)
    assert ds.pixel_array.min() == 200
    assert "BurnedInAnnotation" not in ds  # nothing was blanked


def test_output_names_and_never_the_input(tmp_path) -> None:
    path = _square(tmp_path, BurnedInAnnotation="YES")
    before = _digest(path)
    assert clean(path, [(0, 0, 1, 1)]) == str(tmp_path / "cleaned-in.dcm")
    folder = tmp_path / "out"
    folder.mkdir()
    assert clean(path, [(0, 0, 1, 1)], output=folder) == str(folder / "in.dcm")
    assert pydicom.dcmread(folder / "in.dcm").BurnedInAnnotation == "NO"
    with pytest.raises(InputError, match="would replace an input file"):
        clean(path, [(0, 0, 1, 1)], output=path)
    with pytest.raises(InputError, match="would replace an input file"):
        clean(path, [(0, 0, 1, 1)], output=tmp_path)
    os.link(path, tmp_path / "hardlink.dcm")
    with pytest.raises(InputError, match="would replace an input file"):
        clean(path, [(0, 0, 1, 1)], output=tmp_path / "hardlink.dcm")
    assert _digest(path) == before


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch) -> None:
    path = _square(tmp_path)

    def broken(self, *args, **kwargs):
        Path(args[0]).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Dataset, "save_as", broken)
    with pytest.raises(OSError, match="disk full"):
        clean(path, [(0, 0, 1, 1)], output=tmp_path / "o.dcm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.dcm"]


def test_lossy_history_and_icons(tmp_path) -> None:
    src = next(f for f in deid_data_files() if f.endswith("image1.dcm"))
    path = tmp_path / "cookie.dcm"
    shutil.copy(src, path)
    ds = pydicom.dcmread(path)
    icon = Dataset()
    icon.Rows = icon.Columns = 1
    ds.IconImageSequence = Sequence([icon])
    ds.save_as(path)
    out = pydicom.dcmread(clean(path, [(0, 0, 10, 10)], output=tmp_path / "o.dcm"))
    assert out.LossyImageCompression == "01"
    assert "IconImageSequence" not in out
    assert out.PhotometricInterpretation == "RGB"
    assert "PlanarConfiguration" in out
    assert out.PlanarConfiguration == 0


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (PYDICOM_TEST_FILES / "rtplan.dcm", PixelDataError, "no pixel data"),
        (PYDICOM_TEST_FILES / "MR_truncated.dcm", PixelDataError, "truncated"),
        (Path(__file__), ReadError, "not a DICOM file"),
    ],
    ids=["no-pixels", "truncated", "not-dicom"],
)
def test_clean_bad_input(path, error, message, tmp_path) -> None:
    with pytest.raises(error, match=message):
        clean(path, [(0, 0, 1, 1)], output=tmp_path / "o.dcm")
    assert not (tmp_path / "o.dcm").exists()


def test_clean_rejects_datasets_and_single_boxes(tmp_path) -> None:
    with pytest.raises(InputError, match="expected a file path"):
        clean(Dataset(), [])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="got one box"):
        clean(_square(tmp_path), (0, 0, 1, 1), output=tmp_path / "o.dcm")


def test_clean_keeps_the_keep_lines_of_a_label(tmp_path) -> None:
    """A LABEL's coordinates passed whole: its keepcoordinates line is kept."""
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter graylist\nLABEL x\n  contains Modality OT\n"
        "  coordinates 0,0,8,6\n  ctpkeepcoordinates 2,1,2,2\n"
    )
    coordinates = recipe.filters[0].labels[0].coordinates
    out = clean(_square(tmp_path), coordinates, output=tmp_path / "o.dcm")
    expected = np.zeros((6, 8), np.uint8)
    expected[1:3, 2:4] = 200
    np.testing.assert_array_equal(pydicom.dcmread(out).pixel_array, expected)


# -- keeping the input's compression (issue 11) ----------------------------------


def _compressed(tmp_path, syntax, arr, **elements):
    path = write_image(tmp_path / "in.dcm", arr, **elements)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        ds.compress(syntax, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    ("syntax", "arr", "photometric"),
    [
        ("1.2.840.10008.1.2.5", np.arange(64 * 48, dtype=np.uint16), "MONOCHROME2"),
        ("1.2.840.10008.1.2.5", np.arange(64 * 48 * 3, dtype=np.uint8), "RGB"),
        ("1.2.840.10008.1.2.4.80", np.arange(64 * 48, dtype=np.uint8), "MONOCHROME2"),
        ("1.2.840.10008.1.2.4.90", np.arange(64 * 48, dtype=np.uint16), "MONOCHROME2"),
    ],
    ids=["rle-16", "rle-rgb", "jpegls", "j2k-lossless"],
)
def test_clean_keeps_a_lossless_compression(tmp_path, syntax, arr, photometric):
    shape = (48, 64, 3) if photometric == "RGB" else (48, 64)
    arr = (arr % 251).astype(arr.dtype).reshape(shape)
    path = _compressed(tmp_path, syntax, arr, photometric=photometric)
    before = pydicom.dcmread(path)
    out = clean(path, [(0, 0, 10, 5)], output=tmp_path / "out.dcm", compression="keep")
    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert ds.SOPInstanceUID == before.SOPInstanceUID
    expected = arr.copy()
    expected[0:5, 0:10] = 0
    np.testing.assert_array_equal(ds.pixel_array, expected)
    plain = clean(path, [(0, 0, 10, 5)], output=tmp_path / "plain.dcm")
    assert pydicom.dcmread(plain).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


def test_clean_writes_uncompressed_and_says_so_when_it_cannot_keep(tmp_path):
    from pydicom.data import get_testdata_file

    path = jpeg = get_testdata_file("SC_rgb_jpeg.dcm")  # JPEG baseline: no encoder
    with pytest.warns(UserWarning, match="cannot keep JPEG"):
        out = clean(jpeg, [(0, 0, 4, 4)], output=tmp_path / "a.dcm", compression="keep")
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    with pytest.raises(InputError, match="compression"):
        clean(path, [(0, 0, 4, 4)], output=tmp_path / "b.dcm", compression="jpeg")
