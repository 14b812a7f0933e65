"""ipywidgets over deidscope's functions: browse fields, see images, draft recipes.

Widgets never do the work: each calls the function a script would
(:func:`deidscope.frame.filter_fields`, ``deidscope.pixels.thumbnail``,
``deidscope.recipe.Recipe``...) and keeps what it shows on Python attributes
(``.filtered``, ``.selected``, ``.recipe_text``, PNG bytes), so a test or a
script can read them without a browser.
"""

from __future__ import annotations

# the widget-free functions behind the widgets, here too for convenience
from deidscope.frame import FieldQuery, filter_fields
from deidscope.recipe import format_label, label_criteria
from deidscope.widgets.explorer import Explorer, explore
from deidscope.widgets.field_browser import FieldBrowser
from deidscope.widgets.recipe_builder import RecipeBuilder
from deidscope.widgets.thumbnails import ThumbnailGrid

__all__ = [
    "Explorer",
    "FieldBrowser",
    "FieldQuery",
    "RecipeBuilder",
    "ThumbnailGrid",
    "explore",
    "filter_fields",
    "format_label",
    "label_criteria",
]
