"""``import deidscope`` and the command's parser import nothing heavy.

The heavy libraries load on first use of a name that needs them, so that
``deidscope --help`` starts quickly (its time is measured by
``benchmarks/bench_cli.py``, not here). Each check runs in a fresh process.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

import deidscope
import deidscope.errors

HEAVY = ("pandas", "pydicom", "numpy", "pyarrow", "matplotlib", "PIL")

_LOADED = """
import sys
{code}
heavy = sorted(
    name for name in sys.modules if name.split(".")[0] in {heavy!r}
)
print(",".join(sorted({{name.split(".")[0] for name in heavy}})))
"""


def _heavy_after(code: str) -> list[str]:
    """The heavy top-level packages loaded after running `code` in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(code=code, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.strip()
    return out.split(",") if out else []


@pytest.mark.parametrize(
    "code",
    [
        "import deidscope",
        "import deidscope.errors",
        "import deidscope.cli; deidscope.cli.build_parser()",
        "import deidscope.__main__",
    ],
)
def test_importing_loads_no_heavy_library(code: str) -> None:
    assert _heavy_after(code) == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["identifiers", "-h"]])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import contextlib, io, deidscope.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert deidscope.cli.main({argv!r}) == 0\n"
    )
    assert _heavy_after(code) == []


def test_the_check_sees_a_heavy_import() -> None:
    assert _heavy_after("import deidscope; deidscope.read_identifiers") != []


def test_the_lazy_names_are_the_real_ones() -> None:
    from deidscope import read_identifiers, to_frame
    from deidscope.frame import read_identifiers as real_read
    from deidscope.frame import to_frame as real_to_frame

    assert read_identifiers is real_read
    assert to_frame is real_to_frame
    assert {"read_identifiers", "to_frame", "explore"} <= set(dir(deidscope))


def test_submodules_are_attributes_and_unknown_names_raise() -> None:
    assert deidscope.frame.read_identifiers is deidscope.read_identifiers
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = deidscope.no_such_name  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="NoSuchFrame"):
        _ = deidscope.errors.NoSuchFrame  # type: ignore[attr-defined]


def test_the_errors_frame_made_on_first_use_pickles() -> None:
    frame = deidscope.errors.errors_frame([("a.dcm", "empty file (0 bytes)")])
    assert type(frame) is deidscope.errors.ErrorsFrame
    assert deidscope.errors.ErrorsFrame.__qualname__ == "ErrorsFrame"
    again = pickle.loads(pickle.dumps(frame))
    assert type(again) is deidscope.errors.ErrorsFrame
    assert again == frame
