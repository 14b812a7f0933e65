"""The errors and warnings of :mod:`deidscope.pixels`.

Every error here derives from a :mod:`deidscope.errors` class, so a caller
that catches :class:`~deidscope.errors.InputError` (or ``ValueError``) for a
batch also catches a file whose pixels cannot be shown or cleaned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from deidscope.errors import InputError, MissingDependencyError

__all__ = ["BoxWarning", "MissingDecoderError", "PixelDataError"]


class PixelDataError(InputError):
    """A file whose pixel data cannot be decoded or used.

    Parameters
    ----------
    path : str, os.PathLike or None
        The file, as the caller gave it; None for a dataset in memory.
    reason : str
        Why, in words a person understands.
    """

    def __init__(self, path: str | os.PathLike[str] | None, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = os.fspath(path) if path is not None else "<dataset>"
        # Not super(): in MissingDecoderError the next class in the MRO is
        # MissingDependencyError, whose __init__ takes other arguments.
        Exception.__init__(self, f"{where}: {reason}")


# ImportError types `path` as str | None; ours is the caller's path (or None).
class MissingDecoderError(PixelDataError, MissingDependencyError):  # type: ignore[misc]
    """Compressed pixel data whose decoder is not installed.

    It is a :class:`PixelDataError` (one file's problem) and a
    :class:`~deidscope.errors.MissingDependencyError` (an ``ImportError``
    naming what to install).

    Parameters
    ----------
    path : str, os.PathLike or None
        The file, or None for a dataset in memory.
    syntax : str
        The transfer syntax's name, e.g. ``"JPEG 2000 Image Compression"``.
    packages : sequence of str
        Packages that would decode it (any one of the alternatives).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        syntax: str,
        packages: Sequence[str],
    ) -> None:
        self.syntax = syntax
        self.packages = tuple(packages)
        self.module = self.packages[0] if self.packages else syntax
        self.extra = "pixels"
        wanted = " or ".join(self.packages) if self.packages else "a decoder plugin"
        PixelDataError.__init__(
            self,
            path,
            f"{syntax} pixel data needs a decoder that is not installed: "
            f"install {wanted} (pip install 'deidscope[pixels]')",
        )
        self.name = self.module


class BoxWarning(UserWarning):
    """A box that was clipped to the image, or dropped because it lies outside.

    Silence it with ``warnings.simplefilter("ignore", BoxWarning)``.
    """
