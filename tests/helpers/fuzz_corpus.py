"""A seeded corpus of damaged DICOM files, and a way to read each one safely.

:func:`make_corpus` writes damaged copies of deid-data's and pydicom's test
files (and a few made from nothing) into a folder; the same seed always gives
the same bytes and labels. Each :class:`Case` says what a reader must do with
it (:attr:`Case.expect`):

- ``"same_or_error"``: the damage is certain (a cut, stray bytes, a length
  past the end): the file reads exactly as its clean source, or it is listed
  as an error. Never read as clean with fewer or other rows.
- ``"prefix_or_error"``: cut exactly between two top-level elements, which
  nothing in the file can tell: its rows are the first rows of the source's,
  or it is listed.
- ``"error"``: not DICOM at all (all zeros, text, a sequence never closed),
  or nested deeper than ``deidscope.files.MAX_DEPTH``.
- ``"readable"``: a well-formed data set (written without preamble or file
  meta, nested up to ``MAX_DEPTH`` levels): it must read, without error.
- ``"any"``: the damage may leave a valid file that says something else (a
  flipped tag bit, a wrong VR): the reader may list it or read it, but must
  not crash, hang or blow up.

:func:`run_isolated` runs a function in a forked child with a timeout and a
cap on its address space, so that a hang or a memory blow-up is a result,
not a lost test run.

The structure walker here is independent of deidscope's readers: it only
finds where elements, their headers and values sit, for explicit and
implicit VR little endian.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import random
import resource
import signal
import struct
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deidscope.files import MAX_DEPTH
from samples import deid_data_files, pydicom_test_files, short_id

__all__ = [
    "Case",
    "Element",
    "IsolatedResult",
    "element_bytes",
    "make_corpus",
    "nested_sequences",
    "part10",
    "run_isolated",
    "sources",
    "structure",
]

#: Sources larger than this are left out (they only slow the run).
MAX_SOURCE_SIZE = 1 << 20

_EXPLICIT_LE = b"1.2.840.10008.1.2.1"
_IMPLICIT_LE = b"1.2.840.10008.1.2"
_BIG_ENDIAN = b"1.2.840.10008.1.2.2"
_DEFLATED = b"1.2.840.10008.1.2.1.99"
_LONG_VRS = frozenset(
    b"OB OD OF OL OV OW SQ UC UN UR UT SV UV".split()
)  # explicit VRs with a 4-byte length
_ALL_VRS = (
    b"AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST "
    b"SV TM UC UI UL UN UR US UT UV"
).split()
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_MAX_NODES = 5000


@dataclasses.dataclass(frozen=True)
class Element:
    """Where one element (or item, or delimiter) sits in a file's bytes.

    Attributes
    ----------
    tag : int
        ``group << 16 | element``.
    offset : int
        Its first byte (the tag).
    vr_offset : int or None
        The two VR bytes (explicit VR only).
    length_offset, length_size : int
        The length field, 2 or 4 bytes.
    value_offset : int
        The first byte of its value.
    length : int
        The declared length (``0xFFFFFFFF`` when undefined).
    end : int
        One past its last byte (its delimiter's, when undefined).
    depth : int
        0 at the top level (file meta included), 1 inside an item, ...
    """

    tag: int
    offset: int
    vr_offset: int | None
    length_offset: int
    length_size: int
    value_offset: int
    length: int
    end: int
    depth: int


class _StopWalkError(Exception):
    """The walker cannot go on (damage, or an encoding it does not walk)."""


def _transfer_syntax(data: bytes, meta: list[Element]) -> bytes | None:
    for elem in meta:
        if elem.tag == 0x00020010:
            raw = data[elem.value_offset : elem.value_offset + elem.length]
            return raw.rstrip(b"\x00 ")
    return None


def structure(data: bytes) -> tuple[list[Element], int | None]:
    """Return the elements of a file, in order, and where its data set starts.

    Walks the file meta (explicit VR little endian) and a data set in
    explicit or implicit VR little endian, into sequences and items; big
    endian and deflated data sets are not walked (only their file meta is
    listed). Stops quietly at the first thing it does not understand.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    tuple of (list of Element, int or None)
        Every element found, in file order, and the offset of the data set
        after the file meta (None if it was not reached).
    """
    elements: list[Element] = []
    if data[128:132] == b"DICM":
        pos, explicit = 132, True
        pos = _walk(data, pos, explicit, elements, 0, group=0x0002)
        ts = _transfer_syntax(data, elements)
        if ts in (_BIG_ENDIAN, _DEFLATED) or ts is None:
            return elements, pos
        explicit = ts != _IMPLICIT_LE
    else:
        pos, explicit = 0, data[4:6] in _ALL_VRS
    start = pos
    _walk(data, pos, explicit, elements, 0)
    return elements, start


def _header(data: bytes, pos: int, explicit: bool, depth: int) -> tuple[Element, bool]:
    """Read the header at `pos`; return it (end as if defined) and if it is SQ."""
    if pos + 8 > len(data):
        raise _StopWalkError
    group, elem = struct.unpack_from("<HH", data, pos)
    tag = group << 16 | elem
    if tag in (_ITEM, _ITEM_END, _SEQ_END) or not explicit:
        (length,) = struct.unpack_from("<I", data, pos + 4)
        return (
            Element(tag, pos, None, pos + 4, 4, pos + 8, length, pos + 8, depth),
            False,
        )
    vr = data[pos + 4 : pos + 6]
    if vr not in _ALL_VRS:
        raise _StopWalkError
    if vr in _LONG_VRS:
        if pos + 12 > len(data):
            raise _StopWalkError
        (length,) = struct.unpack_from("<I", data, pos + 8)
        return (
            Element(tag, pos, pos + 4, pos + 8, 4, pos + 12, length, pos + 12, depth),
            vr == b"SQ",
        )
    (length,) = struct.unpack_from("<H", data, pos + 6)
    return Element(
        tag, pos, pos + 4, pos + 6, 2, pos + 8, length, pos + 8, depth
    ), False


def _walk(
    data: bytes,
    pos: int,
    explicit: bool,
    out: list[Element],
    depth: int,
    *,
    group: int | None = None,
    stop: int | None = None,
    until: int | None = None,
) -> int:
    """Walk elements from `pos` to `stop` (or a delimiter `until`); return the end."""
    end = len(data) if stop is None else stop
    try:
        while pos < end and len(out) < _MAX_NODES:
            if group is not None and struct.unpack_from("<H", data, pos)[0] != group:
                break
            head, is_sq = _header(data, pos, explicit, depth)
            if until is not None and head.tag == until:
                out.append(head)
                return head.value_offset
            index = len(out)
            out.append(head)
            value = head.value_offset
            if head.tag == _ITEM:
                if head.length == _UNDEFINED:
                    after = _walk(
                        data, value, explicit, out, depth + 1, until=_ITEM_END
                    )
                else:
                    after = value + head.length
                    _walk(data, value, explicit, out, depth + 1, stop=after)
            elif head.length == _UNDEFINED:  # a sequence, or encapsulated pixels
                if not is_sq and explicit and data[pos + 4 : pos + 6] != b"OB":
                    raise _StopWalkError
                after = _walk(data, value, explicit, out, depth, until=_SEQ_END)
            else:
                after = value + head.length
                if after > len(data):
                    raise _StopWalkError
                if is_sq:
                    _walk(data, value, explicit, out, depth, stop=after)
            out[index] = dataclasses.replace(head, end=after)
            pos = after
    except (_StopWalkError, struct.error):
        return len(data)
    return pos


def sources() -> tuple[str, ...]:
    """The clean files the corpus damages: deid-data and pydicom's, up to 1 MiB."""
    return tuple(
        f
        for f in deid_data_files() + pydicom_test_files()
        if os.path.getsize(f) <= MAX_SOURCE_SIZE
    )


def good_files() -> tuple[str, str]:
    """Two small clean files (deid-data's CT brains) read around a damaged one."""
    small = [f for f in deid_data_files() if "ctbrain" in f]
    return small[0], small[1]


def rows_of(df: Any, file: str) -> list[tuple[Any, ...]]:
    """The rows a frame of ``read_identifiers`` has for `file`, as tuples."""
    part = df[df["file"].astype(str) == file].drop(columns="file")
    return [tuple(row) for row in part.astype(object).itertuples(index=False)]


@dataclasses.dataclass(frozen=True)
class Case:
    """One damaged file.

    Attributes
    ----------
    label : str
        Short and unique: the kind of damage, where, and the source.
    path : Path
        The damaged file.
    source : str or None
        The clean file it was made from (None if made from nothing).
    expect : str
        What a reader must do with it (see the module documentation).
    """

    label: str
    path: Path
    source: str | None
    expect: str


def nested_sequences(
    depth: int, *, closed: bool = True, explicit: bool = True, defined: bool = False
) -> bytes:
    """A Part 10 file whose data set is `depth` sequences nested in each other.

    Each level is a ReferencedImageSequence (0008,1140) holding one item;
    the innermost item holds a PatientID. Undefined lengths (closed by
    delimiters unless `closed` is False) unless `defined`.
    """
    ts = _EXPLICIT_LE if explicit else _IMPLICIT_LE
    leaf = element_bytes(0x00100020, b"LO", b"NESTED01", explicit)
    body = leaf
    for _ in range(depth):
        if defined:
            item = struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
            body = _sq_header(explicit, len(item)) + item
        else:
            item = struct.pack("<HHI", 0xFFFE, 0xE000, _UNDEFINED) + body
            if closed:
                item += struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
            body = _sq_header(explicit, _UNDEFINED) + item
            if closed:
                body += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return part10(ts, element_bytes(0x00080060, b"CS", b"OT", explicit) + body)


def _sq_header(explicit: bool, length: int) -> bytes:
    if explicit:
        return struct.pack("<HH2sHI", 0x0008, 0x1140, b"SQ", 0, length)
    return struct.pack("<HHI", 0x0008, 0x1140, length)


def element_bytes(tag: int, vr: bytes, value: bytes, explicit: bool = True) -> bytes:
    """One element, as written in explicit (or implicit) VR little endian."""
    if len(value) % 2:
        value += b" "
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in _LONG_VRS:
        return head + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + vr + struct.pack("<H", len(value)) + value


def part10(ts: bytes, dataset: bytes) -> bytes:
    """A preamble, file meta for transfer syntax `ts` (a UID), and `dataset`."""
    uid = b"1.2.826.0.1.3680043.8.498.1"
    meta = (
        element_bytes(0x00020001, b"OB", b"\x00\x01", True)
        + element_bytes(0x00020002, b"UI", b"1.2.840.10008.5.1.4.1.1.7\x00", True)
        + element_bytes(0x00020003, b"UI", uid + b"\x00", True)
        + element_bytes(0x00020010, b"UI", ts + (b"\x00" if len(ts) % 2 else b""), True)
    )
    group_length = element_bytes(0x00020000, b"UL", struct.pack("<I", len(meta)), True)
    return b"\x00" * 128 + b"DICM" + group_length + meta + dataset


def _bad_charsets() -> Iterator[tuple[str, bytes, str]]:
    """Files whose SpecificCharacterSet is unknown, or lies about the text."""
    cases = [
        ("unknown", b"ISO_IR 999", b"Doe^J\xe9r\xf4me"),
        ("garbage", b"\xff\xfe\x00\x01", b"Doe^John"),
        ("iso2022-bad-escape", b"\\ISO 2022 IR 87", b"Doe\x1b$B\xff\xff\x1b(B"),
        ("utf8-invalid", b"ISO_IR 192", b"Doe^\xc3\x28\xa0\xa1"),
        ("multi-empty", b"\\\\\\", b"Doe^John"),
    ]
    for name, charset, person in cases:
        body = (
            element_bytes(0x00080005, b"CS", charset, True)
            + element_bytes(0x00080060, b"CS", b"OT", True)
            + element_bytes(0x00100010, b"PN", person, True)
            + element_bytes(0x00100020, b"LO", person, True)
            + element_bytes(0x00324000, b"LT", person * 3, True)
        )
        yield f"charset-{name}", part10(_EXPLICIT_LE, body), "any"


def _not_dicom(rng: random.Random) -> Iterator[tuple[str, bytes, str]]:
    for size in (0, 1, 7, 8, 128, 132, 140, 1000, 5000):
        yield f"zeros-{size}", b"\x00" * size, "error"
    yield "text", b"Patient list\nnot a DICOM file\n" * 40, "error"
    yield (
        "png",
        b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(300)),
        "error",
    )
    yield "zip", b"PK\x03\x04" + b"\x00" * 200, "error"
    yield "json", b'{"PatientName": "Doe^John"}\n', "error"
    yield "random", bytes(rng.randrange(256) for _ in range(2000)), "any"
    yield "dicm-only", b"\x00" * 128 + b"DICM", "error"
    yield "dicm-zeros", b"\x00" * 128 + b"DICM" + b"\x00" * 64, "any"
    yield "dicm-ff", b"\x00" * 128 + b"DICM" + b"\xff" * 64, "error"


