"""deidscope: explore the identifiers in DICOM headers and draft deid recipes.

The long DataFrame is the common currency::

    import deidscope
    df = deidscope.read_identifiers("path/to/folder")

``import deidscope`` changes no global state and does not import ipywidgets;
the widgets load on first use of :func:`explore` or ``deidscope.widgets``.
It imports nothing heavy either: pandas, pydicom and the rest load on first
use of a name (``deidscope.read_identifiers``, ``deidscope.dicom``...), so
the ``deidscope`` command starts quickly.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

# the library's one handler: its modules log to children of this logger, and a
# program that configures no logging sees nothing (the logging HOWTO's advice)
logging.getLogger(__name__).addHandler(logging.NullHandler())

from deidscope._version import __version__  # noqa: E402

if TYPE_CHECKING:
    from deidscope.frame import read_identifiers, to_frame

__all__ = ["__version__", "explore", "read_identifiers", "to_frame"]

#: The names imported on first use (PEP 562), and the module each is from.
_LAZY = {"read_identifiers": "deidscope.frame", "to_frame": "deidscope.frame"}


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule, on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def explore(path_or_df: Any, **kwargs: Any) -> Any:
    """Open the explorer widget on a folder, files or an identifier frame.

    Parameters
    ----------
    path_or_df : str, os.PathLike, iterable of them, or pandas.DataFrame
        What to explore.
    **kwargs
        Passed to :class:`deidscope.widgets.Explorer`.

    Returns
    -------
    deidscope.widgets.Explorer
        The widget (display it, or leave it as a cell's last expression).
    """
    from deidscope.widgets import explore as _explore

    return _explore(path_or_df, **kwargs)
