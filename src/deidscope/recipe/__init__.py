"""The deid recipe language: read, write, lint, preview and apply recipes.

A :class:`Recipe` is read from text or a file, edited as plain Python
objects, and written back; deid 0.4.13's ``DeidRecipe`` reads what
:meth:`Recipe.to_text` writes with the same meaning, and
``Recipe.from_text(r.to_text()) == r``::

    from deidscope.recipe import Recipe, Action

    recipe = Recipe.from_file("deid.dicom")
    recipe.header.append(Action("REMOVE", "contains:Physician"))
    text = recipe.to_text()

The model
---------
Every line becomes a dataclass with its ``lineno`` (and whole-line
``comments`` written just before it); line numbers and source paths are
not compared by ``==``.

``Recipe``
    ``format`` (``"dicom"``); ``header`` and ``labels``: lists of
    :class:`Action`; ``filters``: a list of :class:`FilterGroup`;
    ``values`` and ``fields``: dicts of list name to lists of
    :class:`GroupAction`; ``comments`` (before ``FORMAT``) and
    ``trailing_comments``. A section written twice is one section, as for
    deid. :meth:`Recipe.to_deid` gives the dict deid builds.

``Action`` (``%header``, ``%labels``)
    ``action`` (``ADD``, ``BLANK``, ``JITTER``, ``KEEP``, ``REPLACE``,
    ``REMOVE``, ``LABEL``), ``field`` (one token: a keyword, a tag, an
    expander such as ``contains:Date``, ``values:names``, or a private
    name ``(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)``), ``value``
    (exactly what deid reads: ``var:id``, ``func:make_uid``,
    ``deid_func:dicom_uuid org_root=1.2.3``, ``31``, ``YES``; None when the
    line stops after the field) and ``comment`` (text after ``#``).
    deid reads an inline comment into the value: ``REMOVE PatientID # x``
    has ``value == ""``, which deid takes as "do not remove"; the linter
    says so.

``GroupAction`` (``%values <name>``, ``%fields <name>``)
    ``action`` ``FIELD`` or ``SPLIT``, ``field``, ``value`` (``SPLIT``
    parameters such as ``by="^";minlength=4``).

``FilterGroup`` (``%filter <name>``)
    ``name`` (``whitelist``, ``graylist``, ``blacklist`` or any) and
    ``labels``, a list of :class:`Label` in recipe order. deid checks the
    groups in order and the labels of a group in order.

``Label`` (``LABEL <name>`` and the lines under it)
    ``name`` (and :attr:`Label.deid_name`, the name deid stores and
    reports: ``"LABEL Dose Report"``), ``criteria`` (list of
    :class:`CriteriaLine`) and ``coordinates`` (list of
    :class:`Coordinates`).

``CriteriaLine``
    One criteria line: ``operator`` written before it (``+`` -> ``"and"``,
    ``||`` -> ``"or"``, or None), ``criteria`` (list of :class:`Criterion`)
    and ``inner_operators`` between them (``"and"``/``"or"``). deid's
    detector evaluates each line left to right, then joins the lines of a
    label; its dict form (``to_deid()["filter"]``) is ``{"action": [...],
    "field": [...], "operator": ..., "InnerOperators": [...], "value":
    [...]}``, where ``value`` lists only the values of the tests that take
    one.

``Criterion``
    ``action`` (``contains``, ``notcontains``, ``equals``, ``notequals``,
    ``missing``, ``present``, ``empty``), ``field`` (a keyword, or
    ``0xGGGGEEEE``) and ``value`` (a regular expression for ``contains``;
    None for ``missing``/``present``/``empty``).

``Coordinates``
    ``kind`` (``coordinates``, ``keepcoordinates``, ``ctpcoordinates``,
    ``ctpkeepcoordinates``) and ``value`` as written (``0,0,512,121``,
    ``all``, ``from:SequenceOfUltrasoundRegions``); ``keep``,
    ``deid_value`` (CTP ``x,y,width,height`` turned into
    ``xmin,ymin,xmax,ymax``) and ``box``.

What a recipe does
------------------
:meth:`Recipe.preview` shows, per (file, uid), the value before and after,
the action and the line that decided, following deid 0.4.13's rules (see
:mod:`deidscope.recipe._engine`); :meth:`Recipe.matches` lists the rows one
line names and :meth:`Recipe.line_matches` those of every line;
:meth:`Recipe.lint` lists what will not work as written;
:meth:`Recipe.from_profile` writes the PS3.15 Basic Profile as a recipe;
:func:`deidscope.dicom.replace_identifiers` applies a recipe to files with
the same engine the preview uses. :meth:`Recipe.run` runs the engine once
and returns a :class:`RecipeRun` that all of these read (``run.preview()``,
``run.matches(line)``, ``run.line_matches()``, ``run.line_counts()``,
``recipe.lint(run)``, ``coverage(df, run)``), so a caller that needs several
of them runs the recipe once.

Recipe text is data: nothing in it is evaluated or imported. ``func:``
names resolve only against the ``lookup`` a caller passes.
"""

from __future__ import annotations

from deidscope.recipe._actions import RecipeFunctionError as RecipeFunctionError
from deidscope.recipe._draft import (
    add_filter_label,
    format_box,
    format_label,
    header_values,
    label_criteria,
)
from deidscope.recipe._lint import RecipeLintWarning
from deidscope.recipe._model import (
    Action,
    Coordinates,
    CriteriaLine,
    Criterion,
    FilterGroup,
    GroupAction,
    Label,
)
from deidscope.recipe._recipe import Recipe, RecipeWarning
from deidscope.recipe._run import RecipeRun
from deidscope.recipe._types import RecipeLike

__all__ = [
    "Action",
    "Coordinates",
    "CriteriaLine",
    "Criterion",
    "FilterGroup",
    "GroupAction",
    "Label",
    "Recipe",
    "RecipeLike",
    "RecipeLintWarning",
    "RecipeRun",
    "RecipeWarning",
    "add_filter_label",
    "format_box",
    "format_label",
    "header_values",
    "label_criteria",
]
