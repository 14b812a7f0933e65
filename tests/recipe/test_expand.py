"""Field expressions match exactly what deid's expand_field_expression matches."""

from __future__ import annotations

import warnings

import pydicom
import pytest
from deid.dicom.fields import expand_field_expression, get_fields_with_lookup

from _recipe_helpers import quiet
from deidscope import read_identifiers
from deidscope.errors import InputError
from deidscope.fields import DEFAULT_SKIP, normalize_uid
from deidscope.recipe._expand import check_expression, frame_keys, split_expander
from samples import all_sample_files, short_id

EXPRESSIONS = [
    "all",
    "ALL",
    "PatientName",
    "patientname",
    "(0010,0010)",
    "00100010",
    "Patient's Name",
    "ReferencedSOPInstanceUID",
    "(0008,1140)__0__(0008,1150)",
    "contains:Date",
    "contains:name",
    "contains:0019",
    "contains:GEMS",
    "contains:\\[",
    "contains:Overlay",
    "contains:^$",
    "startswith:Patient",
    "startswith:\\(0009",
    "startswith:0028",
    "endswith:ID",
    "endswith:Sequence",
    "endswith:__",
    "except:UID",
    "except:Manufacturer|Date",
    "select:VR:PN",
    "select:vr:ui",
    "select:VR:SQ",
    "select:group:0009",
    "select:group:7fe0",
    "select:tag:0010",
    "unknown:x",
    '(0009,"GEMS_IDEN_01",04)',
    '0009,"GEMS_IDEN_01",04',
    "Private tag data",
]


def _deid_matches(path: str) -> dict[str, set[str]]:
    with quiet():
        ds = pydicom.dcmread(path, force=True)
        contenders = get_fields_with_lookup(ds)
        skipped = {
            normalize_uid(uid)
            for uid, field in contenders.items()
            if field.element.keyword in DEFAULT_SKIP
        }
        result = {}
        for expression in EXPRESSIONS:
            found = expand_field_expression(expression, ds, contenders)
            result[expression] = {
                normalize_uid(uid)
                for uid in found
                if not any(
                    normalize_uid(uid) == s or normalize_uid(uid).startswith(s + "__")
                    for s in skipped
                )
            }
        creators = {
            normalize_uid(uid)
            for uid, field in contenders.items()
            if field.element.is_private and field.element.private_creator is None
        }
    return result | {"<no creator>": creators}


@pytest.mark.parity
@pytest.mark.parametrize("path", all_sample_files(), ids=short_id)
def test_expressions_match_what_deid_matches(path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_identifiers(path, errors="ignore")
    keys, rowkey = frame_keys(df)
    theirs = _deid_matches(path)
    # pydicom leaves private_creator unset on a private sequence read whole
    # (undefined length); deidscope's walk knows its creator, deid does not.
    # Only expressions that read the creator can differ there.
    no_creator = theirs.pop("<no creator>")
    creator_rows = df.private_creator.notna() & df.uid.astype(str).isin(no_creator)
    uncertain = set(df.uid[creator_rows].astype(str))
    for expression, expected in theirs.items():
        ours = set(df.uid[keys.match(expression)[rowkey]].astype(str))
        assert ours - uncertain == expected - uncertain, expression


def test_the_sample_files_exercise_the_expressions() -> None:
    path = next(f for f in all_sample_files() if f.endswith("CT_small.dcm"))
    df = read_identifiers(path)
    keys, rowkey = frame_keys(df)
    assert keys.match('(0009,"GEMS_IDEN_01",04)')[rowkey].sum() == 1
    assert keys.match("select:group:0009")[rowkey].sum() > 3
    assert 0 < keys.match("except:UID")[rowkey].sum() < len(df)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("contains:Date", ("contains", "Date")),
        ("select:VR:PN", ("select", "VR:PN")),
        (
            'contains:(0021,"Siemens: Thorax",15)',
            ("contains", '(0021,"Siemens: Thorax",15)'),
        ),
        ('(0021,"Siemens: Thorax",15)', None),
        ("PatientName", None),
    ],
    ids=["simple", "select", "quoted-colon-after", "quoted-colon", "plain"],
)
def test_split_expander(field: str, expected: tuple[str, str] | None) -> None:
    assert split_expander(field) == expected


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("contains:(", "is not a regular expression"),
        ("startswith:(0009", "is not a regular expression"),
        ("select:group:zz", "needs a hex group"),
        ("select:VR", "needs 'VR:<vr>'"),
    ],
    ids=["paren", "startswith-paren", "bad-group", "no-value"],
)
def test_expressions_deid_fails_on(field: str, message: str) -> None:
    assert message in (check_expression(field) or "")
    df = read_identifiers(next(f for f in all_sample_files() if "cookies" in f))
    keys, _ = frame_keys(df)
    with pytest.raises(InputError, match=message):
        keys.match(field)
