"""Reading a deid configuration file (``deid.json``): its ``get.skip`` list.

deid's ``get_identifiers`` and ``replace_identifiers`` take ``config``, a
JSON file whose ``get.skip`` lists the keywords to leave out of the fields;
both read it with :func:`read_config_skip`.
"""

from __future__ import annotations

import json
import os

from deidscope.errors import InputError
from deidscope.files._discover import PathLike, check_paths

__all__ = ["read_config_skip"]


def read_config_skip(config: PathLike, *, caller: str) -> tuple[str, ...]:
    """Return the ``get.skip`` list of a deid configuration file.

    Parameters
    ----------
    config : str or os.PathLike
        The JSON file, as deid writes it: ``{"get": {"skip": [...]}, ...}``.
    caller : str
        The public function reading it, named in the errors.

    Returns
    -------
    tuple of str
        The keywords, in the file's order.

    Raises
    ------
    FileNotFoundError
        The file does not exist (as :func:`check_paths`).
    InputError
        The file cannot be read, is not JSON, has no ``get.skip``, or that is
        not a list of strings.
    """
    check_paths(config, caller=caller)
    try:
        with open(config, encoding="utf-8") as handle:
            skip = json.load(handle)["get"]["skip"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{caller}: expected config to be a deid configuration (JSON with "
            f"get.skip), but {os.fspath(config)!r} gives {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
        raise InputError(
            f"{caller}: expected get.skip in {os.fspath(config)!r} to be a list "
            f"of keywords, but got {skip!r}"
        )
    return tuple(skip)
