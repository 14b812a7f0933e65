"""The exceptions deidscope raises, and the one policy for per-file failures.

One base class, :class:`DeidscopeError`, so that a caller can catch anything
deidscope raises on purpose; the subclasses also derive from the built-in
exception a Python user would expect (``ValueError``, ``ImportError``).

Every function that works on a batch of files (``read_identifiers``,
``get_identifiers``, ``replace_identifiers``, ``pixels.detect``,
``write_identifiers``...) takes ``errors="warn"|"ignore"|"raise"`` and
handles a file that fails the same way, through :class:`BatchErrors`: the
file is listed with the reason in an :class:`ErrorsFrame` (columns ``file``
and ``error``), the batch goes on, and at the end one warning gives the
count (a :class:`ReadErrorsWarning`, or a :class:`ReplaceErrorsWarning` for
files that could not be de-identified); ``"ignore"`` only lists them and
``"raise"`` raises :class:`ReadError` on the first.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BatchWarning",
    "DeidscopeError",
    "Errors",
    "ErrorsFrame",
    "InputError",
    "MissingDependencyError",
    "ReadError",
    "ReadErrorsWarning",
    "RecipeFunctionError",
    "RecipeSyntaxError",
    "ReplaceErrorsWarning",
]

#: What a batch function does about a file that fails.
Errors = Literal["warn", "ignore", "raise"]
#: The columns of every errors frame.
ERROR_COLUMNS: tuple[str, str] = ("file", "error")


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


# -- one policy for the files of a batch that fail ---------------------------


class BatchWarning(UserWarning):
    """Some files of a batch failed (the others were done)."""


class ReadErrorsWarning(BatchWarning):
    """Some files of a batch could not be read (the others were)."""


class ReplaceErrorsWarning(BatchWarning):
    """Some files of a batch could not be de-identified (the others were)."""


if TYPE_CHECKING:

    class ErrorsFrame(pd.DataFrame):
        """The files a batch could not do, and why (made by ``_errors_frame_class``)."""

else:

    def __getattr__(name: str) -> Any:
        # pandas loads on first use of ErrorsFrame, not with deidscope.errors,
        # so the exceptions stay cheap to import (``deidscope --help``)
        if name == "ErrorsFrame":
            return _errors_frame_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _errors_frame_class() -> type[ErrorsFrame]:
    """Define :class:`ErrorsFrame` (once: pandas is imported here)."""
    cls = globals().get("ErrorsFrame")
    if cls is not None:
        return cls  # type: ignore[no-any-return]
    import pandas as pd

    class ErrorsFrame(pd.DataFrame):
        """The files a batch could not do, and why: columns ``file`` and ``error``.

        ``df.attrs["errors"]`` of an identifier frame, ``result.errors`` of
        ``replace_identifiers``... A DataFrame that differs from a plain one in a
        single way: two ``ErrorsFrame`` compare with ``==`` as a whole (True or
        False), so that pandas can compare the ``attrs`` of frames when it
        concatenates or merges them (with a plain DataFrame in ``attrs``,
        ``pd.concat`` raises "The truth value of a DataFrame is ambiguous").
        Comparing with anything else is element-wise, as usual.
        """

        @property
        def _constructor(self) -> type[ErrorsFrame]:
            return ErrorsFrame

        def __eq__(self, other: object) -> Any:
            if isinstance(other, ErrorsFrame):
                return self.equals(other)
            return super().__eq__(other)

        def __ne__(self, other: object) -> Any:
            if isinstance(other, ErrorsFrame):
                return not self.equals(other)
            return super().__ne__(other)

        __hash__ = None

    ErrorsFrame.__qualname__ = "ErrorsFrame"  # pickled as deidscope.errors.ErrorsFrame
    globals()["ErrorsFrame"] = ErrorsFrame
    return ErrorsFrame  # type: ignore[return-value]


def _storable(text: str) -> str:
    """`text`, the bytes of a non-UTF-8 file name escaped (``backslashreplace``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode(
            "utf-8", "backslashreplace"
        )
    return text


def errors_frame(errors: Iterable[tuple[str, str]] = ()) -> ErrorsFrame:
    """Return an :class:`ErrorsFrame` of ``(file, reason)`` pairs.

    Parameters
    ----------
    errors : iterable of (str, str), optional
        The files and why each failed.

    Returns
    -------
    ErrorsFrame
        Columns ``file`` and ``error``, both Arrow-backed strings, also when
        empty.

    Examples
    --------
    >>> errors_frame([("a.dcm", "empty file (0 bytes)")]).to_dict("records")
    [{'file': 'a.dcm', 'error': 'empty file (0 bytes)'}]
    >>> errors_frame().dtypes.astype(str).tolist()
    ['string', 'string']
    """
    import pandas as pd

    pairs = [
        (_storable(os.fspath(file)), _storable(str(reason))) for file, reason in errors
    ]
    string = pd.StringDtype("pyarrow")
    return _errors_frame_class()(
        {
            "file": pd.array([file for file, _ in pairs], dtype=string),
            "error": pd.array([reason for _, reason in pairs], dtype=string),
        },
        columns=list(ERROR_COLUMNS),
    )


def check_errors_option(errors: object, *, caller: str) -> Errors:
    """Return `errors` if it is "warn", "ignore" or "raise"; raise otherwise.

    Raises
    ------
    InputError
        Naming the caller and what it got.
    """
    if errors not in ("warn", "ignore", "raise"):
        raise InputError(
            f"{caller}: errors must be 'warn', 'ignore' or 'raise', but got {errors!r}"
        )
    return errors


#: The one warning text per kind: what happened to the files.
_WHAT_FAILED = {
    ReadErrorsWarning: "could not be read",
    ReplaceErrorsWarning: "could not be de-identified",
}


class BatchErrors:
    """Collect the files of one batch call that fail, under one policy.

    Parameters
    ----------
    caller : str
        The public function, for messages (``"read_identifiers"``).
    errors : {"warn", "ignore", "raise"}
        The caller's option, checked here.
    warning : type, optional
        :class:`ReadErrorsWarning` (default) or :class:`ReplaceErrorsWarning`.
    listed_in : str, optional
        Where the caller finds the reasons, for the warning
        (default ``"df.attrs['errors']"``).

    Examples
    --------
    >>> batch = BatchErrors("read_identifiers", "ignore")
    >>> batch.add("a.dcm", "empty file (0 bytes)")
    >>> len(batch), batch.finish(total=3).file.tolist()
    (1, ['a.dcm'])
    """

    __slots__ = ("_pairs", "caller", "errors", "listed_in", "warning")

    def __init__(
        self,
        caller: str,
        errors: object = "warn",
        *,
        warning: type[BatchWarning] = ReadErrorsWarning,
        listed_in: str = "df.attrs['errors']",
    ) -> None:
        self.caller = caller
        self.errors: Errors = check_errors_option(errors, caller=caller)
        self.warning = warning
        self.listed_in = listed_in
        self._pairs: list[tuple[str, str]] = []

    @property
    def raises(self) -> bool:
        """True when the first failure raises (``errors="raise"``)."""
        return self.errors == "raise"

    def add(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record that `path` failed, or raise :class:`ReadError` for it.

        Raises
        ------
        ReadError
            With ``errors="raise"``.
        """
        if self.errors == "raise":
            raise ReadError(path, reason)
        self._pairs.append((os.fspath(path), reason))

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record several ``(path, reason)`` failures (raising on the first)."""
        for path, reason in pairs:
            self.add(path, reason)

    def __len__(self) -> int:
        return len(self._pairs)

    def frame(self) -> ErrorsFrame:
        """Return the failures so far as an :class:`ErrorsFrame`."""
        return errors_frame(self._pairs)

    def finish(self, *, total: int, count: int | None = None) -> ErrorsFrame:
        """Warn once (with ``errors="warn"``) and return the errors frame.

        Parameters
        ----------
        total : int
            How many files the batch had, for the message.
        count : int or None, optional
            How many failed, where the list is kept elsewhere (a sidecar
            file); default the failures recorded here.

        Returns
        -------
        ErrorsFrame
            The failures recorded here.
        """
        n = len(self._pairs) if count is None else count
        if n and self.errors == "warn":
            warnings.warn(
                f"{self.caller}: {n} of {total} files "
                f"{_WHAT_FAILED.get(self.warning, 'failed')}; see {self.listed_in} "
                "for the reasons (pass errors='ignore' to silence this warning)",
                self.warning,
                stacklevel=_caller_level(),
            )
        return self.frame()


def _caller_level() -> int:
    """Return the stacklevel of the first frame outside deidscope."""
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        "deidscope."
    ):
        frame = frame.f_back
        level += 1
    return level
