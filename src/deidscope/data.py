"""The sample datasets of deid-data, by name.

These are the datasets deid's documentation uses: synthetic "cookie" images,
a cat, two head CTs and five ultrasounds (two of them zipped). They are small,
free of real patient data and installed with deidscope.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Literal, overload

from deidscope.errors import InputError

__all__ = ["DATASETS", "get_dataset"]

#: The dataset names, as a type: :func:`get_dataset` of one returns a str.
DatasetName = Literal["dicom-cookies", "animals", "humans", "ultrasounds"]
#: The names :func:`get_dataset` accepts.
DATASETS: tuple[str, ...] = ("dicom-cookies", "animals", "humans", "ultrasounds")


@overload
def get_dataset(name: DatasetName) -> str: ...
@overload
def get_dataset(name: str | None = None) -> str | None: ...
def get_dataset(name: str | None = None) -> str | None:
    """Return the folder of a deid-data sample dataset.

    Parameters
    ----------
    name : str or None, optional
        One of :data:`DATASETS`. As in deid, the name is case-insensitive and
        an extension is ignored (``"Animals.zip"`` means ``"animals"``).

    Returns
    -------
    str or None
        The absolute path of the dataset's folder. For a name that is not a
        dataset (or none), None, with a ``UserWarning`` giving the valid
        names: deid 0.4.13's ``get_dataset`` returns None too (and prints
        them), kept so that code written for deid runs unchanged
        (``get_files(None)`` then raises :class:`~deidscope.errors.InputError`).

    Raises
    ------
    InputError
        If `name` is neither a str nor None (deid fails there too, with a
        ``TypeError`` from inside), or deid-data is not installed.

    Examples
    --------
    >>> import os
    >>> sorted(os.listdir(get_dataset("dicom-cookies")))[:2]
    ['image1.dcm', 'image2.dcm']
    """
    if name is not None and not isinstance(name, str):
        raise InputError(
            f"get_dataset: expected a dataset name (str), but got "
            f"{type(name).__name__}; valid names are: {', '.join(DATASETS)}"
        )
    key = None if name is None else os.path.splitext(name)[0].lower()
    if key not in DATASETS:
        warnings.warn(  # deid prints this; deidscope prints nothing outside the CLI
            f"get_dataset: {name!r} is not a dataset; valid names are: "
            f"{', '.join(DATASETS)}",
            UserWarning,
            stacklevel=2,
        )
        return None
    spec = importlib.util.find_spec("deid_data.data")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise InputError(
            "get_dataset: deid-data is not installed (pip install deid-data)"
        )
    base = next(iter(spec.submodule_search_locations))
    return os.path.join(base, key)
