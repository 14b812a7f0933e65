"""find_text, propose_filters, verify: with a stand-in engine, and with RapidOCR."""

from __future__ import annotations

import builtins
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import deidscope.pixels._ocr_engine as engine_module
from burned_in import HEADER, iou, make_corpus
from deidscope import read_identifiers
from deidscope.errors import InputError, MissingDependencyError
from deidscope.pixels import (
    ALLOW_LIST,
    clean,
    detect,
    find_text,
    propose_filters,
    verify,
)
from deidscope.pixels._ocr_engine import OcrCache
from deidscope.pixels._text_match import HeaderMatcher, allowed, compile_allow
from deidscope.pixels.ocr import TEXT_COLUMNS, VERIFY_COLUMNS
from deidscope.recipe import Recipe
from pixels_helpers import write_image


class FakeEngine:
    """Returns the same boxes (in the picture's pixels) for every picture."""

    def __init__(self, boxes, *, cache_name=None):
        self.boxes = boxes
        self.calls: list[tuple[int, ...]] = []
        if cache_name:
            self.cache_name = cache_name

    def __call__(self, picture):
        self.calls.append(picture.shape)
        return list(self.boxes)


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    OcrCache.clear_memory()
    yield
    OcrCache.clear_memory()


def _image(path, *, rows=64, columns=96, model="M1", frames=1, **elements):
    arr = np.zeros((frames, rows, columns) if frames > 1 else (rows, columns), np.uint8)
    extra = {"NumberOfFrames": frames} if frames > 1 else {}
    return write_image(
        path,
        arr,
        Manufacturer="ACME",
        ManufacturerModelName=model,
        PatientBirthDate="19510829",
        PatientID="4815162342",
        **extra,
        **elements,
    )


# -- header values and the allow-list ------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("DOB: 08/29/1951", "PatientBirthDate"),
        ("1951-08-29", "PatientBirthDate"),
        ("29.08.1951", "PatientBirthDate"),
        ("29-AUG-1951", "PatientBirthDate"),
        ("8/29/1951", "PatientBirthDate"),
        ("DOE, JANE", "PatientName"),
        ("Jane Doe", "PatientName"),
        ("DOE^JANE", "PatientName"),
        ("ID:4815162342", "PatientID"),
        ("MRN 4815162342 F", "PatientID"),
        ("12 cm", None),
        ("08/30/1951", None),
        ("JANET", None),  # a name word must be a whole word of the text
        ("481516", None),  # part of an ID is not the ID
    ],
)
def test_header_spellings(text, field):
    matcher = HeaderMatcher(
        [
            ("PatientBirthDate", "DA", "19510829"),
            ("PatientName", "PN", "DOE^JANE"),
            ("PatientID", "LO", "4815162342"),
            ("Modality", "CS", "US"),  # coded strings are not looked for
        ]
    )
    assert matcher.match(text) == field


def test_names_prefer_the_person_to_other_fields():
    matcher = HeaderMatcher(
        [("StudyDescription", "LO", "DOE JANE"), ("PatientName", "PN", "DOE^JANE")]
    )
    assert matcher.match("DOE JANE") == "PatientName"


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("12 cm", True),
        ("MI 1.2", True),
        ("TIS 0.4", True),
        ("120 kVp", True),
        ("250mAs", True),
        ("Gain 50 %", True),
        ("5", True),
        ("L", True),
        ("4815162342", False),
        ("DOE JANE", False),
        ("EXAM 50349", False),
    ],
)
def test_allow_list_seed(text, safe):
    assert allowed(text, compile_allow(None)) is safe


def test_allow_list_is_extended_by_the_user():
    pattern = compile_allow([r"EXAM \d+"])
    assert allowed("exam 50349", pattern)
    assert len(ALLOW_LIST) >= 5


# -- find_text with a stand-in engine ------------------------------------------


def test_find_text_rows_and_header_matches(tmp_path):
    path = _image(tmp_path / "a.dcm")
    engine = FakeEngine(
        [
            ((2.2, 3.7, 40.1, 12.0), "DOB 08/29/1951", 0.99),
            ((50, 50, 60, 60), "12 cm", 0.9),
            ((60, 2, 90, 10), "EXAM 7", 0.8),
        ]
    )
    text = find_text([str(path)], engine=engine, progress=False)
    assert list(text.columns) == list(TEXT_COLUMNS)
    assert text["box"].tolist() == [(2, 3, 41, 12), (50, 50, 60, 60), (60, 2, 90, 10)]
    assert text["header_match"].tolist() == ["PatientBirthDate", None, None]
    assert text["allowed"].tolist() == [False, True, False]
    assert text["frame"].tolist() == [0, 0, 0]
    assert text["signature"].iloc[0].startswith("ACME | M1 | OT | 96x64 |")
    sampled = text.attrs["sampled"]
    assert sampled[["file", "frame", "rows", "columns"]].values.tolist() == [
        [str(path), 0, 64, 96]
    ]


