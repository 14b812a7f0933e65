"""Explorer: the field browser, the thumbnails and the recipe builder in tabs."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from deidscope.errors import InputError
from deidscope.frame import read_identifiers
from deidscope.widgets._common import error_html, logger
from deidscope.widgets.field_browser import FieldBrowser

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
        Rows per page of the field browser.

    Attributes
    ----------
    df : pandas.DataFrame
        The identifier frame.
    browser : FieldBrowser
        The Fields tab.
    thumbnails : ThumbnailGrid or None
        The Images tab (None if it could not be built).
    builder : RecipeBuilder or None
        The Recipe tab (None if it could not be built).
    """

    def __init__(
        self,
        path_or_df: Any,
        *,
        recipe: Any = None,
        page_size: int = 25,
        **kwargs: Any,
    ) -> None:
        df = _as_frame(path_or_df, caller="Explorer")
        super().__init__(**kwargs)
        self.df = df
        self.browser = FieldBrowser(df, page_size=page_size)
        self.thumbnails: Any = None
        self.builder: Any = None
        children: list[widgets.Widget] = [self.browser]
        titles = ["Fields"]
        for title, attribute, build in (
            ("Images", "thumbnails", self._build_thumbnails),
            ("Recipe", "builder", self._build_builder),
        ):
            try:
                built = build(recipe)
            except (ImportError, AttributeError, NotImplementedError) as exc:
                logger.debug("Explorer: no %s tab: %s", title, exc)
                built = None
                shown: widgets.Widget = widgets.HTML(
                    error_html(f"{title} are not available: {exc}")
                )
            else:
                shown = built
            setattr(self, attribute, built)
            children.append(shown)
            titles.append(title)
        self.children = children
        self.titles = tuple(titles)

    def _build_thumbnails(self, recipe: Any) -> Any:
        thumbnails = importlib.import_module("deidscope.widgets.thumbnails")
        return thumbnails.ThumbnailGrid(self.df, recipe=recipe)

    def _build_builder(self, recipe: Any) -> Any:
        recipe_builder = importlib.import_module("deidscope.widgets.recipe_builder")
        builder = recipe_builder.RecipeBuilder(self.df, recipe=recipe)
        builder.connect_browser(self.browser)
        if self.thumbnails is not None:
            self.thumbnails.connect_builder(builder)
        return builder


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
