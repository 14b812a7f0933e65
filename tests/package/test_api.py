"""The public API is the README's list, typed, and works without ipywidgets."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import deidscope
from deidscope import audit, read_identifiers
from deidscope.recipe import Recipe

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_api() -> dict[str, set[str]]:
    """The README's "API" table: module -> the names it lists."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `(deidscope[\w.]*)` \| (.*) \|$", line)
        if match:
            table[match.group(1)] = set(re.findall(r"`(\w+)`", match.group(2)))
    return table


API = _readme_api()


def test_the_readme_lists_the_modules() -> None:
    assert {"deidscope", "deidscope.dicom", "deidscope.recipe", "deidscope.cli"} <= set(
        API
    )


@pytest.mark.parametrize("module", sorted(API))
def test_each_module_exports_what_the_readme_lists(module: str) -> None:
    mod = importlib.import_module(module)
    exported = set(getattr(mod, "__all__", ()))
    if module == "deidscope.cli":  # the command's building blocks stay listed
        exported -= {"SUBCOMMANDS", "build_parser"}
    assert exported == API[module]
    for name in exported:
        assert hasattr(mod, name), f"{module}.{name} is listed but missing"


def test_the_design_contract_names_import() -> None:
    from deidscope import read_identifiers, to_frame  # noqa: F401
    from deidscope.data import get_dataset  # noqa: F401
    from deidscope.dicom import (  # noqa: F401
        DicomField,
        get_files,
        get_identifiers,
        replace_identifiers,
    )
    from deidscope.errors import ReplaceErrorsWarning
    from deidscope.recipe import Recipe  # noqa: F401

    assert issubclass(ReplaceErrorsWarning, UserWarning)


_BLOCKED = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('ipywidgets', 'anywidget', 'traitlets'):
            raise ImportError(f'{name} is blocked')
        return None
sys.meta_path.insert(0, Block())
"""


def test_widget_free_functions_work_without_ipywidgets() -> None:
    code = _BLOCKED + (
        "import numpy as np\n"
        "from deidscope import read_identifiers\n"
        "from deidscope.data import get_dataset\n"
        "from deidscope.frame import filter_fields\n"
        "from deidscope.recipe import Recipe, format_label, header_values\n"
        "from deidscope.recipe import label_criteria\n"
        "from deidscope.pixels import boxes_png\n"
        "df = read_identifiers(get_dataset('dicom-cookies'))\n"
        "rows = filter_fields(df, text='PatientName')\n"
        "assert len(rows) == 7, len(rows)\n"
        "criteria = label_criteria(header_values(df, rows['file'].iloc[0]))\n"
        "text = format_label('test', criteria, [(0, 0, 10, 10)])\n"
        "assert 'LABEL test' in text and 'coordinates 0,0,10,10' in text, text\n"
        "Recipe.from_text('FORMAT dicom\\n%filter graylist\\n' + text)\n"
        "png = boxes_png(np.zeros((8, 8), np.uint8), [(0, 0, 4, 4)],"
        " image_shape=(16, 16))\n"
        "assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
        "assert 'ipywidgets' not in sys.modules\n"
        "try:\n"
        "    import deidscope.widgets\n"
        "except ImportError as exc:\n"
        "    assert 'blocked' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('the block did not hold')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def _kinds(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Each column with its dtype, categories aside (they depend on the data)."""
    return [
        (
            str(column),
            "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype),
        )
        for column, dtype in df.dtypes.items()
    ]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return read_identifiers(deidscope.data.get_dataset("dicom-cookies"))


def test_empty_results_have_the_columns_and_dtypes_of_full_ones(
    frame: pd.DataFrame,
) -> None:
    none = frame.iloc[:0]
    hits = Recipe.from_text("FORMAT dicom\n%header\nREPLACE PatientName x\n")
    misses = Recipe.from_text("FORMAT dicom\n%header\nREPLACE NoSuchField x\n")
    pairs = {
        "preview": (hits.preview(frame), misses.preview(frame)),
        "leaks": (audit.leaks(frame, frame), audit.leaks(frame, none)),
        "profile": (audit.profile(frame), audit.profile(none)),
        "compare": (audit.compare(frame, frame), audit.compare(none, none)),
        "coverage": (audit.coverage(frame, hits), audit.coverage(none, hits)),
        "lint": (
            Recipe.from_text("FORMAT dicom\n%header\nJITTER StudyDate x\n").lint(),
            hits.lint(),
        ),
    }
    for name, (full, empty) in pairs.items():
        assert len(full) > 0, name
        assert len(empty) == 0, name
        assert _kinds(full) == _kinds(empty), name


def test_line_is_always_a_line_number(frame: pd.DataFrame) -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%header\nREPLACE PatientName x\nJITTER StudyDate x\n"
    )
    lint = recipe.lint(frame)
    preview = recipe.preview(frame)
    assert str(lint["line"].dtype) == str(preview["line"].dtype) == "Int64"
    assert set(lint["line"]) == {4}
    assert lint["text"].tolist() == ["JITTER StudyDate x"]
    assert set(preview["line"]) == {3}
