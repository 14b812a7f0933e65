"""What deidscope does to the process it runs in.

Importing it changes no global state and does not import ipywidgets; nothing
outside the command line prints or exits.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "deidscope"


def test_no_exit_or_print_outside_the_cli() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts[:1] or path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                owner = getattr(getattr(func, "value", None), "id", None)
                if name == "print" or (name == "exit" and owner == "sys"):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


#: Every module but widgets (which imports ipywidgets by design).
MODULES = (
    "deidscope",
    "deidscope.dicom",
    "deidscope.frame",
    "deidscope.audit",
    "deidscope.recipe",
    "deidscope.pixels",
    "deidscope.parallel",
    "deidscope.cli",
)

_STATE = """
import logging, sys, warnings
import matplotlib, numpy, pandas, pydicom.config

def state():
    root = logging.getLogger()
    return {
        # the raw dict: reading rcParams["backend"] would resolve the backend
        "rcParams": dict.copy(matplotlib.rcParams),
        "root handlers": list(root.handlers),
        "root level": root.level,
        "logging disabled": logging.root.manager.disable,
        "warning filters": list(warnings.filters),
        "numpy print": numpy.get_printoptions(),
        "numpy errors": numpy.geterr(),
        "pandas options": str(pandas.describe_option("display", _print_desc=False)),
        "pydicom settings": vars(pydicom.config.settings).copy(),
        "pydicom": {
            name: getattr(pydicom.config, name)
            for name in dir(pydicom.config)
            if not name.startswith("_")
            and isinstance(getattr(pydicom.config, name), bool | int | str)
        },
        "excepthook": sys.excepthook,
    }

before = state()
"""


@pytest.mark.parametrize("module", MODULES)
def test_importing_deidscope_changes_no_global_state(module: str) -> None:
    code = _STATE + (
        f"import {module}\n"
        "after = state()\n"
        "changed = [key for key in before if before[key] != after[key]]\n"
        "assert not changed, f'changed: {changed}'\n"
        "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'\n"
        "handlers = logging.getLogger('deidscope').handlers\n"
        "assert [type(h).__name__ for h in handlers] == ['NullHandler']\n"
        "others = [name for name, logger in logging.root.manager.loggerDict.items()\n"
        "          if name.startswith('deidscope.')\n"
        "          and getattr(logger, 'handlers', None)]\n"
        "assert not others, f'handlers on {others}'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_importing_every_module_but_widgets_does_not_import_ipywidgets() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in MODULES)
        + "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'\n"
        + "import deidscope.widgets\n"  # the check itself can fail
        + "assert 'ipywidgets' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
