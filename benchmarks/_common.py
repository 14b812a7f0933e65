"""Helpers shared by the benchmark scripts: corpus, timing, memory, reports.

Nothing here imports deidscope or deid, so a measuring subprocess pays only
for what it measures.

- Corpus: :data:`CORPUS_ROOT`, :func:`read_manifest`, :func:`corpus_files`.
- Timing: :func:`timed`, :func:`median`.
- Memory: :func:`peak_rss_bytes` (the kernel's exact high-water mark of this
  process), :func:`run_measured` (runs a command in a fresh process and samples
  the memory of its whole process tree, with a kill switch), :func:`mem_available`.
- Fairness: :func:`warm_page_cache` reads every file once.
- Reports: :func:`machine_info`, :func:`markdown_table`, :func:`write_json`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.metadata
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "CORPUS_ROOT",
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "RESULTS_ROOT",
    "ManifestRow",
    "Measured",
    "corpus_files",
    "machine_info",
    "markdown_table",
    "median",
    "mem_available",
    "peak_rss_bytes",
    "read_manifest",
    "run_measured",
    "timed",
    "warm_page_cache",
    "write_json",
]

T = TypeVar("T")

BENCH_ROOT = Path(__file__).resolve().parent
#: Where corpora go by default (git-ignored).
CORPUS_ROOT = BENCH_ROOT / "corpus"
#: Where result files go by default (git-ignored).
RESULTS_ROOT = BENCH_ROOT / "results"
#: The manifest of a corpus, in its folder.
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("path", "template", "category", "size", "n_frames")

MIB = 1024 * 1024
GIB = 1024 * MIB


# --------------------------------------------------------------------- corpus


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    """One file of a corpus: its path relative to the corpus folder and more."""

    path: str
    template: str
    category: str
    size: int
    n_frames: int


def read_manifest(corpus: str | os.PathLike[str]) -> list[ManifestRow]:
    """Return the rows of ``<corpus>/manifest.csv``, in corpus order.

    Raises
    ------
    FileNotFoundError
        If the corpus has no manifest (make it with make_corpus.py).
    """
    path = Path(corpus) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            2,
            "read_manifest: no manifest; make the corpus first with "
            "benchmarks/make_corpus.py",
            str(path),
        )
    with path.open(newline="") as fp:
        reader = csv.DictReader(fp)
        missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"read_manifest: {path} lacks the columns {sorted(missing)}"
            )
        return [
            ManifestRow(
                path=row["path"],
                template=row["template"],
                category=row["category"],
                size=int(row["size"]),
                n_frames=int(row["n_frames"]),
            )
            for row in reader
        ]


def corpus_files(corpus: str | os.PathLike[str], n: int | None = None) -> list[str]:
    """Absolute paths of the first `n` files of a corpus (all if None)."""
    base = Path(corpus).resolve()
    rows = read_manifest(base)
    if n is not None:
        rows = rows[:n]
    return [str(base / row.path) for row in rows]


# --------------------------------------------------------------------- timing


def median(values: Iterable[float]) -> float:
    """The median of `values` (raises ValueError when empty)."""
    items = list(values)
    if not items:
        raise ValueError("median: no values")
    return float(statistics.median(items))


def timed(func: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    """Call ``func(*args, **kwargs)``; return (wall seconds, result)."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


# --------------------------------------------------------------------- memory


def peak_rss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    """The kernel's high-water mark of resident memory (ru_maxrss), in bytes.

    For ``RUSAGE_CHILDREN`` it is the largest of the waited-for descendants,
    not their sum.
    """
    return resource.getrusage(who).ru_maxrss * 1024  # Linux reports KiB


def _meminfo() -> dict[str, int]:
    info: dict[str, int] = {}
    with open("/proc/meminfo") as fp:
        for line in fp:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                info[key] = int(parts[0]) * 1024
    return info


