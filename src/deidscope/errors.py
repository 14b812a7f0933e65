"""The exceptions deidscope raises.

One base class, :class:`DeidscopeError`, so that a caller can catch anything
deidscope raises on purpose; the subclasses also derive from the built-in
exception a Python user would expect (``ValueError``, ``ImportError``).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "DeidscopeError",
    "InputError",
    "MissingDependencyError",
    "ReadError",
    "RecipeFunctionError",
    "RecipeSyntaxError",
]


class DeidscopeError(Exception):
    """Base class of every error deidscope raises on purpose."""


class InputError(DeidscopeError, ValueError):
    """An argument or input that deidscope cannot work with."""


class ReadError(InputError):
    """A file that cannot be read as DICOM.

    Parameters
    ----------
    path : str or os.PathLike
        The file, as the caller gave it.
    reason : str
        Why it cannot be read, in words a person understands.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{os.fspath(path)}: {reason}")

    def __reduce__(self) -> tuple[type[ReadError], tuple[str | os.PathLike[str], str]]:
        # pickled across processes (read_identifiers with workers) whole
        return (type(self), (self.path, self.reason))


class RecipeSyntaxError(DeidscopeError, ValueError):
    """A recipe line that cannot be parsed.

    Parameters
    ----------
    message : str
        What is wrong with the line.
    line : str
        The text of the line, as written.
    lineno : int
        Its line number, counting from 1.
    path : str or os.PathLike or None
        The recipe file, or None for recipe text given directly.
    """

    def __init__(
        self,
        message: str,
        *,
        line: str,
        lineno: int,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.lineno = lineno
        self.path = path
        where = f"{os.fspath(path)}, line {lineno}" if path else f"line {lineno}"
        super().__init__(f"{where}: {message}: {line.strip()!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_syntax_error,
            (self.message, self.line, self.lineno, self.path),
        )


def _rebuild_syntax_error(
    message: str, line: str, lineno: int, path: str | os.PathLike[str] | None
) -> RecipeSyntaxError:
    return RecipeSyntaxError(message, line=line, lineno=lineno, path=path)


class RecipeFunctionError(DeidscopeError):
    """A recipe's ``func:`` or ``deid_func:`` function raised on one file.

    Parameters
    ----------
    caller : str
        The public function that ran the recipe (``"Recipe.preview"``).
    function : str
        The function as the recipe names it: ``func:new_uid``.
    file : str
        The file it was called for.
    lineno : int
        The recipe line that called it.
    line : str
        The text of that line.
    reason : str
        What the function raised: ``"ValueError: no such patient"``.
    recipe_path : str or None, optional
        The recipe file the line came from, if any.

    Attributes
    ----------
    where : str
        The message without the caller and the file, as a per-file failure
        reason (``replace_identifiers``' ``result.errors``) gives it.
    """

    def __init__(
        self,
        caller: str,
        *,
        function: str,
        file: str,
        lineno: int,
        line: str,
        reason: str,
        recipe_path: str | None = None,
    ) -> None:
        self.caller = caller
        self.function = function
        self.file = file
        self.lineno = lineno
        self.line = line
        self.reason = reason
        self.recipe_path = recipe_path
        at = f"{recipe_path}, line {lineno}" if recipe_path else f"line {lineno}"
        self.where = f"{function} raised {reason} (recipe {at}: {line!r})"
        super().__init__(f"{caller}: {file}: {self.where}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_function_error, (self.caller, self.__dict__.copy()))


def _rebuild_function_error(caller: str, state: dict[str, Any]) -> RecipeFunctionError:
    keys = ("function", "file", "lineno", "line", "reason", "recipe_path")
    return RecipeFunctionError(caller, **{k: state[k] for k in keys})


class MissingDependencyError(DeidscopeError, ImportError):
    """An optional dependency is needed for this feature but not installed.

    Parameters
    ----------
    module : str
        The module that could not be imported.
    extra : str
        The deidscope extra that installs it.
    feature : str
        What the caller tried to do.
    """

    def __init__(self, module: str, *, extra: str, feature: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{feature} needs {module!r}, which is not installed; "
            f"install it with: pip install 'deidscope[{extra}]'",
            name=module,
        )
