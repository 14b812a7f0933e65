"""Import optional dependencies with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from deidscope.errors import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import `module`, or explain which extra installs it.

    Parameters
    ----------
    module : str
        The dotted module name, e.g. ``"dask.dataframe"``.
    extra : str
        The deidscope extra that provides it, e.g. ``"dask"``.
    feature : str
        What needs it, for the message, e.g. ``"read_identifiers_dask"``.

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingDependencyError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module, extra=extra, feature=feature) from exc
