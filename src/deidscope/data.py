"""The sample datasets of deid-data, by name.

These are the datasets deid's documentation uses: synthetic "cookie" images,
a cat, two head CTs and five ultrasounds (two of them zipped). They are small,
free of real patient data and installed with deidscope.
"""

from __future__ import annotations

import importlib.util
import os

from deidscope.errors import InputError

__all__ = ["DATASETS", "get_dataset"]

#: The names :func:`get_dataset` accepts.
DATASETS: tuple[str, ...] = ("dicom-cookies", "animals", "humans", "ultrasounds")


def get_dataset(name: str) -> str:
    """Return the folder of a deid-data sample dataset.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`. As in deid, the name is case-insensitive and
        an extension is ignored (``"Animals.zip"`` means ``"animals"``).

    Returns
    -------
    str
        The absolute path of the dataset's folder.

    Raises
    ------
    InputError
        If `name` is not a known dataset; the message lists the valid names.

    Examples
    --------
    >>> import os
    >>> sorted(os.listdir(get_dataset("dicom-cookies")))[:2]
    ['image1.dcm', 'image2.dcm']
    """
    if not isinstance(name, str):
        raise InputError(
            f"get_dataset: expected a dataset name (str), but got "
            f"{type(name).__name__}; valid names are: {', '.join(DATASETS)}"
        )
    key = os.path.splitext(name)[0].lower()
    if key not in DATASETS:
        raise InputError(
            f"get_dataset: unknown dataset {name!r}; "
            f"valid names are: {', '.join(DATASETS)}"
        )
    spec = importlib.util.find_spec("deid_data.data")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise InputError(
            "get_dataset: deid-data is not installed (pip install deid-data)"
        )
    base = next(iter(spec.submodule_search_locations))
    return os.path.join(base, key)
