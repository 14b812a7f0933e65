"""Pixels: thumbnails, burned-in annotation flags, coordinate boxes, cleaning.

Burned-in text is the identifier a header audit cannot see. This package
shows the images (:func:`thumbnail`, :func:`montage`), flags the ones a
recipe's ``%filter`` section matches (:func:`detect`), draws the regions it
would blank (:func:`plot_boxes`), and blanks them (:func:`clean`). With
the ``ocr`` extra, :func:`find_text` reads the text in a sample of images
per device, :func:`propose_filters` turns its boxes into ``%filter``
LABELs, and :func:`verify` reads the cleaned copies.
"""

from __future__ import annotations

from deidscope.pixels.boxes import (
    Box,
    check_boxes,
    ctp_box,
    draw_boxes,
    parse_box,
    sort_boxes,
)
from deidscope.pixels.cleaning import clean
from deidscope.pixels.detection import DEFAULT_RECIPE, detect
from deidscope.pixels.errors import BoxWarning, MissingDecoderError, PixelDataError
from deidscope.pixels.ocr import (
    ALLOW_LIST,
    SIGNATURE,
    find_text,
    propose_filters,
    verify,
)
from deidscope.pixels.plots import boxes_png, plot_boxes, plot_montage
from deidscope.pixels.thumbnails import montage, thumbnail, to_png

__all__ = [
    "ALLOW_LIST",
    "DEFAULT_RECIPE",
    "SIGNATURE",
    "Box",
    "BoxWarning",
    "MissingDecoderError",
    "PixelDataError",
    "boxes_png",
    "check_boxes",
    "clean",
    "ctp_box",
    "detect",
    "draw_boxes",
    "find_text",
    "montage",
    "parse_box",
    "plot_boxes",
    "plot_montage",
    "propose_filters",
    "sort_boxes",
    "thumbnail",
    "to_png",
    "verify",
]
