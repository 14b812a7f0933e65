"""deidscope.dicom.replace_identifiers: deid parity, writing rules, failures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest

from _recipe_helpers import (
    DATA,
    LOOKUP,
    deid_result,
    frame_values,
    parity_files,
    quiet,
    shipped_recipes,
    without_followers,
)
from deidscope import read_identifiers, to_frame
from deidscope.dicom import fields_of, replace_identifiers
from deidscope.errors import InputError, ReadError, ReplaceErrorsWarning
from deidscope.recipe import Recipe, RecipeFunctionError

_RECIPES = [
    *sorted((DATA / "stress").glob("*.dicom")),
    *[p for p in shipped_recipes() if p.name == "deid.dicom"],
    DATA / "examples" / "deid.dicom",
    DATA / "examples" / "deid.dicom-private-creator-syntax",
]


def _recipe(*lines: str) -> Recipe:
    return Recipe.from_text("FORMAT dicom\n%header\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def files() -> list[str]:
    return parity_files()


@pytest.fixture
def tree(tmp_path: Path, cookie_files: list[str]) -> list[str]:
    """Cookies copied into two sub-folders of a tree, as inputs we may write over."""
    paths = []
    for i, source in enumerate(cookie_files[:4]):
        target = tmp_path / "in" / f"series{i % 2}" / os.path.basename(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        paths.append(str(target))
    return paths


@pytest.mark.parity
@pytest.mark.parametrize("path", _RECIPES, ids=lambda p: p.name)
def test_datasets_as_deid_leaves_them(path: Path, files: list[str]) -> None:
    result = replace_identifiers(files, deid=path, lookup=LOOKUP)
    assert result.errors.empty
    ours: dict[tuple[str, str], str] = {}
    for file, ds in zip(files, result, strict=True):
        ours.update(frame_values(to_frame({file: fields_of(ds)})))
    mine, deids = without_followers(ours, deid_result(path, files))
    assert mine == deids


@pytest.mark.parity
def test_written_files_as_deid_writes_them(files: list[str], tmp_path: Path) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers as deid_replace

    recipe = DATA / "stress" / "expanders.dicom"
    cookies = [f for f in files if "cookies" in f]
    written = replace_identifiers(
        cookies, deid=recipe, save=True, output_folder=tmp_path / "ours", lookup=LOOKUP
    )
    (tmp_path / "deid").mkdir()
    with quiet():
        theirs = deid_replace(
            cookies,
            deid=DeidRecipe(str(recipe)),
            save=True,
            output_folder=str(tmp_path / "deid"),
            ids={f: dict(LOOKUP) for f in cookies},
        )
    for mine, other in zip(written, theirs, strict=True):
        assert os.path.basename(mine) == os.path.basename(other)
        with quiet():  # the recipe sets SpecificCharacterSet to ZZ
            a, b = pydicom.dcmread(mine), pydicom.dcmread(other)
            # the one difference: deidscope writes a new file meta (see
            # test_written_files_get_a_new_file_meta_and_a_zeroed_preamble)
            ours, deids = (
                {
                    k: v
                    for k, v in frame_values(to_frame({"f": fields_of(ds)})).items()
                    if not k[1].startswith("(0002,")
                }
                for ds in (a, b)
            )
            assert ours == deids
        assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
        assert a.preamble == bytes(128)
        assert a.PixelData == b.PixelData
        assert a.SpecificCharacterSet == "ZZ"


def test_folder_structure_is_kept_and_inputs_untouched(
    tree: list[str], tmp_path: Path
) -> None:
    before = [Path(p).read_bytes() for p in tree]
    out = tmp_path / "out"
    written = replace_identifiers(
        tree, deid=_recipe("REPLACE PatientName Anon"), save=True, output_folder=out
    )
    assert [os.path.relpath(p, out) for p in written] == [
        os.path.relpath(p, tmp_path / "in") for p in tree
    ]
    assert all(pydicom.dcmread(p).PatientName == "Anon" for p in written)
    assert [Path(p).read_bytes() for p in tree] == before
    leftovers = [p for p in out.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert leftovers == []


def test_existing_outputs_need_overwrite(tree: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    recipe = _recipe("REPLACE PatientName Anon")
    replace_identifiers(tree, deid=recipe, save=True, output_folder=out)
    failed = "4 of 4 files could not be de-identified"
    with pytest.warns(ReplaceErrorsWarning, match=failed):
        again = replace_identifiers(tree, deid=recipe, save=True, output_folder=out)
    assert list(again) == [None] * 4
    assert again.errors.error.str.contains("pass overwrite=True").all()
    assert all(
        replace_identifiers(
            tree, deid=recipe, save=True, output_folder=out, overwrite=True
        )
    )


def test_inputs_are_replaced_only_when_asked(tree: list[str]) -> None:
    recipe = _recipe("REPLACE PatientName Anon")
    folder = os.path.dirname(tree[0])
    with pytest.warns(ReplaceErrorsWarning):
        refused = replace_identifiers(
            tree[:1], deid=recipe, save=True, output_folder=folder
        )
    assert refused.errors.error.str.contains("overwrite").all()
    assert pydicom.dcmread(tree[0]).PatientName != "Anon"
    written = replace_identifiers(tree, deid=recipe, save=True, overwrite=True)
    assert written == tree
    assert all(pydicom.dcmread(p).PatientName == "Anon" for p in tree)


def test_without_output_folder_a_temporary_folder_as_deid(tree: list[str]) -> None:
    written = replace_identifiers(tree[:1], deid=_recipe("REMOVE PatientID"), save=True)
    assert os.path.dirname(written[0]) != os.path.dirname(tree[0])
    assert "PatientID" not in pydicom.dcmread(written[0])
    assert "PatientID" in pydicom.dcmread(tree[0])


def test_a_bad_file_is_reported_and_the_others_written(
    tree: list[str], tmp_path: Path
) -> None:
    bad = Path(tree[0]).parent / "broken.dcm"
    bad.write_text("not a DICOM file at all, but named like one")
    inputs = [tree[0], str(bad), tree[1]]
    failed = "1 of 3 files could not be de-identified"
    with pytest.warns(ReplaceErrorsWarning, match=failed):
        written = replace_identifiers(
            inputs,
            deid=_recipe("REMOVE PatientID"),
            save=True,
            output_folder=tmp_path / "o",
        )
    assert written[1] is None
    assert written[0]
    assert written[2]
    assert written.errors.file.tolist() == [str(bad)]
    with pytest.raises(ReadError, match=r"broken\.dcm"):
        replace_identifiers(inputs, deid=_recipe("REMOVE PatientID"), errors="raise")


def test_sop_uid_remapping_is_consistent_across_a_study(tmp_path: Path) -> None:
    from samples import write_dicom

    study = "1.2.826.0.1.3680043.10.1"
    paths = [
        write_dicom(tmp_path / f"{i}.dcm", StudyInstanceUID=study) for i in range(3)
    ]
    recipe = _recipe(
        "REPLACE StudyInstanceUID deid_func:dicom_uuid org_root=1.2.3",
        "REPLACE SOPInstanceUID func:new",
    )
    counter = iter(range(100))
    result = replace_identifiers(
        paths, deid=recipe, lookup={"new": lambda **_: f"1.2.3.4.{next(counter)}"}
    )
    assert len({ds.StudyInstanceUID for ds in result}) == 1
    assert result[0].StudyInstanceUID != study
    for ds in result:
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPInstanceUID.startswith("1.2.3.4.")


def test_nested_private_and_file_meta(tmp_path: Path) -> None:
    from samples import nested_dataset, write_dicom

    nested = nested_dataset()
    path = write_dicom(
        tmp_path / "n.dcm", ReferencedImageSequence=nested.ReferencedImageSequence
    )
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0009, "DEIDSCOPE TEST", create=True)
    block.add_new(0x01, "LO", "Private^Name")
    ds.save_as(path)
    recipe = _recipe(
        "REPLACE ReferencedSOPInstanceUID 9.9.9",
        "BLANK CodeMeaning",
        'REMOVE (0009,"DEIDSCOPE TEST",01)',
        "REPLACE ImplementationVersionName X",
    )
    (out,) = replace_identifiers(path, deid=recipe)
    items = out.ReferencedImageSequence
    assert [item.ReferencedSOPInstanceUID for item in items] == ["9.9.9", "9.9.9"]
    assert not items[0].PurposeOfReferenceCodeSequence[0].CodeMeaning
    assert 0x00091001 not in out
    assert out.file_meta.ImplementationVersionName == "X"
    preview = recipe.preview(read_identifiers(path))
    assert set(preview.action) == {"REPLACE", "BLANK", "REMOVE"}


def test_strip_sequences_and_remove_private(files: list[str]) -> None:
    ct = next(f for f in files if f.endswith("CT_small.dcm"))
    (out,) = replace_identifiers(
        ct, deid=_recipe("KEEP PatientID"), strip_sequences=True, remove_private=True
    )
    assert not any(elem.tag.is_private for elem in out)
    assert not any(elem.VR == "SQ" for elem in out)


def test_inputs_and_options_are_checked(tree: list[str], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="deidscope has no default recipe"):
        replace_identifiers(tree)
    with pytest.raises(InputError, match="is a folder"):
        replace_identifiers([os.path.dirname(tree[0])], deid=_recipe("REMOVE A"))
    with pytest.raises(FileNotFoundError):
        replace_identifiers([str(tmp_path / "nope.dcm")], deid=_recipe("REMOVE A"))
    with pytest.raises(InputError, match="errors must be"):
        replace_identifiers(tree, deid=_recipe("REMOVE A"), errors="loud")  # type: ignore[arg-type]


def test_ids_as_deid_passes_them(tree: list[str]) -> None:
    ids = {tree[0]: {"id": "first"}, os.path.abspath(tree[1]): {"id": "second"}}
    out = replace_identifiers(
        tree[:2], ids=ids, deid=_recipe("REPLACE PatientID var:id")
    )
    assert [ds.PatientID for ds in out] == ["first", "second"]


def test_recipe_text_cannot_choose_output_paths(
    tree: list[str], tmp_path: Path
) -> None:
    """Header values (here a PatientID with a path in it) never name files."""
    recipe = _recipe("REPLACE PatientID ../../escape")
    out = tmp_path / "out"
    written = replace_identifiers(tree, deid=recipe, save=True, output_folder=out)
    assert all(Path(p).resolve().is_relative_to(out.resolve()) for p in written)
    assert not (tmp_path / "escape").exists()


def test_force_false_needs_the_dicm_marker(tmp_path: Path, tree: list[str]) -> None:
    raw = tmp_path / "raw.dcm"
    raw.write_bytes(Path(tree[0]).read_bytes()[128 + 4 :])  # no preamble, no DICM
    recipe = _recipe("REMOVE PatientID")
    assert replace_identifiers(raw, deid=recipe)[0] is not None
    with pytest.warns(ReplaceErrorsWarning):
        refused = replace_identifiers(raw, deid=recipe, force=False)
    assert refused.errors.error.str.contains("no DICM marker").all()


def test_an_output_that_is_an_input_is_refused_even_with_overwrite(
    tree: list[str], tmp_path: Path
) -> None:
    """Only output_folder=None with overwrite=True writes over the inputs."""
    recipe = _recipe("REPLACE PatientName Anon")
    series0 = [p for p in tree if "series0" in p]
    before = [Path(p).read_bytes() for p in tree]
    folder = os.path.dirname(series0[0])
    link = tmp_path / "link"
    link.symlink_to(folder)
    for output_folder in (folder, link):
        failed = "2 of 2 files could not be de-identified"
        with pytest.warns(ReplaceErrorsWarning, match=failed):
            refused = replace_identifiers(
                series0,
                deid=recipe,
                save=True,
                output_folder=output_folder,
                overwrite=True,
            )
        assert list(refused) == [None, None]
        assert refused.errors.error.str.contains(
            "is the input .* refused", regex=True
        ).all()
    assert [Path(p).read_bytes() for p in tree] == before
    # an output onto another input (not its own) is refused too
    top, sub = tmp_path / "top" / "a.dcm", tmp_path / "top" / "sub" / "a.dcm"
    sub.parent.mkdir(parents=True)
    shutil.copy(tree[0], top)
    shutil.copy(tree[1], sub)
    failed = "1 of 2 files could not be de-identified"
    with pytest.warns(ReplaceErrorsWarning, match=failed):
        one = replace_identifiers(
            [top, sub], deid=recipe, save=True, output_folder=sub.parent, overwrite=True
        )
    assert one.errors.file.tolist() == [str(top)]
    assert one.errors.error[0].endswith(
        f"is the input {sub}: refused "
        + "(only output_folder=None with overwrite=True writes over the inputs)"
    )
    assert sub.read_bytes() == Path(tree[1]).read_bytes()
    assert pydicom.dcmread(one[1]).PatientName == "Anon"


def _referencing_pair(tmp_path: Path) -> tuple[Path, Path, str]:
    """File a, and file b whose ReferencedImageSequence points at a."""
    from samples import write_dicom

    a = write_dicom(tmp_path / "a.dcm")
    uid = str(pydicom.dcmread(a).SOPInstanceUID)
    item = pydicom.Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    item.ReferencedSOPInstanceUID = uid
    b = write_dicom(
        tmp_path / "b.dcm", ReferencedImageSequence=pydicom.Sequence([item])
    )
    return a, b, uid


@pytest.mark.parametrize(
    "function",
    ["dicom_uuid org_root=1.2.3", "basic_uuid", "pydicom_uuid stable_remapping=false"],
    ids=["dicom_uuid", "basic_uuid", "pydicom_uuid-unstable"],
)
def test_a_referenced_uid_maps_to_the_new_uid_of_what_it_references(
    tmp_path: Path, function: str
) -> None:
    a, b, uid = _referencing_pair(tmp_path)
    recipe = _recipe(
        f"REPLACE SOPInstanceUID deid_func:{function}",
        f"REPLACE ReferencedSOPInstanceUID deid_func:{function}",
    )
    out = recipe.preview(read_identifiers([a, b]))
    sop = out[(out.file == str(a)) & (out.uid == "(0008, 0018)")].after.iloc[0]
    ref = out[(out.file == str(b)) & (out.uid == "(0008, 1140)__0__(0008, 1155)")]
    assert sop != uid
    assert ref.after.tolist() == [sop]
    first, second = replace_identifiers([a, b], deid=recipe)
    assert first.SOPInstanceUID != uid
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == (
        first.SOPInstanceUID
    )
    assert second.SOPInstanceUID != first.SOPInstanceUID


def test_suffix_uuid_keeps_deids_field_name_prefix(tmp_path: Path) -> None:
    """deid's suffix_uuid writes the field's name: one value per field."""
    a, b, _ = _referencing_pair(tmp_path)
    recipe = _recipe(
        "REPLACE SOPInstanceUID deid_func:suffix_uuid",
        "REPLACE ReferencedSOPInstanceUID deid_func:suffix_uuid",
    )
    first, second = replace_identifiers([a, b], deid=recipe)
    assert first.SOPInstanceUID.startswith("sopinstanceuid-")
    referenced = second.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert referenced.startswith("referencedimagesequence__referencedsopinstanceuid-")


def _raises_for(bad: str) -> Any:
    def new_id(dicom: Any, value: Any, field: Any, item: Any) -> str:
        if str(field.element.value) == bad:
            raise ValueError("no such patient")
        return "ANON"

    return new_id


def test_a_func_that_raises_fails_its_file_and_the_others_are_written(
    tree: list[str], tmp_path: Path
) -> None:
    from samples import write_dicom

    odd = str(write_dicom(tmp_path / "in" / "series0" / "odd.dcm", PatientID="X-1"))
    inputs = [tree[0], odd, tree[1]]
    recipe = _recipe("REMOVE PatientName", "REPLACE PatientID func:new_id")
    lookup = {"new_id": _raises_for("X-1")}
    failed = "1 of 3 files could not be de-identified"
    with pytest.warns(ReplaceErrorsWarning, match=failed):
        written = replace_identifiers(
            inputs, deid=recipe, lookup=lookup, save=True, output_folder=tmp_path / "o"
        )
    assert written[1] is None
    assert [pydicom.dcmread(written[i]).PatientID for i in (0, 2)] == ["ANON"] * 2
    assert written.errors.file.tolist() == [odd]
    assert written.errors.error[0] == (
        "cannot apply the recipe: func:new_id raised ValueError: no such patient "
        "(recipe line 4: 'REPLACE PatientID func:new_id')"
    )
    in_memory = replace_identifiers(inputs, deid=recipe, lookup=lookup, errors="ignore")
    assert [ds is None for ds in in_memory] == [False, True, False]
    with pytest.raises(RecipeFunctionError, match=r"odd\.dcm: func:new_id raised"):
        replace_identifiers(inputs, deid=recipe, lookup=lookup, errors="raise")


def test_a_deid_func_with_bad_parameters_fails_only_its_files(tree: list[str]) -> None:
    recipe = _recipe("JITTER StudyDate deid_func:jitter days=soon")
    failed = "4 of 4 files could not be de-identified"
    with pytest.warns(ReplaceErrorsWarning, match=failed):
        result = replace_identifiers(tree, deid=recipe)
    assert result.errors.error.str.contains(
        "deid_func:jitter raised ValueError: invalid literal"
    ).all()
