"""The deid recipe language, and the PS3.15 profiles recipes start from."""

from __future__ import annotations

__all__: list[str] = []
