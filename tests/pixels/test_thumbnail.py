"""Thumbnails: every sample file, against pydicom's own decoding."""

from __future__ import annotations

import copy
import io
import re
import warnings

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import MPEG2MPML

import deidscope.pixels._decode as decode_module
from deidscope.errors import InputError, MissingDependencyError
from deidscope.pixels import (
    MissingDecoderError,
    PixelDataError,
    montage,
    thumbnail,
    to_png,
)
from pixels_helpers import reference_thumbnail, write_image
from samples import PYDICOM_TEST_FILES, all_sample_files, deid_data_files, short_id

# A wrong picture (inverted, wrong colours, misread bytes) differs by tens of
# grey levels on average; resampling and windowing order by a few.
TOLERANCE = 4.0


def _pydicom_decodes(path: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pydicom.dcmread(path, force=True).pixel_array  # noqa: B018
        except Exception:
            return False
    return True


@pytest.mark.parametrize("path", all_sample_files(), ids=short_id)
def test_thumbnail_matches_pydicom_or_fails_clearly(path: str) -> None:
    if not _pydicom_decodes(path):
        with pytest.raises(PixelDataError, match=re.escape(str(path))):
            thumbnail(path)
        return
    thumb = thumbnail(path)
    assert thumb.dtype == np.uint8
    assert thumb.ndim == 2 or (thumb.ndim == 3 and thumb.shape[2] == 3)
    assert max(thumb.shape[:2]) <= 128
    ref = reference_thumbnail(path, thumb.shape[:2])
    assert ref.shape == thumb.shape
    diff = np.abs(thumb.astype(float) - ref.astype(float)).mean()
    assert diff <= TOLERANCE, f"mean difference {diff:.2f} from pydicom's picture"
    if ref.std() > 10:  # the comparison can tell a wrong picture
        inverted = np.abs((255 - thumb).astype(float) - ref.astype(float)).mean()
        assert inverted > TOLERANCE


@pytest.mark.parametrize("path", deid_data_files(), ids=short_id)
def test_thumbnail_keeps_aspect(path: str) -> None:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    thumb = thumbnail(path, size=64)
    assert max(thumb.shape[:2]) == 64
    ratio = ds.Rows / ds.Columns
    assert abs(thumb.shape[0] / thumb.shape[1] - ratio) < 2 / 64


def test_thumbnail_of_a_dataset_equals_the_file_and_leaves_it_alone() -> None:
    for name in ("MR_small.dcm", "SC_rgb_jpeg_dcmtk.dcm", "examples_palette.dcm"):
        path = PYDICOM_TEST_FILES / name
        ds = pydicom.dcmread(path)
        before = copy.deepcopy(ds)
        np.testing.assert_array_equal(thumbnail(ds), thumbnail(path))
        assert ds == before


def test_multiframe_middle_frame_and_frame_choice(tmp_path) -> None:
    frames = np.stack([np.full((8, 8), 20 * i, np.uint8) for i in range(5)])
    frames[:, 0, 0] = 255  # fixed window: every frame has 0..255
    frames[:, 0, 1] = 0
    path = write_image(
        tmp_path / "multi.dcm",
        frames,
        NumberOfFrames=5,
        WindowCenter=127.5,
        WindowWidth=256,
    )
    assert thumbnail(path)[4, 4] == 40  # frame 2 of 5
    assert thumbnail(path, frame=4)[4, 4] == 80
    with pytest.raises(InputError, match="frame 5 does not exist"):
        thumbnail(path, frame=5)


@pytest.mark.parametrize(
    "name",
    ["ultrasound-multiframe.dcm", "examples_ybr_color.dcm", "SC_rgb_rle_2frame.dcm"],
)
def test_multiframe_decodes_only_one_frame(name: str, monkeypatch) -> None:
    path = next(
        p
        for p in all_sample_files()
        if p.endswith(name) and ("ultrasound" not in name or "deid_data" in p)
    )
    calls: list[object] = []
    real_decoder = decode_module.get_decoder

    class Spy:
        def __init__(self, decoder) -> None:
            self._decoder = decoder

        def __getattr__(self, item):
            return getattr(self._decoder, item)

        def as_array(self, src, **kwargs):
            calls.append(("as_array", kwargs.get("index")))
            return self._decoder.as_array(src, **kwargs)

    real_get_frame = decode_module.get_frame

    def get_frame(buffer, index, **kwargs):
        calls.append(("get_frame", index))
        return real_get_frame(buffer, index, **kwargs)

    monkeypatch.setattr(decode_module, "get_decoder", lambda s: Spy(real_decoder(s)))
    monkeypatch.setattr(decode_module, "get_frame", get_frame)
    frames = int(pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames)
    thumbnail(path)
    assert calls, "nothing was decoded"
    assert all(index == frames // 2 for _, index in calls), calls


def _gradient(dtype=np.uint16, maximum: int = 4095) -> np.ndarray:
    row = np.linspace(0, maximum, 64).astype(dtype)
    return np.tile(row, (32, 1))


def test_monochrome1_is_inverted(tmp_path) -> None:
    arr = _gradient()
    mono2 = thumbnail(write_image(tmp_path / "m2.dcm", arr, bits_stored=12))
    mono1 = thumbnail(
        write_image(tmp_path / "m1.dcm", arr, photometric="MONOCHROME1", bits_stored=12)
    )
    assert mono2[0, 0] == 0
    assert mono2[0, -1] == 255
    np.testing.assert_array_equal(mono1, 255 - mono2)


def test_signed_rescale_and_window(tmp_path) -> None:
    # Stored -1000..1000, HU = 2 * stored - 24; window 0 +- 500 HU.
    arr = np.tile(np.linspace(-1000, 1000, 101).astype(np.int16), (4, 1))
    path = write_image(
        tmp_path / "ct.dcm",
        arr,
        RescaleSlope=2,
        RescaleIntercept=-24,
        WindowCenter=0,
        WindowWidth=1001,
    )
    thumb = thumbnail(path)
    hu = arr[0].astype(float) * 2 - 24
    expected = np.clip((hu + 500) / 1000, 0, 1) * 255
    np.testing.assert_allclose(thumb[0], expected, atol=1.01)


def test_unused_high_bits_are_ignored(tmp_path) -> None:
    arr = _gradient()
    noisy = arr | np.uint16(0xF000)  # garbage above BitsStored
    clean = thumbnail(write_image(tmp_path / "a.dcm", arr, bits_stored=12))
    dirty = thumbnail(write_image(tmp_path / "b.dcm", noisy, bits_stored=12))
    np.testing.assert_array_equal(clean, dirty)


@pytest.mark.parametrize(
    ("function", "expected"),
    [("LINEAR", 128), ("LINEAR_EXACT", 128), ("SIGMOID", 128)],
    ids=["linear", "linear-exact", "sigmoid"],
)
def test_window_functions_map_the_center_to_mid_grey(
    tmp_path, function: str, expected: int
) -> None:
    arr = np.full((4, 4), 100, np.uint16)
    arr[0, 0] = 0
    path = write_image(
        tmp_path / "w.dcm",
        arr,
        WindowCenter=100.5 if function == "LINEAR" else 100,
        WindowWidth=50,
        VOILUTFunction=function,
    )
    assert abs(int(thumbnail(path)[2, 2]) - expected) <= 1


def test_unusable_window_falls_back_to_percentiles(tmp_path) -> None:
    arr = _gradient()
    path = write_image(tmp_path / "w.dcm", arr, WindowCenter=10, WindowWidth=0)
    thumb = thumbnail(path)
    assert thumb.min() == 0
    assert thumb.max() == 255


def test_voi_lut_sequence(tmp_path) -> None:
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.LUTData = list(range(255, -1, -1))  # an inverting LUT
    item["LUTData"].VR = "US"
    arr = np.tile(np.arange(256, dtype=np.uint16), (4, 1))
    path = write_image(tmp_path / "v.dcm", arr, VOILUTSequence=Sequence([item]))
    thumb = thumbnail(path, size=256)
    np.testing.assert_array_equal(thumb[0], 255 - np.arange(256))


def test_palette_color(tmp_path) -> None:
    arr = np.array([[0, 1], [2, 3]], np.uint8)
    lut = {
        "Red": [0, 255, 0, 0],
        "Green": [0, 0, 255, 0],
        "Blue": [0, 0, 0, 255],
    }
    elements = {}
    for colour, values in lut.items():
        elements[f"{colour}PaletteColorLookupTableDescriptor"] = [4, 0, 8]
        elements[f"{colour}PaletteColorLookupTableData"] = bytes(values)
    path = write_image(tmp_path / "p.dcm", arr, photometric="PALETTE COLOR", **elements)
    thumb = thumbnail(path)
    assert thumb.shape == (2, 2, 3)
    assert thumb[0, 1].tolist() == [255, 0, 0]
    assert thumb[1, 0].tolist() == [0, 255, 0]
    assert thumb[1, 1].tolist() == [0, 0, 255]


def _to_partial(rgb: np.ndarray) -> np.ndarray:
    m = np.array(
        [
            [0.2568, 0.5041, 0.0979],
            [-0.1482, -0.2910, 0.4392],
            [0.4392, -0.3678, -0.0714],
        ]
    )
    return np.rint(rgb @ m.T + [16, 128, 128]).astype(np.uint8)


def test_ybr_partial_422_native(tmp_path) -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2] = [200, 30, 30]
    rgb[2:] = [30, 30, 200]
    ybr = _to_partial(rgb.astype(float))
    # 4:2:2: Y0 Y1 Cb Cr per horizontal pair of pixels.
    packed = bytearray()
    for row in ybr:
        for x in range(0, 4, 2):
            packed += bytes([row[x, 0], row[x + 1, 0], row[x, 1], row[x, 2]])
    path = write_image(tmp_path / "y.dcm", rgb, photometric="YBR_PARTIAL_422")
    ds = pydicom.dcmread(path)
    ds.PixelData = bytes(packed)
    ds.save_as(path)
    thumb = thumbnail(path).astype(int)
    assert np.abs(thumb - rgb).max() <= 3


def test_ybr_full_native_is_converted(tmp_path) -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:, :2] = [250, 10, 10]
    rgb[:, 2:] = [10, 250, 10]
    from pydicom.pixels.processing import convert_color_space

    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    thumb = thumbnail(write_image(tmp_path / "y.dcm", ybr, photometric="YBR_FULL"))
    assert np.abs(thumb.astype(int) - rgb).max() <= 2


