"""Progress bars for batch work: notebook-aware, shown only when a run is long."""

from __future__ import annotations

from typing import Any

__all__ = ["PROGRESS_DELAY", "progress_bar"]

#: Show a progress bar when a run takes longer than this many seconds.
PROGRESS_DELAY = 2.0


def progress_bar(
    total: int, progress: bool | None, *, desc: str = "read_identifiers"
) -> Any:
    """Return a tqdm progress bar over `total` files (notebook-aware).

    Parameters
    ----------
    total : int
        The number of files.
    progress : bool or None
        True: always shown; False: never; None: shown only once the run has
        lasted :data:`PROGRESS_DELAY` seconds.
    desc : str, optional
        The bar's label, usually the public function's name.

    Returns
    -------
    tqdm.tqdm
        A context manager; call ``update(n)`` as files are done.
    """
    from tqdm.auto import tqdm

    class _Bar(tqdm):  # type: ignore[misc]
        # no monitor thread: a process with threads cannot safely fork workers
        monitor_interval = 0

    return _Bar(
        total=total,
        unit="file",
        desc=desc,
        disable=progress is False,
        delay=0 if progress else PROGRESS_DELAY,
        leave=bool(progress),
    )
