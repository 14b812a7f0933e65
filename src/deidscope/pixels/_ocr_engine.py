"""The OCR engine behind :func:`deidscope.pixels.find_text`, and its cache.

The engine is RapidOCR (the ``ocr`` extra: ``rapidocr`` with
``onnxruntime``), whose PP-OCR detection, orientation and recognition
models ship inside its wheel: nothing is downloaded at run time. It is made
once per process, on first use. Any callable with the same contract can
stand in for it (tests, another engine)::

    engine(picture) -> [((x0, y0, x1, y1), text, score), ...]

where `picture` is an 8-bit array, (rows, columns) or (rows, columns, 3)
RGB, and the boxes are in its pixels.

Results are cached by the file's content (SHA-256), the frame, the
picture's size and the engine: in memory for the process, and in a folder
when one is given, so a rerun of a notebook reads them back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from deidscope._optional import import_optional
from deidscope.errors import InputError

__all__ = [
    "CACHE_ENTRIES",
    "Engine",
    "EngineBox",
    "OcrCache",
    "file_digest",
    "resolve_engine",
]

logger = logging.getLogger(__name__)

#: One box the engine found: corners in the picture's pixels, text, score.
EngineBox = tuple[tuple[float, float, float, float], str, float]
#: What :func:`find_text` accepts as ``engine``.
Engine = str | Callable[[np.ndarray], Sequence[EngineBox]]
#: Results kept in memory per process (least recently used dropped first).
CACHE_ENTRIES = 4096

_ENGINES: dict[str, Any] = {}
_ENGINE_LOCK = threading.Lock()


class _RapidOcr:
    """RapidOCR 3.x, made once, called on RGB or grey 8-bit pictures."""

    def __init__(self) -> None:
        module = import_optional("rapidocr", extra="ocr", feature="find_text")
        import_optional("onnxruntime", extra="ocr", feature="find_text")
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                from importlib.metadata import version as dist_version

                version = dist_version("rapidocr")
            except Exception:  # pragma: no cover - metadata missing
                version = "unknown"
        self.name = f"rapidocr-{version}"
        # log level "error": RapidOCR logs every model it loads at "info"
        self._ocr = module.RapidOCR(params={"Global.log_level": "error"})
        self._lock = threading.Lock()

    def __call__(self, picture: np.ndarray) -> list[EngineBox]:
        image = np.asarray(picture)
        if image.ndim == 3:
            image = np.ascontiguousarray(image[..., ::-1])  # RGB -> BGR (cv2)
        with self._lock:  # one inference at a time: onnxruntime uses the cores
            result = self._ocr(image)
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        out: list[EngineBox] = []
        for quad, text, score in zip(boxes, texts, scores, strict=False):
            points = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            out.append(
                ((float(x0), float(y0), float(x1), float(y1)), str(text), float(score))
            )
        return out


def resolve_engine(
    engine: Engine, *, caller: str
) -> tuple[Callable[..., Any], str | None]:
    """Return the engine to call and its cache name (None: not cached).

    Raises
    ------
    MissingDependencyError
        For ``"rapidocr"`` without the ``ocr`` extra; the message names
        ``pip install 'deidscope[ocr]'``.
    InputError
        For an unknown engine name or an object that is not callable.
    """
    if isinstance(engine, str):
        if engine != "rapidocr":
            raise InputError(
                f"{caller}: engine must be 'rapidocr' or a callable, got {engine!r}"
            )
        with _ENGINE_LOCK:
            made = _ENGINES.get(engine)
            if made is None:
                made = _ENGINES[engine] = _RapidOcr()
        return made, made.name
    if not callable(engine):
        raise InputError(
            f"{caller}: engine must be 'rapidocr' or a callable, "
            f"got {type(engine).__name__}"
        )
    name = getattr(engine, "cache_name", None)
    return engine, (str(name) if name else None)


def file_digest(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OcrCache:
    """Engine results by key: in memory, and in a folder when given.

    Parameters
    ----------
    folder : str, os.PathLike or None
        Where results are kept between processes (created when needed).
    """

    _memory: ClassVar[OrderedDict[str, list[EngineBox]]] = OrderedDict()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is not None and not isinstance(folder, str | os.PathLike):
            raise InputError(
                "find_text: cache_dir must be a folder path, "
                f"got {type(folder).__name__}"
            )
        self.folder = None if folder is None else os.fspath(folder)
        if (
            self.folder is not None
            and os.path.exists(self.folder)
            and not os.path.isdir(self.folder)
        ):
            raise InputError(f"find_text: cache_dir {self.folder!r} is not a folder")

    @staticmethod
    def key(digest: str, frame: int, side: int, engine: str) -> str:
        """Return the key of one frame's result."""
        raw = f"{digest}:{frame}:{side}:{engine}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> list[EngineBox] | None:
        """Return a cached result, or None."""
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                return found
        if self.folder is None:
            return None
        path = os.path.join(self.folder, f"{key}.json")
        try:
            with open(path, encoding="utf-8") as fp:
                data = json.load(fp)
            boxes: list[EngineBox] = [
                ((float(b[0]), float(b[1]), float(b[2]), float(b[3])), str(t), float(s))
                for b, t, s in data["boxes"]
            ]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            logger.info("find_text: cache entry %s unreadable: %s", path, exc)
            return None
        self._remember(key, boxes)
        return boxes

    def put(self, key: str, boxes: list[EngineBox]) -> None:
        """Keep a result."""
        self._remember(key, boxes)
        if self.folder is None:
            return
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, f"{key}.json")
        temp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(temp, "w", encoding="utf-8") as fp:
                json.dump({"boxes": [[list(b), t, s] for b, t, s in boxes]}, fp)
            os.replace(temp, path)
        except OSError as exc:  # a cache that cannot be written is no error
            logger.info("find_text: cannot write cache entry %s: %s", path, exc)
            if os.path.exists(temp):
                os.unlink(temp)

    def _remember(self, key: str, boxes: list[EngineBox]) -> None:
        with self._lock:
            self._memory[key] = boxes
            self._memory.move_to_end(key)
            while len(self._memory) > CACHE_ENTRIES:
                self._memory.popitem(last=False)

    @classmethod
    def clear_memory(cls) -> None:
        """Forget every result kept in memory (the folder is left alone)."""
        with cls._lock:
            cls._memory.clear()