def _synthetic(rng: random.Random) -> Iterator[tuple[str, bytes, str]]:
    yield from _not_dicom(rng)
    yield from _bad_charsets()
    for depth in (50, MAX_DEPTH, MAX_DEPTH + 1, 600, 2000):
        # deeper than deidscope reads (MAX_DEPTH): refused, with a reason
        expect = "readable" if depth <= MAX_DEPTH else "error"
        yield f"nested-{depth}-closed", nested_sequences(depth), expect
        yield (
            f"nested-{depth}-never-closed",
            nested_sequences(depth, closed=False),
            "error",
        )
    yield "nested-100-implicit", nested_sequences(100, explicit=False), "readable"
    yield "nested-600-implicit", nested_sequences(600, explicit=False), "error"
    yield "nested-300-defined", nested_sequences(300, defined=True), "error"
    yield (
        "nested-1-never-closed",
        nested_sequences(1, closed=False),
        "error",
    )


def _no_meta(source: str, rng: random.Random) -> Iterator[tuple[str, bytes, str]]:
    """The data set of `source` alone, from a chosen group on (no preamble/meta)."""
    import warnings

    import pydicom
    from pydicom.filebase import DicomBytesIO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield from _no_meta_parts(source, rng, pydicom, DicomBytesIO)


