"""Pair the files of two frames: before and after de-identification."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pandas as pd

from deidscope.errors import InputError

__all__ = ["files_of", "pair_files"]


def files_of(df: pd.DataFrame) -> list[str]:
    """List the distinct files of a frame, in order."""
    return [str(file) for file in pd.unique(df["file"].astype(str))]


def _relative(files: list[str]) -> dict[str, str] | None:
    try:
        root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
    except ValueError:
        return None
    return {f: os.path.relpath(os.path.abspath(f), root) for f in files}


def pair_files(
    before: Iterable[str],
    after: Iterable[str],
    *,
    pairs: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Pair each file after de-identification with the file it came from.

    Parameters
    ----------
    before, after : iterable of str
        The files of the two frames.
    pairs : mapping or None, optional
        ``{after_file: before_file}`` for pairs the rules below cannot find;
        these win.

    Returns
    -------
    dict
        ``{after_file: before_file}``, in the order of `after`. A file is
        paired, in this order: as given in `pairs`; with the same path; with
        the same path under each side's common folder; with the same file
        name when that name is unique on both sides; and when one file of
        each side is left, with each other. Files left over are not paired.

    Examples
    --------
    >>> pair_files(["in/a/1.dcm", "in/b/1.dcm"], ["out/b/1.dcm", "out/a/1.dcm"])
    {'out/b/1.dcm': 'in/b/1.dcm', 'out/a/1.dcm': 'in/a/1.dcm'}
    """
    before_files = list(dict.fromkeys(before))
    after_files = list(dict.fromkeys(after))
    found: dict[str, str] = {}
    if pairs:
        unknown = [a for a, b in pairs.items() if a not in after_files]
        unknown += [b for b in pairs.values() if b not in before_files]
        if unknown:
            raise InputError(
                "pair_files: pairs names files that are not in the frames: "
                f"{unknown[:3]}"
            )
        found.update(pairs)

    def unpaired() -> tuple[list[str], list[str]]:
        used = set(found.values())
        return (
            [f for f in before_files if f not in used],
            [f for f in after_files if f not in found],
        )

    free_before, free_after = unpaired()
    same = set(free_before)
    found.update({f: f for f in free_after if f in same})
    free_before, free_after = unpaired()
    if free_before and free_after:
        rel_before, rel_after = _relative(free_before), _relative(free_after)
        if rel_before is not None and rel_after is not None:
            by_rel = {rel: f for f, rel in rel_before.items()}
            for f in free_after:
                match = by_rel.get(rel_after[f])
                if match is not None:
                    found[f] = match
    free_before, free_after = unpaired()
    if free_before and free_after:
        names_before = pd.Series(free_before).map(os.path.basename)
        names_after = pd.Series(free_after).map(os.path.basename)
        once_before = names_before[~names_before.duplicated(keep=False)]
        once_after = names_after[~names_after.duplicated(keep=False)]
        by_name = {
            name: free_before[pos]
            for pos, name in zip(once_before.index, once_before, strict=True)
        }
        for pos, name in zip(once_after.index, once_after, strict=True):
            if name in by_name:
                found[free_after[pos]] = by_name[name]
    free_before, free_after = unpaired()
    if len(free_before) == 1 and len(free_after) == 1:
        found[free_after[0]] = free_before[0]
    return {f: found[f] for f in after_files if f in found}