def test_one_bit_and_float_pixels(tmp_path) -> None:
    seg = PYDICOM_TEST_FILES / "liver_1frame.dcm"
    assert set(np.unique(thumbnail(seg, size=512))) == {0, 255}
    arr = np.linspace(-1.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    path = write_image(tmp_path / "f.dcm", arr.view(np.uint32))
    ds = pydicom.dcmread(path)
    del ds.PixelData, ds.PixelRepresentation, ds.BitsStored, ds.HighBit
    ds.FloatPixelData = arr.tobytes()
    ds.BitsAllocated = 32
    ds.save_as(path)
    thumb = thumbnail(path)
    assert thumb[0, 0] == 0
    assert thumb[-1, -1] == 255
    assert np.all(np.diff(thumb.ravel().astype(int)) >= 0)


def test_no_pixel_data_is_a_clear_error() -> None:
    path = PYDICOM_TEST_FILES / "rtplan.dcm"
    with pytest.raises(PixelDataError, match=r"rtplan\.dcm: no pixel data"):
        thumbnail(path)


def test_truncated_pixel_data_is_a_clear_error() -> None:
    with pytest.raises(PixelDataError, match="corrupt or truncated"):
        thumbnail(PYDICOM_TEST_FILES / "MR_truncated.dcm")


def test_unsupported_transfer_syntax(tmp_path) -> None:
    path = write_image(tmp_path / "mpeg.dcm", np.zeros((4, 4), np.uint8))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\0" * 12])
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(PixelDataError, match=r"MPEG2 .* cannot be decoded"):
        thumbnail(path)


def test_missing_decoder_names_the_package(monkeypatch) -> None:
    class Unavailable:
        is_available = False
        missing_dependencies = (
            "pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0",
            "gdcm - requires gdcm>=3.0.10",
        )

    monkeypatch.setattr(decode_module, "get_decoder", lambda syntax: Unavailable())
    path = PYDICOM_TEST_FILES / "JPEG2000.dcm"
    with pytest.raises(MissingDecoderError, match="pylibjpeg-openjpeg") as info:
        thumbnail(path)
    assert isinstance(info.value, MissingDependencyError)
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, PixelDataError)
    assert "JPEG 2000" in str(info.value)
    assert "deidscope[pixels]" in str(info.value)