def _no_meta_parts(
    source: str, rng: random.Random, pydicom: Any, bytes_io: Any
) -> Iterator[tuple[str, bytes, str]]:
    try:
        ds = pydicom.dcmread(source, force=True)
        tags = [t for t in ds if t.group != 0x0002 and t.group < 0x7FE0]
    except Exception:
        return
    groups = sorted({t.group for t in tags})
    if not groups:
        return
    for group in rng.sample(groups, min(2, len(groups))):
        for explicit in (True, False):
            part = pydicom.Dataset()
            for tag in tags:
                if tag.group >= group:
                    part[tag] = ds[tag]
            buffer = bytes_io()
            buffer.is_little_endian = True
            buffer.is_implicit_VR = not explicit
            try:
                pydicom.filewriter.write_dataset(buffer, part)
            except Exception:
                continue
            kind = "explicit" if explicit else "implicit"
            yield f"nometa-{kind}-from-{group:04x}", buffer.getvalue(), "readable"


def _damage(data: bytes, rng: random.Random) -> tuple[str, bytes, str] | None:
    """One seeded damage of `data`: (what, damaged bytes, expectation)."""
    elements, start = structure(data)
    if not elements:
        return None
    kind = rng.choice(
        ["cut"] * 6 + ["flip", "overwrite", "length", "length", "vr", "stray"]
    )
    elem = rng.choice(elements)
    where = f"{elem.tag:08x}@{elem.offset}"
    size = len(data)
    if kind == "cut":
        points = {
            "boundary": elem.offset,
            "in-tag": elem.offset + rng.randrange(1, 4),
            "in-header": elem.offset
            + rng.randrange(4, elem.value_offset - elem.offset),
            "before-value": elem.value_offset,
        }
        if elem.length not in (0, _UNDEFINED) and elem.end > elem.value_offset + 1:
            points["in-value"] = rng.randrange(elem.value_offset + 1, elem.end)
        point = rng.choice(sorted(points))
        cut = points[point]
        if cut <= 0 or cut >= size:
            return None
        boundary = point == "boundary" or (point == "before-value" and elem.length == 0)
        if boundary and elem.depth == 0 and start is not None and cut > start:
            expect = "prefix_or_error"
        elif boundary and start is not None and cut == start:
            expect = "same_or_error"  # file meta and no data set
        else:
            expect = "same_or_error"
        return f"cut-{point}-{where}", data[:cut], expect
    if kind == "stray":
        count = rng.choice([1, 2, 3, 4, 5, 6, 7, 7, 9, 13])
        tail = bytes(rng.randrange(256) for _ in range(count))
        return f"stray-{count}", data + tail, "same_or_error" if count < 8 else "any"
    buf = bytearray(data)
    if kind == "flip":
        span = elem.value_offset - elem.offset
        byte = elem.offset + rng.randrange(span)
        bit = rng.randrange(8)
        buf[byte] ^= 1 << bit
        return f"flip-{byte - elem.offset}.{bit}-{where}", bytes(buf), "any"
    if kind == "overwrite":
        span = elem.value_offset - elem.offset
        byte = elem.offset + rng.randrange(span)
        buf[byte] = rng.choice([0x00, 0xFF, 0x7F, rng.randrange(256)])
        return f"overwrite-{byte - elem.offset}-{where}", bytes(buf), "any"
    if kind == "vr":
        if elem.vr_offset is None:
            return None
        old = data[elem.vr_offset : elem.vr_offset + 2]
        new = rng.choice([vr for vr in _ALL_VRS if vr != old])
        buf[elem.vr_offset : elem.vr_offset + 2] = new
        return f"vr-{old.decode()}-{new.decode()}-{where}", bytes(buf), "any"
    # kind == "length"
    fmt = "<I" if elem.length_size == 4 else "<H"
    top = 0xFFFFFFFF if elem.length_size == 4 else 0xFFFF
    choice = rng.choice(["ffff", "past-end", "zero", "odd"])
    if choice == "ffff":
        new_length, expect = top, "any"
    elif choice == "past-end":
        new_length = min(top - 1, size - elem.value_offset + rng.randrange(1, 5000))
        # past the end only if it fits the field (2-byte lengths may not reach)
        past = elem.value_offset + new_length > size
        expect = "same_or_error" if past and new_length != _UNDEFINED else "any"
    elif choice == "zero":
        new_length, expect = 0, "any"
    else:
        new_length, expect = (
            min(top - 1, elem.length + 1 if elem.length != top else 1),
            "any",
        )
    if new_length == elem.length:
        return None
    struct.pack_into(fmt, buf, elem.length_offset, new_length)
    return f"length-{choice}-{where}", bytes(buf), expect


