"""Every ```python block of the README runs as written, in order, in a new folder.

The blocks are run one after the other in one fresh Python process (as a
reader pastes them into one notebook), in an empty working folder, on the
sample data installed with deidscope; nothing else is prepared.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_package_readme_has_python_blocks() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 6
    assert any("get_identifiers" in block for block in blocks)


def test_package_readme_names_no_file_a_reader_lacks() -> None:
    """A file a block reads is one a block wrote first, or the bundled data."""
    code = "\n".join(python_blocks())
    for name in re.findall(r'from_file\("([^"]+)"\)', code):
        assert f'Path("{name}").write_text' in code, name
    assert "deid.dicom" not in code
    assert "/shared/" not in code


@pytest.mark.slow
def test_package_readme_python_blocks_run(tmp_path: Path) -> None:
    script = "\n\n".join(
        f"print('--- README block {number}', flush=True)\n{block}"
        for number, block in enumerate(python_blocks(), start=1)
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (src, env.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        # -c as a notebook cell, not a script file: Dask's worker processes
        # must not re-run a __main__ file
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count("--- README block") == len(python_blocks())
    # what the blocks wrote went to the working folder
    assert (tmp_path / "audit.html").is_file()
    assert (tmp_path / "clean.dcm").is_file()
    assert (tmp_path / "ids").is_dir()
