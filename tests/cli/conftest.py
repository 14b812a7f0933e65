"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

import deidscope.frame
import deidscope.parallel


@pytest.fixture
def cli_no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to read or write identifiers fail the test."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started")

    monkeypatch.setattr(deidscope.frame, "read_identifiers", fail)
    monkeypatch.setattr(deidscope.parallel, "write_identifiers", fail)
