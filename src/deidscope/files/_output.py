"""Writing outputs: checked before any work, written to a temporary name.

:func:`output_targets` plans where a batch's outputs go (the inputs' tree
kept below an output folder) and :func:`inputs_written_over` finds the
targets that would replace an input. Every writer of deidscope
(``audit.report``, ``Recipe.to_file``, ``pixels.clean``,
``write_identifiers``, ``replace_identifiers``, the command line) checks
its output with :func:`check_output` before it starts, with the same
exceptions and messages, and writes through :func:`atomic_output`, so a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from deidscope.errors import InputError
from deidscope.files._discover import PathLike

__all__ = [
    "atomic_output",
    "check_output",
    "check_output_folder",
    "common_root",
    "inputs_written_over",
    "output_targets",
]


def _check_parent(path: Path, *, caller: str) -> None:
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(
            2,
            f"{caller}: the folder of the output does not exist (create it first)",
            os.fspath(parent),
        )
    if not parent.is_dir():
        raise NotADirectoryError(
            20, f"{caller}: the output's parent is not a folder", os.fspath(parent)
        )


def common_root(paths: Sequence[str]) -> str:
    """Return the folder every path is under (the working folder if none)."""
    folders = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(folders) if folders else os.getcwd()


def output_targets(
    dicom_files: Sequence[PathLike], output_folder: PathLike
) -> list[str]:
    """Return the path ``replace_identifiers`` writes each file to.

    Each file keeps its place under the inputs' common folder, moved to
    `output_folder` (header values play no part).

    Parameters
    ----------
    dicom_files : sequence of str or os.PathLike
        The input files.
    output_folder : str or os.PathLike
        The output folder.

    Returns
    -------
    list of str
        One target per input, in order.
    """
    names = [os.fspath(p) for p in dicom_files]
    base = common_root(names)
    root = os.fspath(output_folder)
    return [
        os.path.join(root, os.path.relpath(os.path.abspath(name), base))
        for name in names
    ]


def _file_id(path: PathLike) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def inputs_written_over(
    dicom_files: Sequence[PathLike], targets: Sequence[PathLike]
) -> list[tuple[str, str]]:
    """Return (target, input) for each target that is one of the inputs.

    "Is" means the same file (:func:`os.path.samefile`: links and other
    spellings of a path included), not only the same path text.

    Parameters
    ----------
    dicom_files : sequence of str or os.PathLike
        The input files.
    targets : sequence of str or os.PathLike
        The paths to be written.

    Returns
    -------
    list of (str, str)
        Each target that would replace an input, with that input.
    """
    inputs: dict[tuple[int, int] | str, str] = {}
    for path in dicom_files:
        name = os.fspath(path)
        inputs[os.path.realpath(name)] = name
        found = _file_id(name)
        if found is not None:
            inputs[found] = name
    hits = []
    for path in targets:
        target = os.fspath(path)
        same = inputs.get(os.path.realpath(target))
        if same is None:
            found = _file_id(target)
            same = None if found is None else inputs.get(found)
        if same is not None:
            hits.append((target, same))
    return hits


def _is_one_of(target: Path, inputs: list[PathLike]) -> bool:
    """Whether `target` is one of `inputs`: the same path, link or hard link."""
    real = os.path.realpath(target)
    if any(os.path.realpath(p) == real for p in inputs):
        return True
    found = _file_id(target)
    return found is not None and any(_file_id(p) == found for p in inputs)


def check_output(
    path: PathLike,
    *,
    overwrite: bool,
    caller: str,
    suffixes: Iterable[str] | None = None,
    also: Iterable[PathLike] = (),
    inputs: Iterable[PathLike] = (),
    option: str = "overwrite=True",
) -> Path:
    """Refuse an output file before any work is done.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    overwrite : bool
        Whether an existing output may be replaced.
    caller : str
        The public function, for messages.
    suffixes : iterable of str or None, optional
        The accepted endings (``".csv"``), compared case-insensitively;
        None accepts any.
    also : iterable of str or os.PathLike, optional
        Files written next to the output (an errors sidecar), checked the
        same way.
    inputs : iterable of str or os.PathLike, optional
        The inputs: an output that is one of them (by any path) is refused
        even with `overwrite`.
    option : str, optional
        How the caller asks to replace an output, for the message
        (``"--force"`` on the command line).

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    InputError
        If `path` is not a path, its ending is not accepted, it is a folder,
        or it is one of the inputs.
    FileNotFoundError
        If the output's folder does not exist.
    NotADirectoryError
        If the output's parent is not a folder.
    FileExistsError
        If the output (or one of `also`) exists and `overwrite` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_output(folder / "ids.csv", overwrite=False, caller="demo").name
    'ids.csv'
    >>> check_output(folder / "x" / "ids.csv", overwrite=False, caller="demo")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] demo: the folder of the output does not exist ...
    """
    if not isinstance(path, str | os.PathLike):
        raise InputError(
            f"{caller}: expected the output as str or os.PathLike, "
            f"but got {type(path).__name__}"
        )
    target = Path(path)
    if suffixes is not None:
        accepted = tuple(s.lower() for s in suffixes)
        if not target.name.lower().endswith(accepted):
            raise InputError(
                f"{caller}: expected an output ending in {' or '.join(accepted)}, "
                f"but got {os.fspath(target)!r}"
            )
    _check_parent(target, caller=caller)
    inputs = list(inputs)
    for each in (target, *(Path(p) for p in also)):
        if each.is_dir():
            raise InputError(
                f"{caller}: the output is a folder, expected a file: {each}"
            )
        if inputs and _is_one_of(each, inputs):
            raise InputError(
                f"{caller}: the output would replace an input file: {each}"
            )
        if each.exists() and not overwrite:
            raise FileExistsError(
                17,
                f"{caller}: the output exists (pass {option} to replace it)",
                os.fspath(each),
            )
    return target


def check_output_folder(
    path: PathLike, *, overwrite: bool, caller: str, option: str = "overwrite=True"
) -> Path:
    """Refuse an output folder before any work is done.

    The folder may not exist yet (it is created later), but its parent must;
    an existing folder that is not empty needs `overwrite`.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder.
    overwrite : bool
        Whether files in an existing, non-empty folder may be replaced.
    caller : str
        The public function, for messages.
    option : str, optional
        How the caller asks to write into a full folder, for the message.

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    FileNotFoundError
        If the folder's parent does not exist.
    NotADirectoryError
        If `path` exists and is not a folder.
    FileExistsError
        If the folder holds files and `overwrite` is false.
    """
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise NotADirectoryError(
                20,
                f"{caller}: the output exists and is not a folder",
                os.fspath(target),
            )
        if not overwrite and any(target.iterdir()):
            raise FileExistsError(
                17,
                f"{caller}: the output folder is not empty (pass {option} to "
                "write into it)",
                os.fspath(target),
            )
        return target
    _check_parent(target, caller=caller)
    return target


@contextlib.contextmanager
def atomic_output(
    path: PathLike, *, overwrite: bool = True, caller: str = "write"
) -> Iterator[Path]:
    """Yield a temporary name beside `path`; move it to `path` if all goes well.

    Every output deidscope writes goes through here: the file is written
    under a hidden temporary name in the same folder (keeping the suffix,
    for writers that look at it) and renamed into place only when the block
    finishes without error, so a reader never sees half a file and a failed
    write leaves nothing behind.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.
    overwrite : bool, optional
        Replace `path` if it exists when the work is done (default True).
        When False, a file that appeared meanwhile is never replaced: the
        temporary file is hard-linked into place, which fails if `path`
        exists.
    caller : str, optional
        The public function's name, for messages.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    FileExistsError
        If `overwrite` is False and `path` exists when the block ends.
    InputError
        If the block wrote nothing to the temporary path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['out.txt'])
    """
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise InputError(f"{caller}: nothing was written to {os.fspath(final)}")
        if overwrite:
            os.replace(tmp, final)
            return
        exists = f"{caller}: the output exists (pass overwrite)"
        try:  # a link never replaces a file that appeared meanwhile
            os.link(tmp, final)
        except FileExistsError:
            raise FileExistsError(17, exists, os.fspath(final)) from None
        except OSError:  # no hard links on this file system: check, then rename
            if final.exists():
                raise FileExistsError(17, exists, os.fspath(final)) from None
            os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