def test_missing_transfer_syntax_decodes_native_data(tmp_path) -> None:
    arr = _gradient()
    path = write_image(tmp_path / "a.dcm", arr, bits_stored=12)
    ds = pydicom.dcmread(path)
    del ds.file_meta.TransferSyntaxUID
    ds.save_as(tmp_path / "b.dcm", enforce_file_format=False)
    np.testing.assert_array_equal(thumbnail(tmp_path / "b.dcm"), thumbnail(path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size must be at least 1"),
        ({"size": True}, "expected an int for size"),
        ({"frame": -1}, "frame must be at least 0"),
        ({"frame": 1.5}, "expected an int for frame"),
    ],
    ids=["size-0", "size-bool", "frame-negative", "frame-float"],
)
def test_thumbnail_bad_options(kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        thumbnail(PYDICOM_TEST_FILES / "CT_small.dcm", **kwargs)


def test_thumbnail_bad_input() -> None:
    with pytest.raises(InputError, match="expected a path or a pydicom Dataset"):
        thumbnail(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        thumbnail("/no/such/file.dcm")


def test_montage_grid_and_png() -> None:
    grey = np.full((4, 6), 100, np.uint8)
    colour = np.zeros((6, 4, 3), np.uint8)
    colour[..., 0] = 200
    grid = montage([grey, colour, grey], ncols=2, padding=1, fill=7)
    assert grid.shape == (2 * 6 + 3, 2 * 6 + 3, 3)
    assert grid[0, 0].tolist() == [7, 7, 7]
    assert grid[2, 1].tolist() == [100, 100, 100]  # centred vertically
    assert grid[1, 8].tolist() == [7, 7, 7]  # centred horizontally
    assert grid[1, 9].tolist() == [200, 0, 0]
    png = to_png(grid)
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(decoded, grid)


def test_montage_bad_input() -> None:
    with pytest.raises(InputError, match="at least one image"):
        montage([])
    with pytest.raises(InputError, match="expected uint8 images"):
        montage([np.zeros((2, 2), np.float32)])
    with pytest.raises(InputError, match="expected a uint8 array"):
        to_png(np.zeros((2, 2, 4), np.uint8))


def _broken_cookie(tmp_path, data: bytes):
    src = next(f for f in deid_data_files() if f.endswith("image1.dcm"))
    ds = pydicom.dcmread(src)
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = pydicom.encaps.encapsulate([data or frame[: len(frame) // 3]])
    path = tmp_path / "broken.dcm"
    ds.save_as(path)
    return path


def test_corrupt_jpeg_frame_is_a_clear_error(tmp_path) -> None:
    path = _broken_cookie(tmp_path, b"\xff\xd8" + b"\x00" * 64)
    with pytest.raises(PixelDataError, match=r"broken\.dcm: cannot decode"):
        thumbnail(path)


def test_truncated_jpeg_shows_what_pydicom_decodes(tmp_path) -> None:
    # Pillow refuses a truncated scan; pydicom's decoder fills the rest, and
    # the thumbnail falls back to it rather than failing.
    path = _broken_cookie(tmp_path, b"")
    thumb = thumbnail(path)
    ref = reference_thumbnail(str(path), thumb.shape[:2])
    assert np.abs(thumb.astype(float) - ref).mean() <= TOLERANCE


def test_dataset_without_transfer_syntax(tmp_path) -> None:
    ds = pydicom.dcmread(write_image(tmp_path / "a.dcm", _gradient(), bits_stored=12))
    fresh = Dataset()
    fresh.update(ds)  # no file meta, no encoding it was read with
    with pytest.raises(PixelDataError, match=r"set ds\.file_meta\.TransferSyntaxUID"):
        thumbnail(fresh)


# -- bounded work and one kind of error (issue 11) -------------------------------


def _declared(tmp_path, rows, columns, **elements):
    """A file that declares a huge image but holds a few bytes of pixel data."""
    path = write_image(tmp_path / "huge.dcm", np.zeros((2, 2), np.uint16), **elements)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = rows, columns
    ds.save_as(path)
    return path


def test_a_declared_huge_image_is_refused_before_decoding(tmp_path, monkeypatch):
    path = _declared(tmp_path, 65535, 65535)

    def never(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(decode_module, "_with_file", never)
    with pytest.raises(PixelDataError, match="too large") as info:
        thumbnail(path)
    assert str(path) in str(info.value)
    assert f"{decode_module.MAX_DECODED_BYTES:,}" in str(info.value)


def test_the_bound_counts_the_frames_decoded_at_once(tmp_path, monkeypatch):
    path = write_image(
        tmp_path / "frames.dcm", np.zeros((4, 32, 32), np.uint16), NumberOfFrames=4
    )
    monkeypatch.setattr(decode_module, "MAX_DECODED_BYTES", 32 * 32 * 2 * 3)
    assert thumbnail(path).shape == (32, 32)  # one frame fits
    from deidscope.pixels import clean

    with pytest.raises(PixelDataError, match="4 frames"):
        clean(path, [(0, 0, 4, 4)], output=tmp_path / "out.dcm")


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError("no"),
        OSError("disk"),
        TypeError("type"),
        ValueError("value"),
        IndexError("index"),
    ],
)
def test_every_failure_is_a_pixel_data_error_naming_the_file(
    tmp_path, monkeypatch, error
):
    path = write_image(tmp_path / "a.dcm", np.zeros((8, 8), np.uint8))

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("deidscope.pixels.thumbnails.to_uint8", fail)
    with pytest.raises(PixelDataError) as info:
        thumbnail(path)
    assert str(path) in str(info.value)
    assert type(error).__name__ in str(info.value)
    assert info.value.__cause__ is error


def test_memory_errors_are_pixel_data_errors_too(tmp_path, monkeypatch):
    path = write_image(tmp_path / "a.dcm", np.zeros((8, 8), np.uint8))

    def fail(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("deidscope.pixels.thumbnails.to_uint8", fail)
    with pytest.raises(PixelDataError, match="not enough memory"):
        thumbnail(path)


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        thumbnail(tmp_path / "nowhere.dcm")
