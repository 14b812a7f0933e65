"""Every docstring example in src/deidscope runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import deidscope


def _modules() -> list[str]:
    names = ["deidscope"]
    for info in pkgutil.walk_packages(deidscope.__path__, "deidscope."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
