"""Reading with several processes: how workers start, and what crosses over."""

from __future__ import annotations

import concurrent.futures
import fcntl
import logging
import os
import pickle
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deidscope import read_identifiers
from deidscope.errors import ReadError, RecipeSyntaxError
from deidscope.frame import _read
from deidscope.frame._read import pool_context


@pytest.fixture
def other_thread() -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()


def test_a_single_threaded_process_forks(cookie_files: list[str]) -> None:
    threads = threading.active_count()
    read_identifiers(cookie_files, progress=True)  # a bar starts no thread
    assert threading.active_count() == threads
    if threads == 1:
        assert pool_context().get_start_method() == "fork"


def test_a_process_with_threads_uses_the_forkserver(
    other_thread: threading.Thread,
) -> None:
    assert threading.active_count() > 1
    assert pool_context().get_start_method() == "forkserver"


def test_errors_cross_processes_whole() -> None:
    error = pickle.loads(pickle.dumps(ReadError("/data/x.dcm", "empty file (0 bytes)")))
    assert isinstance(error, ReadError)
    assert (error.path, error.reason) == ("/data/x.dcm", "empty file (0 bytes)")
    syntax = pickle.loads(
        pickle.dumps(RecipeSyntaxError("unknown action", line="FOO x", lineno=3))
    )
    assert (syntax.lineno, syntax.line, syntax.message) == (
        3,
        "FOO x",
        "unknown action",
    )
    assert str(syntax) == "line 3: unknown action: 'FOO x'"


def test_raise_with_workers_raises_the_read_error(
    cookie_files: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_read, "MIN_POOL_FILES", 0)  # the pool's way of raising
    bad = tmp_path / "bad.dcm"
    bad.write_text("not dicom")
    paths = [*cookie_files * 10, bad]
    with pytest.raises(ReadError, match=r"bad\.dcm: not a DICOM file"):
        read_identifiers(paths, workers=2, errors="raise")


def test_a_small_batch_is_read_in_this_process(
    cookie_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started")

    monkeypatch.setattr(_read, "_read_pooled", no_pool)
    files = cookie_files * 3
    assert len(files) < _read.MIN_POOL_FILES
    df = read_identifiers(files, workers=2)
    pd.testing.assert_frame_equal(df, read_identifiers(files))


def test_a_batch_big_enough_goes_to_the_pool(
    cookie_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    pooled = _read._read_pooled

    def spy(files: list[str], *args: Any) -> pd.DataFrame:
        calls.append(len(files))
        return pooled(files, *args)

    monkeypatch.setattr(_read, "_read_pooled", spy)
    monkeypatch.setattr(_read, "MIN_POOL_FILES", 2 * _read.CHUNK_FILES)
    files = cookie_files * (2 * _read.CHUNK_FILES // len(cookie_files) + 1)
    df = read_identifiers(files, workers=2)
    assert calls == [len(files)]
    pd.testing.assert_frame_equal(df, read_identifiers(files))


def _die(files: list[str], errors: str) -> None:
    os._exit(3)  # a worker killed (out of memory, say)


def _refuse() -> bool:
    raise RuntimeError("this worker never comes up")


def _shared(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """The files read here and by the workers, from the debug log."""
    [record] = [r for r in caplog.records if "other processes" in r.getMessage()]
    here, others = re.findall(r"(\d+) files read here, (\d+) by", record.getMessage())[
        0
    ]
    return int(here), int(others)


@pytest.fixture
def many_files(cookie_files: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(_read, "MIN_POOL_FILES", 0)
    return cookie_files * 40  # 280 files: several chunks


def test_this_process_and_the_workers_share_the_files(
    many_files: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="deidscope.frame._read")
    df = read_identifiers(many_files, workers=2)
    here, others = _shared(caplog)
    assert here + others == len(many_files)
    assert here > 0
    pd.testing.assert_frame_equal(df, read_identifiers(many_files))


@pytest.mark.parametrize(
    ("name", "replacement"), [("_read_rows", _die), ("_ready", _refuse)]
)
def test_files_of_a_failed_worker_are_read_here(
    many_files: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    replacement: Any,
) -> None:
    reference = read_identifiers(many_files)
    monkeypatch.setattr(_read, name, replacement)
    real_add = _read._add_file

    def slow_add(*args: Any) -> None:
        # this process reads slowly enough for the worker to be up and given
        # chunks before the front reaches the back (a fast reader could read
        # all 280 files first, and the worker would have nothing to fail on)
        time.sleep(0.002)
        real_add(*args)

    monkeypatch.setattr(_read, "_add_file", slow_add)
    caplog.set_level(logging.DEBUG, logger="deidscope.frame._read")
    df = read_identifiers(many_files, workers=2)
    pd.testing.assert_frame_equal(df, reference)
    here, others = _shared(caplog)
    if name == "_ready":  # no worker came up: every file was read here
        assert (here, others) == (len(many_files), 0)
    else:
        assert others > 0
        assert "a worker failed" in caplog.text


def _pipe_bytes(pool: Any) -> int:
    return int(fcntl.fcntl(pool._result_queue._reader.fileno(), fcntl.F_GETPIPE_SZ))


def test_the_rows_come_back_through_a_wide_pipe() -> None:
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=pool_context())
    try:
        default = _pipe_bytes(pool)
        _read._widen_result_pipe(pool)
        # a chunk's rows (up to about 0.7 MB) fit at once
        assert default < _read.RESULT_PIPE_BYTES <= _pipe_bytes(pool)
        assert pool.submit(_read._ready).result(timeout=60) is True
    finally:
        pool.shutdown()


def test_a_pipe_that_cannot_widen_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Elsewhere:  # another Python's executor, without ``_result_queue``
        pass

    _read._widen_result_pipe(Elsewhere())  # type: ignore[arg-type]

    def refuse(*args: Any) -> int:
        raise PermissionError(1, "Operation not permitted")  # over pipe-max-size

    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=pool_context())
    try:
        before = _pipe_bytes(pool)
        monkeypatch.setattr(_read.fcntl, "fcntl", refuse)
        _read._widen_result_pipe(pool)  # no error
        monkeypatch.undo()
        assert _pipe_bytes(pool) == before
        assert pool.submit(_read._ready).result(timeout=60) is True
    finally:
        pool.shutdown()