def make_corpus(
    folder: Path, seed: int, count: int = 300, *, synthetic: bool = True
) -> list[Case]:
    """Write a seeded corpus of damaged files into `folder`; return its cases.

    About a fifth of the cases are made from nothing (all-zero and non-DICOM
    files, bad character sets, sequences nested hundreds or thousands deep,
    closed or never closed); a tenth are data sets written without preamble
    or file meta, starting at a chosen group; the rest damage the sources
    (:func:`sources`) at a seeded structural point: cuts at every kind of
    point, bit flips and byte overwrites in tags, VRs and lengths, lengths
    of ``0xFFFFFFFF`` or past the end, wrong VRs, stray bytes at the end.

    Parameters
    ----------
    folder : Path
        Where to write (created if need be); file names are ``NNNN.dcm``.
    seed : int
        The same seed gives the same files and labels.
    count : int, optional
        How many cases (default 300); the synthetic ones come first.
    synthetic : bool, optional
        Include the cases made from nothing (default True; about 40, the
        same for every seed but the random bytes).

    Returns
    -------
    list of Case
        The cases, in a fixed order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made: list[tuple[str, bytes, str | None, str]] = [
        (label, data, None, expect)
        for label, data, expect in (_synthetic(rng) if synthetic else ())
    ]
    files = sources()
    no_meta = max(1, (count - len(made)) // 10)
    for source in rng.sample(files, min(no_meta // 4 + 1, len(files))):
        for label, data, expect in _no_meta(source, rng):
            made.append((f"{label}-{short_id(source)}", data, source, expect))
    cache: dict[str, bytes] = {}
    labels = {m[0] for m in made}
    attempts = 0
    while len(made) < count and attempts < count * 20:
        attempts += 1
        source = rng.choice(files)
        data = cache.get(source)
        if data is None:
            data = cache[source] = Path(source).read_bytes()
        damaged = _damage(data, rng)
        if damaged is None:
            continue
        what, out, expect = damaged
        label = f"{what}-{short_id(source)}"
        if label in labels or out == data:
            continue
        labels.add(label)
        made.append((label, out, source, expect))
    cases = []
    for number, (label, data, source, expect) in enumerate(made[:count]):
        path = folder / f"{number:04d}.dcm"
        path.write_bytes(data)
        cases.append(Case(label, path, source, expect))
    return cases


@dataclasses.dataclass(frozen=True)
class IsolatedResult:
    """What :func:`run_isolated` saw.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"raised"`` (the function raised: `value` is the
        traceback text), ``"timeout"`` (killed), ``"memory"`` (MemoryError
        under the cap) or ``"died"`` (killed by a signal, or exited).
    value : Any
        The function's result (``"ok"``) or a description.
    """

    status: str
    value: Any


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0  # pragma: no cover - not Linux


def run_isolated(
    func: Callable[..., Any],
    *args: Any,
    timeout: float = 20.0,
    memory: int = 1 << 30,
) -> IsolatedResult:
    """Run ``func(*args)`` in a forked child with a timeout and a memory cap.

    The child's address space may grow by `memory` bytes over this
    process's (``RLIMIT_AS``); its result comes back pickled.

    Parameters
    ----------
    func : callable
        Run in the child; its result must pickle.
    *args
        Its arguments.
    timeout : float, optional
        Seconds before the child is killed (default 20).
    memory : int, optional
        Bytes the child may allocate beyond what this process holds
        (default 1 GiB).

    Returns
    -------
    IsolatedResult
        The status and the result or the reason.
    """
    limit = _address_space() + memory
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 0
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            try:
                outcome: tuple[str, Any] = ("ok", func(*args))
            except MemoryError:
                outcome = ("memory", "MemoryError under the cap")
            except BaseException:
                outcome = ("raised", traceback.format_exc())
            try:
                payload = pickle.dumps(outcome)
            except Exception:
                payload = pickle.dumps(("raised", traceback.format_exc()))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    import select

    chunks: list[bytes] = []
    deadline = _now() + timeout
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            left = deadline - _now()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return IsolatedResult("timeout", f"no answer after {timeout} s")
            ready, _, _ = select.select([pipe], [], [], left)
            if not ready:
                continue
            chunk = pipe.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, code = os.waitpid(pid, 0)
    if not chunks:
        return IsolatedResult("died", f"child ended with wait status {code}")
    status, value = pickle.loads(b"".join(chunks))
    return IsolatedResult(status, value)


def _now() -> float:
    import time

    return time.monotonic()
