"""Benchmark the start-up of the ``deidscope`` command.

Run: .venv/bin/python benchmarks/bench_cli.py [--repeat N] [--results-dir DIR]

Wall time of whole processes, each started afresh, alternating in one run
(so that the machine's load weighs on all alike), median of ``--repeat``:

- ``python -c pass``: the interpreter's own start-up, the floor;
- ``deidscope --help`` (the installed script, or ``python -m deidscope`` if
  there is none beside this interpreter): the target is under 0.15 s;
- ``deidscope identifiers --help``: a subcommand's help;
- ``python -c "import deidscope"``: the package alone;
- ``python -c "import deidscope.frame"``: pandas, pydicom and the frame, what
  a command that reads files pays before its first file.

The load average is reported before and after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS_ROOT, machine_info, markdown_table, median, write_json

#: The 0.15 s target of ``deidscope --help``.
TARGET_S = 0.15


def _commands() -> dict[str, list[str]]:
    python = sys.executable
    script = Path(python).parent / "deidscope"
    deidscope = [str(script)] if script.is_file() else [python, "-m", "deidscope"]
    return {
        "python -c pass": [python, "-c", "pass"],
        "deidscope --help": [*deidscope, "--help"],
        "deidscope identifiers --help": [*deidscope, "identifiers", "--help"],
        "import deidscope": [python, "-c", "import deidscope"],
        "import deidscope.frame": [python, "-c", "import deidscope.frame"],
    }


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_ROOT)
    args = parser.parse_args(argv)

    commands = _commands()
    before = machine_info()
    for command in commands.values():  # warm the page cache and .pyc files
        _wall(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(_wall(command))
    after = machine_info()

    floor = median(times["python -c pass"])
    rows = []
    summary = []
    for name, values in times.items():
        med = median(values)
        best = min(values)
        rows.append(
            [name, f"{med * 1000:.0f}", f"{best * 1000:.0f}", f"{med / floor:.1f}x"]
        )
        summary.append(
            {"command": name, "median_s": med, "min_s": min(values), "runs": values}
        )
    table = markdown_table(["command", "median ms", "min ms", "vs python"], rows)
    help_s = median(times["deidscope --help"])
    verdict = "met" if help_s < TARGET_S else "NOT met"
    lines = [
        table,
        "",
        f"deidscope --help: {help_s * 1000:.0f} ms median of {args.repeat} "
        f"(target < {TARGET_S * 1000:.0f} ms: {verdict}); "
        f"{(help_s - floor) * 1000:.0f} ms above the interpreter's start-up",
        f"load average before {before['loadavg']}, after {after['loadavg']} "
        f"({os.cpu_count()} CPUs)",
    ]
    print("\n".join(lines))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(
        args.results_dir / f"bench_cli-{stamp}.json",
        {
            "machine_before": before,
            "machine_after": after,
            "repeat": args.repeat,
            "summary": summary,
            "target": {"deidscope --help < s": TARGET_S, "met": help_s < TARGET_S},
        },
    )
    (args.results_dir / f"bench_cli-{stamp}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
