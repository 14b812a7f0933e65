"""binder/: what repo2docker reads, and the notebooks run in a venv built from it.

repo2docker uses only binder/ when it exists (the root pyproject.toml is
ignored), runs ``pip install -r binder/requirements.txt`` from the
repository root, then ``binder/postBuild``. The slow test does the same
offline-checkable part: a fresh venv, that install, and every notebook run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"


def _requirements() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_binder_requirements_install_the_project_and_its_notebook_extras() -> None:
    requirements = _requirements()
    assert "." in requirements  # the project itself, from the repository root
    extras = [r for r in requirements if r.startswith(".[")]
    assert extras, "the notebook extras must be installed too"
    named = {e.strip() for r in extras for e in r[2:-1].split(",")}
    assert {"notebook", "dask", "ocr"} <= named


def test_binder_runtime_is_python_311() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_postbuild_is_valid_bash_starting_with_set_e() -> None:
    post_build = BINDER / "postBuild"
    lines = [
        line.strip()
        for line in post_build.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "set -e"
    assert os.access(post_build, os.X_OK)
    result = subprocess.run(
        ["bash", "-n", str(post_build)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


RUN_NOTEBOOKS = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import nbclient
    import nbformat

    failed = []
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb, kernel_name="python3", timeout=300,
            resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            client.execute()
            print("ran", path.name)
        except Exception as exc:
            failed.append(f"{path.name}: {exc}")
    print("\\n".join(failed))
    sys.exit(1 if failed else 0)
    """
)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """This environment without the test run's Python and Jupyter settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "MAKE", "MFLAGS"))
    }
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")  # no user kernelspecs
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _runs_every_notebook(python: Path, venv: Path, env: dict[str, str]) -> str:
    """Check every notebook runs with `python`; return where deidscope comes from."""
    where = subprocess.run(
        [str(python), "-c", "import deidscope; print(deidscope.__file__)"],
        cwd=venv.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip()
    run = subprocess.run(
        [str(python), "-c", RUN_NOTEBOOKS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-3000:]
    expected = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))
    assert [
        line[4:] for line in run.stdout.splitlines() if line.startswith("ran ")
    ] == (expected)
    return where.stdout


@pytest.mark.slow
def test_binder_fresh_venv_runs_every_notebook(tmp_path: Path) -> None:
    """One venv from binder/requirements.txt (+ nbclient), one pass over notebooks/."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = _clean_env(tmp_path)
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            "binder/requirements.txt",
            "nbclient",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    where = _runs_every_notebook(python, venv, env)
    assert str(venv) in where  # installed, not the source tree


@pytest.mark.slow
def test_make_lab_environment_runs_every_notebook(tmp_path: Path) -> None:
    """The venv `make lab` builds (the notebook extra alone) runs every notebook."""
    venv = tmp_path / "venv"
    env = _clean_env(tmp_path)
    install = subprocess.run(
        ["make", f"VENV={venv}", f"{venv}/.notebook-installed"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    # exactly what make lab starts, with the same venv
    lab = subprocess.run(
        ["make", "-n", f"VENV={venv}", "lab"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    command = lab.stdout.strip().splitlines()[-1]
    assert command.startswith(f"{venv}/bin/jupyter lab --notebook-dir=notebooks")
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    where = _runs_every_notebook(venv / "bin" / "python", venv, env)
    assert where.startswith(str(REPO / "src"))  # make lab installs the checkout
