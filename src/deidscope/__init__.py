"""deidscope: explore the identifiers in DICOM headers and draft deid recipes.

The long DataFrame is the common currency::

    import deidscope
    df = deidscope.read_identifiers("path/to/folder")

``import deidscope`` changes no global state and does not import ipywidgets;
the widgets load on first use of :func:`explore` or ``deidscope.widgets``.
"""

from __future__ import annotations

import logging
from typing import Any

# the library's one handler: its modules log to children of this logger, and a
# program that configures no logging sees nothing (the logging HOWTO's advice)
logging.getLogger(__name__).addHandler(logging.NullHandler())

from deidscope._version import __version__  # noqa: E402
from deidscope.frame import read_identifiers, to_frame  # noqa: E402

__all__ = ["__version__", "explore", "read_identifiers", "to_frame"]


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
