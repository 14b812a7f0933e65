"""Tags, uids, DicomField, FieldMap and the walk."""

from __future__ import annotations

import re

import pytest
from deid.dicom.fields import DicomField as DeidField
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from deidscope.errors import InputError
from deidscope.fields import (
    DEFAULT_SKIP,
    DicomField,
    FieldMap,
    format_tag,
    format_uid,
    is_tag_text,
    iter_fields,
    normalize_uid,
    parse_tag,
    private_name,
)
from samples import nested_dataset


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("(0010, 0010)", 0x00100010),
        ("(0010,0010)", 0x00100010),
        ("(0020,000D)", 0x0020000D),
        ("00100010", 0x00100010),
        ("0x0020000d", 0x0020000D),
        ("PatientName", 0x00100010),
        (0x7FE00010, 0x7FE00010),
    ],
    ids=["spec", "pydicom3", "upper", "bare", "0x", "keyword", "int"],
)
def test_parse_tag_accepts_every_form(text: str | int, tag: int) -> None:
    assert parse_tag(text) == tag


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NotAKeyword", "not a tag"),
        ("(0010)", "not a tag"),
        (-1, "not a 32-bit"),
        (2**32, "not a 32-bit"),
        (1.5, "expected a tag as str or int"),
    ],
    ids=["unknown-keyword", "half-tag", "negative", "too-big", "float"],
)
def test_parse_tag_rejects_with_a_clear_message(text: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_tag(text)  # type: ignore[arg-type]


def test_format_tag_is_the_spec_form() -> None:
    assert format_tag(0x0020000D) == "(0020, 000d)"
    assert format_tag(0x7FE00010) == "(7fe0, 0010)"


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        ("(0008,1115)__0__(0008,1150)", "(0008, 1115)__0__(0008, 1150)"),
        ("00081115__12__00081150", "(0008, 1115)__12__(0008, 1150)"),
        ("(0010, 0010)", "(0010, 0010)"),
    ],
    ids=["deid-pydicom3", "bare", "spec"],
)
def test_normalize_uid(uid: str, expected: str) -> None:
    assert normalize_uid(uid) == expected


