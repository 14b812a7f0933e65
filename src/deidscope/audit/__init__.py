"""Audit a dataset: value profiles, PS3.15 risk, reports, leaks and changes.

- :func:`profile`: one row per field name, with counts, the most common
  values, the PS3.15 Basic Profile action and the heuristics' flags.
- :func:`report`: all of it as one self-contained HTML file.
- :func:`coverage`: fields the PS3.15 Basic Profile says must go but a
  recipe leaves alone, and private fields with no decision.
- :func:`leaks`: identifying values of the original that survive
  de-identification, and where; :func:`scan_files` searches the written
  files byte by byte for them (preamble and long binary values too).
- :func:`scorecard`: the checks of the MIDI-B challenge (kept, not empty,
  text kept, text removed, dates shifted, UIDs changed and consistent,
  patient IDs consistent, pixels), per file and overall, with every
  failure; :class:`Scorecard` writes them as an HTML page.
- :func:`compare`: per field, what de-identification kept, changed, emptied,
  removed or added, and UIDs not remapped consistently.
"""

from __future__ import annotations

from deidscope.audit._compare import compare, leaks
from deidscope.audit._coverage import coverage
from deidscope.audit._pairs import pair_files
from deidscope.audit._profile import profile
from deidscope.audit._report import report
from deidscope.audit._scan import scan_files
from deidscope.audit._scorecard import Scorecard, scorecard

__all__ = [
    "Scorecard",
    "compare",
    "coverage",
    "leaks",
    "pair_files",
    "profile",
    "report",
    "scan_files",
    "scorecard",
]
