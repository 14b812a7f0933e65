"""``python -m deidscope``: the ``deidscope`` command."""

from __future__ import annotations

import sys

from deidscope.cli import main

if __name__ == "__main__":
    sys.exit(main())