def test_boxes_are_in_full_image_pixels_when_the_picture_is_shrunk(
    tmp_path, monkeypatch
):
    import deidscope.pixels.ocr as ocr

    monkeypatch.setattr(ocr, "MAX_SIDE", 48)  # the 96-column image is read at 48
    path = _image(tmp_path / "a.dcm")
    engine = FakeEngine([((10, 5, 20, 10), "x", 0.9)])
    text = find_text([str(path)], engine=engine, progress=False)
    assert engine.calls == [(32, 48)]
    assert text["box"].tolist() == [(20, 10, 40, 20)]


def test_samples_per_signature_spread_over_the_files(tmp_path):
    files = [str(_image(tmp_path / f"a{i}.dcm")) for i in range(5)]
    files += [str(_image(tmp_path / "b.dcm", model="M2"))]
    engine = FakeEngine([((1, 1, 9, 9), "x", 0.9)])
    text = find_text(files, engine=engine, sample=3, progress=False)
    read = text.attrs["sampled"]["file"].tolist()
    assert sorted(read) == sorted([files[0], files[2], files[4], files[5]])
    assert text["signature"].nunique() == 2
    every = find_text(files, engine=engine, sample=None, progress=False)
    assert len(every.attrs["sampled"]) == 6


def test_frames_option(tmp_path):
    path = str(_image(tmp_path / "m.dcm", frames=5))
    engine = FakeEngine([((1, 1, 9, 9), "x", 0.9)])
    assert find_text([path], engine=engine, progress=False)["frame"].tolist() == [2]
    assert find_text([path], engine=engine, frames="first", progress=False)[
        "frame"
    ].tolist() == [0]
    assert find_text([path], engine=engine, frames=[1, 4, 9], progress=False)[
        "frame"
    ].tolist() == [1, 4]
    assert len(find_text([path], engine=engine, frames="all", progress=False)) == 5
    with pytest.raises(InputError, match="frames"):
        find_text([path], engine=engine, frames="last")


def test_results_are_cached_by_content_in_memory_and_on_disk(tmp_path):
    path = str(_image(tmp_path / "a.dcm"))
    engine = FakeEngine([((1, 1, 9, 9), "DOE JANE", 0.9)], cache_name="fake-1")
    cache = tmp_path / "cache"
    first = find_text([path], engine=engine, cache_dir=cache, progress=False)
    again = find_text([path], engine=engine, cache_dir=cache, progress=False)
    assert len(engine.calls) == 1
    pd.testing.assert_frame_equal(first, again)
    assert len(list(cache.glob("*.json"))) == 1
    OcrCache.clear_memory()  # a new session: the folder answers
    find_text([path], engine=engine, cache_dir=cache, progress=False)
    assert len(engine.calls) == 1
    copy = tmp_path / "copy.dcm"  # same bytes, other name: same result
    shutil.copy(path, copy)
    find_text([str(copy)], engine=engine, progress=False)
    assert len(engine.calls) == 1
    uncached = FakeEngine([((1, 1, 9, 9), "x", 0.9)])  # no cache_name
    find_text([path], engine=uncached, progress=False)
    find_text([path], engine=uncached, progress=False)
    assert len(uncached.calls) == 2


def test_a_file_that_fails_is_listed_and_the_batch_goes_on(tmp_path):
    good = str(_image(tmp_path / "good.dcm"))
    bad = tmp_path / "bad.dcm"
    data = bytearray((tmp_path / "good.dcm").read_bytes())
    bad.write_bytes(bytes(data[:-2000]))  # pixel data cut short
    engine = FakeEngine([((1, 1, 9, 9), "x", 0.9)])
    with pytest.warns(UserWarning, match="find_text"):
        text = find_text([good, str(bad)], engine=engine, sample=None, progress=False)
    assert set(text["file"]) == {good}
    assert str(bad) in set(text.attrs["errors"]["file"])