@pytest.mark.parametrize(
    ("uid", "message"),
    [
        ("(0008,1115)__x__(0008,1150)", "expected an item index"),
        ("PatientName", "is not a tag"),
    ],
    ids=["bad-index", "keyword"],
)
def test_normalize_uid_rejects(uid: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize_uid(uid)


def test_format_uid_and_private_name() -> None:
    assert format_uid([0x00081115, 0, 0x00081150]) == "(0008, 1115)__0__(0008, 1150)"
    assert private_name(0x00091004, "GEMS_IDEN_01") == '(0009,"GEMS_IDEN_01",04)'
    assert is_tag_text("(0009,1004)")
    assert not is_tag_text('(0009,"X",04)')


def test_dicomfield_repr_is_the_spec_form() -> None:
    field = DicomField(
        DataElement(0x00100010, "PN", "falling disk"), "PatientName", "(0010, 0010)"
    )
    assert repr(field) == (
        "(0010, 0010) Patient's Name                      PN: 'falling disk'"
        "  [PatientName]"
    )
    assert field.tag == "(0010, 0010)"
    assert field.stripped_tag == "00100010"
    assert field.is_filemeta is False


def test_dicomfield_loads_a_lazy_element_once() -> None:
    calls: list[int] = []

    def load() -> DataElement:
        calls.append(1)
        return DataElement(0x00100020, "LO", "ID-1")

    field = DicomField(load, "PatientID", "(0010, 0020)")
    assert calls == []
    assert field.element.value == "ID-1"
    assert field.element.value == "ID-1"
    assert calls == [1]


_EXPRESSIONS = [
    "patient",
    "Patient's Name",
    "PatientN",
    "(0010,0010)",
    "00100010",
    "^Patient",
    "Name$",
    "Referenced",
    "gems",
    '0009,"GEMS_IDEN_01",04',
    '(0009,"GEMS_IDEN_01",04)',
    "nothing-matches-this",
]
_VALUES = ["falling", "FALLING", "disk$", "^fall", "1.2", "0", "nothing"]
_SELECTS = [
    "VR:PN",
    "vr:pn",
    "VR:LO",
    "group:0010",
    "GROUP:0009",
    "group:0008",
    "other:x",
]


def _field_pairs() -> list[tuple[DicomField, DeidField]]:
    name = DataElement(0x00100010, "PN", "falling disk")
    private = DataElement(0x00091004, "SH", "CT01")
    private.private_creator = "GEMS_IDEN_01"
    multi = DataElement(0x00080008, "CS", ["ORIGINAL", "PRIMARY"])
    nested = DataElement(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2")
    cases = [
        (name, "PatientName", "(0010, 0010)"),
        (private, '(0009,"GEMS_IDEN_01",04)', "(0009, 1004)"),
        (multi, "ImageType", "(0008, 0008)"),
        (
            nested,
            "ReferencedImageSequence__ReferencedSOPClassUID",
            "(0008, 1140)__0__(0008, 1150)",
        ),
    ]
    return [(DicomField(e, n, u), DeidField(e, n, u)) for e, n, u in cases]


@pytest.mark.parity
@pytest.mark.parametrize("expression", _EXPRESSIONS)
def test_name_contains_matches_deid(expression: str) -> None:
    for ours, theirs in _field_pairs():
        # deid's name for a private element is "", ours carries the creator form;
        # compare on the element-level candidates by giving deid ours
        theirs.name = ours.name
        assert ours.name_contains(expression) == theirs.name_contains(expression), (
            ours.uid,
            expression,
        )
        compiled = re.compile(expression, re.IGNORECASE)
        assert ours.name_contains(compiled) == theirs.name_contains(compiled)


@pytest.mark.parity
@pytest.mark.parametrize("expression", _VALUES)
def test_value_contains_matches_deid(expression: str) -> None:
    for ours, theirs in _field_pairs():
        assert ours.value_contains(expression) == theirs.value_contains(expression)


@pytest.mark.parity
@pytest.mark.parametrize("expression", _SELECTS)
def test_select_matches_matches_deid(expression: str) -> None:
    for ours, theirs in _field_pairs():
        assert ours.select_matches(expression) == theirs.select_matches(expression)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("expression", "message"),
    [("VR", "expected 'VR:<vr>'"), ("group:xyz", "group must be hex")],
    ids=["no-colon", "bad-group"],
)
def test_select_matches_rejects(expression: str, message: str) -> None:
    field = _field_pairs()[0][0]
    with pytest.raises(InputError, match=message):
        field.select_matches(expression)


def test_fieldmap_finds_a_field_by_every_key_form() -> None:
    ds = nested_dataset()
    ds.PatientName = "Doe^Jane"
    from deidscope.dicom import fields_of

    fields = fields_of(ds)
    assert isinstance(fields, FieldMap)
    spec = fields["(0010, 0010)"]
    assert fields["(0010,0010)"] is spec
    assert fields["00100010"] is spec
    assert fields["PatientName"] is spec
    assert "PatientName" in fields
    assert "(0010,0010)" in fields
    nested = "(0008, 1140)__0__(0008, 1155)"
    assert fields["(0008,1140)__0__(0008,1155)"] is fields[nested]
    assert fields.get("00081140__0__00081155") is fields[nested]
    # keywords find top-level fields only
    assert "ReferencedSOPInstanceUID" not in fields
    assert fields.get("ReferencedSOPInstanceUID") is None
    with pytest.raises(KeyError, match="StudyDate"):
        fields["StudyDate"]
    assert next(iter(fields)) == "(0008, 1140)"  # keys are the spec form, in walk order
    assert fields.error is None


def test_iter_fields_walks_in_deids_order_with_nested_names() -> None:
    walked = list(iter_fields(nested_dataset()))
    uids = [w.uid for w in walked]
    assert uids == [
        "(0008, 1140)",
        "(0009, 0010)",
        "(0009, 1001)",
        "(0009, 1002)",
        "(0008, 1140)__0__(0008, 1150)",
        "(0008, 1140)__0__(0008, 1155)",
        "(0008, 1140)__0__(0040, a170)",
        "(0008, 1140)__1__(0008, 1150)",
        "(0008, 1140)__1__(0008, 1155)",
        "(0008, 1140)__0__(0040, a170)__0__(0008, 0100)",
        "(0008, 1140)__0__(0040, a170)__0__(0008, 0104)",
    ]
    by_uid = {w.uid: w for w in walked}
    assert by_uid["(0009, 1001)"].name == '(0009,"DEIDSCOPE TEST",01)'
    assert by_uid["(0009, 1001)"].private_creator == "DEIDSCOPE TEST"
    assert by_uid["(0009, 0010)"].name == "(0009,0010)"
    assert by_uid["(0009, 0010)"].private_creator is None
    deep = by_uid["(0008, 1140)__0__(0040, a170)__0__(0008, 0104)"]
    assert deep.name == (
        "ReferencedImageSequence__PurposeOfReferenceCodeSequence__CodeMeaning"
    )
    assert deep.depth == 2
    assert deep.keyword == "CodeMeaning"
    assert by_uid["(0008, 1140)"].vr == "SQ"


def test_iter_fields_without_sequences_lists_the_sequence_only() -> None:
    uids = [w.uid for w in iter_fields(nested_dataset(), expand_sequences=False)]
    assert uids == ["(0008, 1140)", "(0009, 0010)", "(0009, 1001)", "(0009, 1002)"]


@pytest.mark.parametrize(
    "skip",
    [
        ["ReferencedImageSequence"],
        ["(0008, 1140)"],
        ["(0008,1140)"],
        [0x00081140],
    ],
    ids=["keyword", "spec-tag", "pydicom3-tag", "int"],
)
def test_iter_fields_skips_a_sequence_and_its_items(skip: list[str | int]) -> None:
    uids = [w.uid for w in iter_fields(nested_dataset(), skip=skip)]
    assert uids == ["(0009, 0010)", "(0009, 1001)", "(0009, 1002)"]


def test_default_skip_matches_nested_elements_too() -> None:
    icon = Dataset()
    icon.Rows = 1
    icon.PixelData = b"\x00\x01"
    ds = Dataset()
    ds.IconImageSequence = [icon]
    ds.PixelData = b"\x00\x00"
    uids = [w.uid for w in iter_fields(ds, skip=DEFAULT_SKIP)]
    assert uids == ["(0088, 0200)", "(0088, 0200)__0__(0028, 0010)"]


def test_iter_fields_leaves_the_dataset_unchanged() -> None:
    ds = nested_dataset()
    before = ds.to_json_dict()
    list(iter_fields(ds))
    assert ds.to_json_dict() == before
    assert not hasattr(ds, "prefix")  # deid writes these onto the datasets
    assert not hasattr(ds, "uid")


def test_fields_of_does_not_change_the_dataset_it_is_given() -> None:
    from deidscope.dicom import fields_of

    ds = Dataset()
    ds.add_new(0x00091001, "LO", "Private^Name")  # before its creator:
    ds.add_new(0x00090010, "LO", "DEIDSCOPE TEST")  # pydicom leaves it unset
    assert ds[0x00091001].private_creator is None
    fields = fields_of(ds)
    field = fields["(0009, 1001)"]
    assert field.name == '(0009,"DEIDSCOPE TEST",01)'
    assert field.element.private_creator == "DEIDSCOPE TEST"
    assert field.element.value == "Private^Name"
    assert ds[0x00091001].private_creator is None  # the caller's element
