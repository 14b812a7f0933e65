"""Pixels: thumbnails, burned-in annotation flags, coordinate boxes, cleaning.

Burned-in text is the identifier a header audit cannot see. This package
shows the images (:func:`thumbnail`, :func:`montage`), flags the ones a
recipe's ``%filter`` section matches (:func:`detect`), draws the regions it
would blank (:func:`plot_boxes`), and blanks them (:func:`clean`).
"""

from __future__ import annotations

from deidscope.pixels.errors import BoxWarning, MissingDecoderError, PixelDataError
from deidscope.pixels.thumbnail import montage, thumbnail, to_png

__all__ = [
    "BoxWarning",
    "MissingDecoderError",
    "PixelDataError",
    "montage",
    "thumbnail",
    "to_png",
]
