"""Boxes: parsing, clipping, drawing on thumbnails, and figures."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from deidscope.errors import InputError
from deidscope.pixels import (
    BoxWarning,
    check_boxes,
    ctp_box,
    draw_boxes,
    parse_box,
    plot_boxes,
    plot_montage,
    sort_boxes,
)
from deidscope.pixels.boxes import CLEAN_COLOR, KEEP_COLOR
from deidscope.recipe import Coordinates, Recipe
from samples import PYDICOM_TEST_FILES, deid_data_files


@pytest.mark.parametrize(
    ("text", "ctp", "box"),
    [
        ("0,0,512,110", False, (0, 0, 512, 110)),
        ("450,0,672, 85", False, (450, 0, 672, 85)),
        ("350,0,162,30", True, (350, 0, 512, 30)),
        (" 1 , 2 , 3 , 4 ", True, (1, 2, 4, 6)),
    ],
    ids=["plain", "space", "ctp", "ctp-spaces"],
)
def test_parse_box(text: str, ctp: bool, box: tuple[int, int, int, int]) -> None:
    assert parse_box(text, ctp=ctp) == box


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1.5,2,3,4", "all"])
def test_parse_box_rejects(text: str) -> None:
    with pytest.raises(InputError, match="expected four integers"):
        parse_box(text)


def test_ctp_box() -> None:
    assert ctp_box(240, 0, 190, 16) == (240, 0, 430, 16)


def test_check_boxes_clips_and_drops_with_warnings() -> None:
    with pytest.warns(BoxWarning, match=r"clipped to \(0, 0, 8, 5\)"):
        assert check_boxes([(-3, 0, 10, 5)], rows=6, columns=8) == [(0, 0, 8, 5)]
    with pytest.warns(BoxWarning, match="lies outside"):
        assert check_boxes([(20, 20, 30, 30)], rows=6, columns=8) == []
    with pytest.warns(BoxWarning, match="or is empty"):
        assert check_boxes([(4, 4, 4, 5)], rows=6, columns=8) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_boxes([(0, 0, 8, 6)], rows=6, columns=8) == [(0, 0, 8, 6)]


def test_check_boxes_names_the_file_in_warnings() -> None:
    with pytest.warns(BoxWarning, match=r"^x\.dcm: clean: box"):
        check_boxes([(0, 0, 99, 1)], rows=6, columns=8, caller="clean", where="x.dcm")


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ((0, 0, 4, 4), "got one box"),
        ([(0, 0, 4)], "four numbers"),
        ([(0, 0, 4, 4.5)], "whole pixels"),
        ([(0, 0, True, 4)], "four numbers"),
        (["0,0,x,4"], "four integers"),
    ],
    ids=["one-box", "three", "fraction", "bool", "text"],
)
def test_check_boxes_rejects(boxes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_boxes(boxes, rows=8, columns=8)


def test_recipe_coordinates_are_boxes() -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter graylist\nLABEL x\n  contains Modality US\n"
        "  ctpcoordinates 10,20,30,40\n  keepcoordinates 1,2,3,4\n"
        "  coordinates all\n"
    )
    lines = recipe.filters[0].labels[0].coordinates
    boxes = check_boxes(lines[:2], rows=100, columns=100)
    assert boxes == [(10, 20, 40, 60), (1, 2, 3, 4)]
    with pytest.raises(InputError, match="depend on the image; use detect"):
        check_boxes(lines[2:], rows=100, columns=100)


def test_draw_boxes_at_thumbnail_scale() -> None:
    thumb = np.full((10, 20), 50, np.uint8)
    before = thumb.copy()
    out = draw_boxes(
        thumb, [(0, 0, 100, 50)], keep=[(100, 50, 200, 100)], image_shape=(100, 200)
    )
    np.testing.assert_array_equal(thumb, before)
    assert out.shape == (10, 20, 3)
    assert out[0, 0].tolist() == [230, 25, 25]  # red corner of the blanked box
    assert out[4, 9].tolist() == [230, 25, 25]
    assert out[2, 2].tolist() == [50, 50, 50]  # inside: untouched
    assert out[9, 19].tolist() == [25, 200, 60]  # green corner of the kept box
    assert out[7, 15].tolist() == [50, 50, 50]


def test_draw_boxes_rejects_non_pictures() -> None:
    with pytest.raises(InputError, match="expected a uint8 image"):
        draw_boxes(np.zeros((2, 2), np.float64), [])


def test_plot_boxes_draws_in_image_pixels() -> None:
    path = next(f for f in deid_data_files() if f.endswith("GREYSCALE_IMAGE.dcm"))
    fig = plot_boxes(path, [(0, 0, 1024, 49)], keep=["14,38,1010,758"], size=128)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (0, 0, 1024, 49),
        (14, 38, 996, 720),
    ]
    (image,) = ax.images
    assert image.get_extent() == [0, 1024, 768, 0]
    assert ax.get_title() == "GREYSCALE_IMAGE.dcm"


def _label_coordinates(*lines: str) -> list[Coordinates]:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter graylist\nLABEL x\n  contains Modality US\n"
        + "".join(f"  {line}\n" for line in lines)
    )
    return list(recipe.filters[0].labels[0].coordinates)


def _rects(fig: Figure) -> list[tuple[tuple[float, ...], tuple[float, ...], str]]:
    """Each rectangle drawn: (x, y, width, height), edge colour, legend label."""
    (ax,) = fig.axes
    return [
        (
            (r.get_x(), r.get_y(), r.get_width(), r.get_height()),
            tuple(round(c * 255) for c in r.get_edgecolor()[:3]),
            str(r.get_label()),
        )
        for r in ax.patches
        if isinstance(r, Rectangle)
    ]


GREYSCALE = next(f for f in deid_data_files() if f.endswith("GREYSCALE_IMAGE.dcm"))


def test_plot_boxes_draws_a_labels_keep_coordinates_as_kept() -> None:
    coordinates = _label_coordinates(
        "coordinates 0,0,1024,49",
        "keepcoordinates 14,38,1010,758",
        "ctpkeepcoordinates 100,200,50,60",
    )
    rects = _rects(plot_boxes(GREYSCALE, coordinates, size=64))
    assert rects == [
        ((0, 0, 1024, 49), CLEAN_COLOR, "blanked"),
        ((14, 38, 996, 720), KEEP_COLOR, "kept"),
        ((100, 200, 50, 60), KEEP_COLOR, "None"),  # one legend entry per kind
    ]


def test_plot_boxes_draws_coordinates_given_as_keep_as_blanked() -> None:
    (line,) = _label_coordinates("coordinates 0,0,10,20")
    rects = _rects(plot_boxes(GREYSCALE, keep=[line, (1, 2, 3, 4)], size=64))
    assert [(box, color) for box, color, _ in rects] == [
        ((0, 0, 10, 20), CLEAN_COLOR),
        ((1, 2, 2, 2), KEEP_COLOR),
    ]


def test_plot_boxes_places_ctp_coordinates_at_x_y_width_height() -> None:
    """ctpcoordinates x,y,width,height: the box starts at (x, y), not (0, 0)."""
    (line,) = _label_coordinates("ctpcoordinates 300,100,200,50")
    fig = plot_boxes(GREYSCALE, [line], size=128)
    ((box, color, _),) = _rects(fig)
    assert box == (300, 100, 200, 50)  # x, y, width, height in image pixels
    assert color == CLEAN_COLOR
    (ax,) = fig.axes
    (image,) = ax.images
    assert image.get_extent() == [0, 1024, 768, 0]  # the image's pixels
    # the same box as its deid form, xmin,ymin,xmax,ymax = 300,100,500,150
    (deid_form,) = _label_coordinates("coordinates 300,100,500,150")
    assert _rects(plot_boxes(GREYSCALE, [deid_form], size=128))[0][0] == box


def test_draw_boxes_draws_a_labels_keep_coordinates_green() -> None:
    coordinates = _label_coordinates(
        "coordinates 0,0,100,50", "keepcoordinates 100,50,200,100"
    )
    thumb = np.full((10, 20), 50, np.uint8)
    out = draw_boxes(thumb, coordinates, image_shape=(100, 200))
    assert out[0, 0].tolist() == list(CLEAN_COLOR)
    assert out[9, 19].tolist() == list(KEEP_COLOR)


def test_sort_boxes_follows_the_kind_of_coordinates() -> None:
    blank_line, keep_line = _label_coordinates(
        "ctpcoordinates 1,2,3,4", "ctpkeepcoordinates 5,6,7,8"
    )
    blank, keep = sort_boxes([keep_line, (0, 0, 1, 1), blank_line], ["0,0,2,2"])
    assert blank == [(0, 0, 1, 1), blank_line]
    assert keep == [keep_line, "0,0,2,2"]
    with pytest.raises(InputError, match="plot_boxes: expected a list of boxes"):
        plot_boxes(GREYSCALE, (0, 0, 4, 4))


def test_plot_montage_labels_and_errors() -> None:
    files = [*deid_data_files()[:2], str(PYDICOM_TEST_FILES / "rtplan.dcm")]
    fig = plot_montage(files, labels=["a", "b", "c"], size=32)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert len(fig.axes[0].images) == 1
    (text,) = fig.axes[2].texts
    assert "no pixel data" in text.get_text()
    with pytest.raises(InputError, match="expected 3 labels"):
        plot_montage(files, labels=["a"])
    with pytest.raises(InputError, match="at least one item"):
        plot_montage([])


@pytest.mark.slow
def test_figures_never_touch_pyplot() -> None:
    path = deid_data_files()[0]
    code = (
        "import sys\n"
        "from deidscope.pixels import plot_boxes, plot_montage\n"
        f"plot_boxes({path!r}, [(0, 0, 10, 10)]).savefig('/dev/null', format='png')\n"
        f"plot_montage([{path!r}]).savefig('/dev/null', format='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