def test_input_is_checked(tmp_path):
    path = str(_image(tmp_path / "a.dcm"))
    engine = FakeEngine([])
    with pytest.raises(InputError, match="sample"):
        find_text([path], engine=engine, sample=0)
    with pytest.raises(InputError, match="by"):
        find_text([path], engine=engine, by=["not a keyword"])
    with pytest.raises(InputError, match="engine"):
        find_text([path], engine="tesseract")
    with pytest.raises(InputError, match="allow"):
        find_text([path], engine=engine, allow=["("])
    empty = find_text([path], engine=engine, progress=False)
    assert list(empty.columns) == list(TEXT_COLUMNS)
    assert len(empty) == 0


def test_without_the_extra_the_error_names_it(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name.split(".")[0] in ("rapidocr", "onnxruntime"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    monkeypatch.setattr(engine_module, "_ENGINES", {})
    import importlib

    monkeypatch.setattr(
        importlib, "import_module", lambda name, *a: blocked(name, None, None, ("x",))
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'deidscope\[ocr\]'"):
        find_text([str(_image(tmp_path / "a.dcm"))])
    with pytest.raises(ImportError):
        verify([str(tmp_path / "a.dcm")], [str(tmp_path / "a.dcm")])


# -- propose_filters -----------------------------------------------------------


def _sampled_text(files, boxes_per_file, signature="S", rows=64, columns=96):
    records = []
    for file, boxes in zip(files, boxes_per_file, strict=True):
        for box, text, match in boxes:
            records.append(
                {
                    "file": file,
                    "frame": 0,
                    "signature": signature,
                    "box": box,
                    "text": text,
                    "score": 0.9,
                    "header_match": match,
                    "allowed": match is None and text.endswith("cm"),
                }
            )
    text = pd.DataFrame(records, columns=list(TEXT_COLUMNS))
    text.attrs["sampled"] = pd.DataFrame(
        {
            "file": files,
            "frame": 0,
            "signature": signature,
            "rows": rows,
            "columns": columns,
        }
    )
    return text


def test_propose_filters_keeps_boxes_seen_in_most_images(tmp_path):
    files = [str(_image(tmp_path / f"a{i}.dcm")) for i in range(3)]
    df = read_identifiers(files)
    text = _sampled_text(
        files,
        [
            [((10, 2, 40, 12), "EXAM 1", None), ((50, 50, 60, 60), "12 cm", None)],
            [((11, 3, 42, 12), "EXAM 2", None), ((70, 40, 90, 50), "LOGO", None)],
            [((9, 2, 38, 13), "EXAM 3", None), ((2, 50, 30, 60), "DOE", "PatientName")],
        ],
    )
    recipe_text = propose_filters(df, text)
    recipe = Recipe.from_text(recipe_text)
    assert recipe.lint(df).empty
    (label,) = recipe.filters[0].labels
    boxes = [c.value for c in label.coordinates]
    # EXAM merged over 3 images and padded; the header match seen once too;
    # LOGO (1 of 3) and the allow-listed "12 cm" left out
    assert boxes == ["5,0,46,17", "0,46,34,64"]
    assert "seen in 3 of 3 sampled images" in recipe_text
    assert "shows PatientName" in recipe_text
    assert "DOE" not in recipe_text.replace("DEIDSCOPE", "")  # no text read
    flags = detect(df, recipe)
    assert flags["flagged"].all()
    assert flags["coordinates"].iloc[0] == [(5, 0, 46, 17), (0, 46, 34, 64)]


def test_propose_filters_options_and_ultrasounds(tmp_path):
    from pydicom.dataset import Dataset

    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 20
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 95, 63
    files = [
        str(
            _image(
                tmp_path / "us.dcm",
                Modality="US",
                SequenceOfUltrasoundRegions=[region],
            )
        )
    ]
    df = read_identifiers(files)
    text = _sampled_text(files, [[((0, 0, 95, 10), "EXAM 1", None)]])
    recipe_text = propose_filters(
        df, text, recipe="FORMAT dicom\n\n%header\n\nREMOVE PatientID\n", pad=0
    )
    recipe = Recipe.from_text(recipe_text)
    assert [a.field for a in recipe.header] == ["PatientID"]
    coordinates = recipe.filters[0].labels[0].coordinates
    assert [(c.keep, c.value) for c in coordinates] == [
        (False, "0,0,95,10"),
        (True, "from:SequenceOfUltrasoundRegions"),
    ]
    assert recipe.lint(df).empty
    flags = detect(df, recipe)
    assert flags["keep_coordinates"].iloc[0] == [(0, 20, 95, 63)]
    allowed_only = _sampled_text(files, [[((0, 0, 9, 9), "12 cm", None)]])
    assert "LABEL" not in propose_filters(df, allowed_only)
    assert "LABEL" in propose_filters(df, allowed_only, include_allowed=True)
    with pytest.raises(InputError, match="find_text"):
        propose_filters(df, pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="pad"):
        propose_filters(df, text, pad=-1)


# -- verify --------------------------------------------------------------------


def test_verify_lists_header_values_and_unknown_text(tmp_path):
    original = _image(tmp_path / "in" / "a.dcm")
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(original, out / "a.dcm")
    engine = FakeEngine(
        [
            ((1, 1, 30, 9), "08/29/1951", 0.9),
            ((1, 20, 30, 29), "12 cm", 0.9),
            ((1, 40, 30, 49), "EXAM 7", 0.9),
        ]
    )
    rows = verify(out, tmp_path / "in", engine=engine, progress=False)
    assert list(rows.columns) == list(VERIFY_COLUMNS)
    assert rows["text"].tolist() == ["08/29/1951", "EXAM 7"]
    assert rows["header_match"].tolist() == ["PatientBirthDate", None]
    assert rows["original"].tolist() == [str(original)] * 2
    assert rows.attrs["checked"] == 1
    quiet = verify(
        out, tmp_path / "in", engine=FakeEngine([((1, 40, 30, 49), "12 cm", 0.9)])
    )
    assert quiet.empty


# -- RapidOCR on the synthetic burned-in corpus --------------------------------

KINDS = ("MONOCHROME1-16", "RGB-8", "PALETTE-8", "MULTIFRAME-8", "RLE-16")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("burned")
    return folder, make_corpus(folder / "in", seed=3, kinds=KINDS)


@pytest.mark.slow
def test_rapidocr_finds_every_header_value_and_verify_passes_after_clean(corpus):
    folder, images = corpus
    files = [str(i.path) for i in images]
    df = read_identifiers(files)
    text = find_text(df, progress=False, cache_dir=folder / "cache")
    assert text.attrs["errors"].empty
    for image in images:
        rows = text[text["file"] == str(image.path)]
        for planted in image.header_planted:
            hits = [
                m
                for b, m in zip(rows["box"], rows["header_match"], strict=True)
                if iou(b, planted.box) >= 0.5
            ]
            assert planted.field in hits, (image.kind, planted, rows)
    recipe = Recipe.from_text(propose_filters(df, text))
    assert recipe.lint(df).empty
    flags = detect(df, recipe)
    assert flags["flagged"].all()
    out = folder / "out"
    out.mkdir()
    for file, boxes, keep in zip(
        flags["file"], flags["coordinates"], flags["keep_coordinates"], strict=True
    ):
        clean(file, boxes, keep=keep, output=out / os.path.basename(file))
    left = verify(out, df, progress=False)
    assert left.attrs["checked"] == len(images)
    assert left["header_match"].isna().all(), left
    assert set(HEADER) >= set(text["header_match"].dropna())


def test_only_values_that_may_identify_count():
    from deidscope.pixels._text_match import header_triples

    triples = header_triples(
        [
            "TransducerData",
            "Manufacturer",
            "AccessionNumber",
            "(0033,1013)",
            "ViewName",
        ],
        ["LO", "LO", "SH", "LO", "SH"],
        ["L12_5", "SIEMENS", "A7734219", "E20202020202", "Sag Liver"],
        [
            "(0018, 5010)",
            "(0008, 0070)",
            "(0008, 0050)",
            "(0033, 1013)",
            "(0018, 5104)",
        ],
    )
    assert [t[0] for t in triples] == ["AccessionNumber", "(0033,1013)"]
    matcher = HeaderMatcher(triples)
    assert matcher.match("L12-5") is None
    assert matcher.match("ACC A7734219") == "AccessionNumber"


def test_files_without_a_picture_are_not_sampled(tmp_path):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    image = str(_image(tmp_path / "a.dcm"))
    report = Dataset()
    report.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    report.SOPInstanceUID = generate_uid()
    report.PatientName = "DOE^JANE"
    report.file_meta = FileMetaDataset()
    report.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    report.file_meta.MediaStorageSOPClassUID = report.SOPClassUID
    report.file_meta.MediaStorageSOPInstanceUID = report.SOPInstanceUID
    report.save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    engine = FakeEngine([((1, 1, 9, 9), "x", 0.9)])
    text = find_text(
        [image, str(tmp_path / "sr.dcm")], engine=engine, sample=None, progress=False
    )
    assert text.attrs["sampled"]["file"].tolist() == [image]
    assert text.attrs["errors"].empty
