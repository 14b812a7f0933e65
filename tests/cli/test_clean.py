"""``deidscope clean``: the command over detect and clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from deidscope.cli import main
from deidscope.cli._common import EXIT_FINDINGS
from deidscope.pixels import DEFAULT_RECIPE, clean, detect
from pixels_helpers import deid_recipe_path
from samples import deid_data_files

ULTRASOUNDS = [f for f in deid_data_files() if "/ultrasounds/" in f]
COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]


@pytest.mark.slow
def test_clean_command_cleans_what_detect_flags(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["clean", *ULTRASOUNDS, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "3 of 3 files cleaned" in captured.out
    report = pd.read_csv(out / "clean-report.csv", keep_default_na=False)
    assert report["action"].tolist() == ["cleaned"] * 3
    flags = detect(ULTRASOUNDS, DEFAULT_RECIPE)
    for path, row in zip(ULTRASOUNDS, flags.itertuples(), strict=True):
        written = out / path.rsplit("/", 1)[1]
        direct = clean(
            path, row.coordinates, keep=row.keep_coordinates, output=tmp_path / "d.dcm"
        )
        np.testing.assert_array_equal(
            pydicom.dcmread(written).pixel_array, pydicom.dcmread(direct).pixel_array
        )


def test_flagged_without_boxes_needs_attention(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["clean", COOKIES[0], ULTRASOUNDS[0], "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "1 flagged file(s) have no boxes" in captured.err
    report = pd.read_csv(out / "clean-report.csv", keep_default_na=False)
    assert report["action"].tolist() == ["flagged, no boxes: review", "cleaned"]
    assert report["group"].tolist() == ["blacklist", "graylist"]
    # the two inputs are in different folders: paths kept relative to both
    assert (out / "ultrasounds" / "GREYSCALE_IMAGE.dcm").exists()
    assert not (out / "dicom-cookies").exists()


def test_recipe_option(tmp_path) -> None:
    out = tmp_path / "out"
    recipe = deid_recipe_path("deid.dicom.ultrasound")
    assert main(["clean", "--recipe", recipe, COOKIES[0], "-o", str(out)]) == 0
    assert pydicom.dcmread(out / "image1.dcm").pixel_array.max() == 0  # "all"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--recipe", "/no/such.deid"], "No such file"),
        ([], "not empty"),
    ],
    ids=["missing-recipe", "output-not-empty"],
)
def test_clean_command_errors(tmp_path, capsys, extra, message) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("")
    if not extra:
        code = main(["clean", ULTRASOUNDS[0], "-o", str(out)])
    else:
        (out / "x").unlink()
        code = main(["clean", *extra, ULTRASOUNDS[0], "-o", str(out)])
    assert code == 3
    assert message in capsys.readouterr().err


def test_clean_help(capsys) -> None:
    assert main(["clean", "--help"]) == 0
    assert "%filter" in capsys.readouterr().out


def test_clean_command_bad_file_does_not_stop_batch(tmp_path, capsys) -> None:
    """An empty and a non-DICOM file are reported; the good file is cleaned."""
    folder = tmp_path / "in"
    folder.mkdir()
    good = Path(shutil.copy(ULTRASOUNDS[0], folder / "good.dcm"))
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "notes.dcm").write_text("not a DICOM file\n" * 20)
    out = tmp_path / "out"
    code = main(["clean", str(folder), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == EXIT_FINDINGS == 1  # done, but the result needs attention
    assert "1 of 3 files cleaned" in captured.out
    assert "2 file(s) failed; clean-report.csv says why" in captured.err
    report = pd.read_csv(out / "clean-report.csv", keep_default_na=False)
    actions = dict(zip(report["file"], report["action"], strict=True))
    assert actions == {
        str(good): "cleaned",
        str(folder / "empty.dcm"): "error",
        str(folder / "notes.dcm"): "error",
    }
    errors = dict(zip(report["file"], report["error"], strict=True))
    assert errors[str(folder / "empty.dcm")] == "empty file (0 bytes)"
    assert errors[str(folder / "notes.dcm")].startswith("not a DICOM file")
    # the good file is cleaned as clean() alone cleans it
    (row,) = detect([good], DEFAULT_RECIPE).itertuples()
    direct = clean(
        good, row.coordinates, keep=row.keep_coordinates, output=tmp_path / "d.dcm"
    )
    np.testing.assert_array_equal(
        pydicom.dcmread(out / "good.dcm").pixel_array,
        pydicom.dcmread(direct).pixel_array,
    )
    assert sorted(p.name for p in out.iterdir()) == ["clean-report.csv", "good.dcm"]


def _never_recipe(folder: Path) -> Path:
    recipe = folder / "never.deid"
    recipe.write_text(
        "FORMAT dicom\n%filter graylist\nLABEL never\ncontains Modality NOPE\n"
        "coordinates 0,0,10,10\n"
    )
    return recipe


def test_nothing_flagged_says_so_and_exits_0(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    recipe = _never_recipe(tmp_path)
    assert main(["clean", "-r", str(recipe), *COOKIES[:2], "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "deidscope clean: no file is flagged by the recipe (2 files checked)\n"
    )
    assert captured.out.startswith("0 of 2 files cleaned into ")
    report = pd.read_csv(out / "clean-report.csv", keep_default_na=False)
    assert report["action"].tolist() == ["not flagged"] * 2
    assert [p.name for p in out.iterdir()] == ["clean-report.csv"]


def test_nothing_flagged_but_a_file_unreadable_exits_1(tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(COOKIES[0], folder / "good.dcm")
    (folder / "empty.dcm").write_bytes(b"")
    recipe = _never_recipe(tmp_path)
    out = tmp_path / "out"
    assert main(["clean", "-r", str(recipe), str(folder), "-o", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "deidscope clean: no file is flagged by the recipe (1 file checked)",
        "deidscope clean: warning: 1 file(s) failed; clean-report.csv says why",
    ]


def test_default_sample_is_flagged_for_review_and_says_by_what(
    tmp_path, capsys
) -> None:
    """deidscope's recipe flags the sample's secondary captures, with no boxes."""
    out = tmp_path / "out"
    assert main(["clean", "-o", str(out)]) == EXIT_FINDINGS
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "deidscope clean: no PATH given: reading the dicom-cookies sample",
        "deidscope clean: warning: 7 flagged file(s) have no boxes to blank and were "
        "not written (blacklist 'Secondary capture': 7): look at them "
        "(clean-report.csv lists them)",
    ]
    assert [p.name for p in out.iterdir()] == ["clean-report.csv"]


def test_clean_refuses_an_output_inside_an_input_folder(tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(COOKIES[0], folder / "a.dcm")
    out = folder / "cleaned"
    assert main(["clean", str(folder), "-o", str(out)]) == 3
    assert capsys.readouterr().err.startswith(
        f"deidscope clean: error: the output folder {out} lies inside the input "
        f"folder {folder} "
    )
    assert sorted(p.name for p in folder.iterdir()) == ["a.dcm"]


def test_clean_help_documents_the_exit_codes(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["clean", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 every flagged file cleaned, or no file flagged" in text
    assert "no file is flagged by the recipe (N files checked)" in text


# -- --verify and --keep-compression -----------------------------------------------


@pytest.fixture(scope="module")
def burned(tmp_path_factory):
    from burned_in import make_image

    folder = tmp_path_factory.mktemp("burned") / "in"
    folder.mkdir()
    return make_image(folder, "RLE-16", seed=5)


def _recipe_for(image, boxes) -> str:
    from deidscope.recipe import format_label

    label = format_label(
        "synthetic", [f"equals ManufacturerModelName SYNTH {image.kind}"], boxes
    )
    return "FORMAT dicom\n\n%filter graylist\n\n" + label


@pytest.mark.slow
def test_verify_passes_when_the_boxes_cover_the_text(burned, tmp_path, capsys):
    recipe = tmp_path / "r.deid"
    boxes = [
        (max(0, b[0] - 4), max(0, b[1] - 4), b[2] + 4, b[3] + 4)
        for b in (p.box for p in burned.planted)
    ]
    recipe.write_text(_recipe_for(burned, boxes))
    out = tmp_path / "out"
    args = ["clean", "-r", str(recipe), str(burned.path), "-o", str(out), "--verify"]
    code = main([*args, "--keep-compression"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "verify: 1 cleaned copy read, 0 unsafe text(s) left" in captured.out
    assert pd.read_csv(out / "verify-report.csv").empty
    written = pydicom.dcmread(out / burned.path.name)
    assert written.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.5"  # RLE kept


@pytest.mark.slow
def test_verify_fails_when_a_header_value_is_left(burned, tmp_path, capsys):
    recipe = tmp_path / "r.deid"
    header = [p for p in burned.planted if p.field is not None]
    boxes = [p.box for p in burned.planted if p is not header[0]]
    recipe.write_text(_recipe_for(burned, [(0, 0, 1, 1), *boxes[:1]]))
    out = tmp_path / "out"
    code = main(
        ["clean", "-r", str(recipe), str(burned.path), "-o", str(out), "--verify"]
    )
    captured = capsys.readouterr()
    assert code == EXIT_FINDINGS
    assert "not known to be safe" in captured.err
    raw = (out / "verify-report.csv").read_bytes()
    assert raw.endswith(b"\r\n")  # CRLF as every CSV deidscope writes
    assert raw.count(b"\n") == raw.count(b"\r\n")
    report = pd.read_csv(out / "verify-report.csv", keep_default_na=False)
    assert header[0].field in set(report["header_match"])
    assert set(report["original"]) == {str(burned.path)}


def test_verify_without_the_extra_exits_4_before_any_work(
    tmp_path, monkeypatch, capsys
):
    import deidscope.pixels._ocr_engine as engine
    from deidscope.errors import MissingDependencyError

    def missing(*args, **kwargs):
        raise MissingDependencyError("rapidocr", extra="ocr", feature="find_text")

    monkeypatch.setattr(engine, "resolve_engine", missing)
    out = tmp_path / "out"
    assert main(["clean", *ULTRASOUNDS[:1], "-o", str(out), "--verify"]) == 4
    assert "deidscope[ocr]" in capsys.readouterr().err
    assert not (out / "clean-report.csv").exists()


def test_verify_refuses_a_bad_allow_pattern_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["clean", *ULTRASOUNDS[:1], "-o", str(out), "--verify", "--allow", "("]
    assert main(args) == 3
    assert "'(': missing )" in capsys.readouterr().err
    assert not (out / "clean-report.csv").exists()
