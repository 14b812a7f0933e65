"""What the functions that take a recipe accept, and the one way they read it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeAlias

from deidscope.errors import InputError
from deidscope.recipe._recipe import Recipe

__all__ = ["RecipeLike", "as_recipe"]

#: A :class:`Recipe`, recipe text (it has a newline or starts with
#: ``FORMAT``) or the path of a recipe file.
RecipeLike: TypeAlias = Recipe | str | os.PathLike[str]


def as_recipe(
    recipe: RecipeLike | Sequence[RecipeLike],
    *,
    caller: str,
    combine: bool = False,
) -> Recipe:
    r"""Return the :class:`Recipe` a caller was given.

    Parameters
    ----------
    recipe : Recipe, str, os.PathLike, or a list of them
        A recipe (returned as it is), recipe text (told from a path by a
        newline or a leading ``FORMAT``), or a recipe file; with `combine`,
        a non-empty list of these too, combined as deid combines recipes.
    caller : str
        The public function, for messages.
    combine : bool, optional
        Accept a list (default False).

    Returns
    -------
    Recipe
        The recipe (not a copy when given one).

    Raises
    ------
    InputError
        If `recipe` is none of these.
    FileNotFoundError, RecipeSyntaxError
        If a recipe file is missing or cannot be parsed.

    Examples
    --------
    >>> as_recipe("FORMAT dicom\n%header\nREMOVE PatientID", caller="demo")
    <Recipe: 1 header lines>
    >>> as_recipe(3, caller="demo")
    Traceback (most recent call last):
    ...
    deidscope.errors.InputError: demo: expected a Recipe, recipe text or ...
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str) and (
        "\n" in recipe or recipe.lstrip().startswith("FORMAT")
    ):
        return Recipe.from_text(recipe)
    if isinstance(recipe, str | os.PathLike):
        return Recipe.from_file(recipe)
    if combine and isinstance(recipe, list | tuple) and recipe:
        return Recipe.combine([as_recipe(item, caller=caller) for item in recipe])
    also = ", or a list of them" if combine else ""
    raise InputError(
        f"{caller}: expected a Recipe, recipe text or a recipe file{also}, "
        f"but got {type(recipe).__name__}"
    )
