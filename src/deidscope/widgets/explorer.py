"""Explorer: the field browser, the thumbnails and the recipe builder in tabs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from deidscope.errors import InputError
from deidscope.frame import read_identifiers
from deidscope.widgets.field_browser import FieldBrowser
from deidscope.widgets.recipe_builder import RecipeBuilder
from deidscope.widgets.thumbnails import ThumbnailGrid

__all__ = ["Explorer", "explore"]


def _as_frame(path_or_df: Any, *, caller: str) -> pd.DataFrame:
    if isinstance(path_or_df, pd.DataFrame):
        return path_or_df
    if isinstance(path_or_df, str | os.PathLike) or (
        isinstance(path_or_df, Iterable) and not isinstance(path_or_df, bytes)
    ):
        return read_identifiers(path_or_df)
    raise InputError(
        f"{caller}: expected a folder, files or an identifier DataFrame, but got "
        f"{type(path_or_df).__name__}"
    )


class Explorer(widgets.Tab):  # type: ignore[misc]
    """The field browser, the thumbnails and the recipe builder in tabs.

    Parameters
    ----------
    path_or_df : str, os.PathLike, iterable of them, or pandas.DataFrame
        A folder, files, or an identifier frame from
        :func:`deidscope.read_identifiers`.
    recipe : deidscope.recipe.Recipe, str or os.PathLike, optional
        A recipe to start the recipe builder and the thumbnail flags from.
    page_size : int
        Rows the field browser's grid shows at once.

    Attributes
    ----------
    df : pandas.DataFrame
        The identifier frame.
    browser : FieldBrowser
        The Fields tab.
    thumbnails : ThumbnailGrid
        The Images tab.
    builder : RecipeBuilder
        The Recipe tab, connected to the browser's picks and the thumbnails'
        drafted labels.
    """

    def __init__(
        self,
        path_or_df: Any,
        *,
        recipe: Any = None,
        page_size: int = 20,
        **kwargs: Any,
    ) -> None:
        df = _as_frame(path_or_df, caller="Explorer")
        super().__init__(**kwargs)
        self.df = df
        self.browser = FieldBrowser(df, page_size=page_size)
        self.thumbnails = ThumbnailGrid(df, recipe=recipe)
        self.builder = RecipeBuilder(df, recipe=recipe)
        self.builder.connect_browser(self.browser)
        self.thumbnails.connect_builder(self.builder)
        self.children = [self.browser, self.thumbnails, self.builder]
        self.titles = ("Fields", "Images", "Recipe")

    def close(self) -> None:
        """Stop the thumbnail threads and close the widgets."""
        # ipywidgets closes on garbage collection too, also when __init__
        # refused its input before the tabs were made.
        thumbnails = self.__dict__.get("thumbnails")
        if thumbnails is not None:
            thumbnails.close()
        super().close()


def explore(path_or_df: Any, **kwargs: Any) -> Explorer:
    """Open the explorer on a folder, files or an identifier frame.

    Parameters
    ----------
    path_or_df : str, os.PathLike, iterable of them, or pandas.DataFrame
        What to explore: paths are read with :func:`deidscope.read_identifiers`.
    **kwargs
        Passed to :class:`Explorer` (``recipe=``, ``page_size=``).

    Returns
    -------
    Explorer
        The widget; display it or leave it as a cell's last expression.

    Raises
    ------
    InputError
        If `path_or_df` is none of these.
    """
    return Explorer(path_or_df, **kwargs)