def mem_available() -> int:
    """MemAvailable of /proc/meminfo, in bytes."""
    return _meminfo().get("MemAvailable", 0)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fp:
                kids.extend(int(k) for k in fp.read().split())
        except OSError:
            continue
    return kids


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fp:
            return int(fp.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fp:
            for line in fp:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


@dataclasses.dataclass
class Measured:
    """What :func:`run_measured` saw of one subprocess."""

    returncode: int
    wall: float
    #: Largest sum of RSS over the process tree seen while sampling.
    tree_peak_rss: int
    #: Largest sum of PSS over the process tree (shared pages split fairly).
    tree_peak_pss: int
    samples: int
    killed: str | None
    stdout: str
    stderr: str


def run_measured(
    cmd: Sequence[str],
    *,
    interval: float = 0.1,
    pss_every: int = 5,
    memory_limit: int | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run `cmd` in a fresh process group and sample its tree's memory.

    RSS of every process of the tree is read from /proc every `interval`
    seconds (cheap); PSS, which splits shared pages between processes and so
    adds up honestly over a pool of workers, every `pss_every` samples (it is
    costlier to read on a large process). If the tree's RSS passes
    `memory_limit` bytes, or `timeout` seconds pass, the whole group is
    killed and ``killed`` says why.

    Sampling can miss a peak shorter than `interval`; a process's own exact
    peak is its ``ru_maxrss`` (:func:`peak_rss_bytes`).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=err, env=env, start_new_session=True
        )
        peak_rss = peak_pss = samples = 0
        killed: str | None = None
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_rss, peak_pss, samples, killed
            while not stop.is_set():
                tree = process_tree(proc.pid)
                rss = sum(_rss(p) for p in tree)
                peak_rss = max(peak_rss, rss)
                if samples % pss_every == 0:
                    peak_pss = max(peak_pss, sum(_pss(p) for p in tree))
                samples += 1
                reason = None
                if memory_limit is not None and rss > memory_limit:
                    reason = (
                        f"memory: the process tree reached {rss / GIB:.1f} GiB, "
                        f"over the limit of {memory_limit / GIB:.1f} GiB"
                    )
                elif timeout is not None and time.perf_counter() - start > timeout:
                    reason = f"timeout: still running after {timeout:.0f} s"
                if reason is not None:
                    killed = reason
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            stop.set()
            sampler.join()
        wall = time.perf_counter() - start
        # workers left behind (a forkserver) die with the group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            wall=wall,
            tree_peak_rss=peak_rss,
            tree_peak_pss=peak_pss,
            samples=samples,
            killed=killed,
            stdout=out.read()[-20000:],
            stderr=err.read()[-20000:],
        )


# ------------------------------------------------------------------- fairness


def warm_page_cache(paths: Iterable[str], *, chunk: int = 1 << 20) -> int:
    """Read every byte of every file once, so each contender starts warm.

    Returns the number of bytes read.
    """
    total = 0
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    for path in paths:
        with open(path, "rb", buffering=0) as fp:
            while True:
                n = fp.readinto(view)
                if not n:
                    break
                total += n
    return total


# -------------------------------------------------------------------- reports


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU, memory, load and package versions, for a results file."""
    info = _meminfo()
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "mem_total_gib": round(info.get("MemTotal", 0) / GIB, 2),
        "mem_available_gib": round(info.get("MemAvailable", 0) / GIB, 2),
        "versions": {
            name: _version(name)
            for name in (
                "deidscope",
                "deid",
                "pydicom",
                "pandas",
                "pyarrow",
                "numpy",
                "dicomsdl",
            )
        },
    }


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""
    body = [[str(cell) for cell in row] for row in rows]
    numeric = [
        all(_is_number(row[i]) for row in body if row[i] not in ("", "-"))
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" if num else "---" for num in numeric) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%").replace(",", ""))
    except ValueError:
        return False
    return True


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write `obj` as indented JSON to a temporary name, then rename it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w") as fp:
            json.dump(obj, fp, indent=2, sort_keys=False)
            fp.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
