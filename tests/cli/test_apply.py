"""deidscope apply: de-identify from the command line, then the leak check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

import deidscope.data
import deidscope.dicom
import deidscope.frame
from _recipe_helpers import DEID_DATA
from deidscope.cli import main
from deidscope.cli._common import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_USAGE

DEID_DICOM = str(DEID_DATA / "deid.dicom")


@pytest.fixture
def inputs(tmp_path: Path, cookie_files: list[str]) -> Path:
    folder = tmp_path / "in"
    for i, source in enumerate(cookie_files):
        target = folder / f"s{i % 2}" / Path(source).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return folder


def test_clean_recipe_exits_0_and_keeps_the_tree(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*.dcm"))
    # deid's default recipe keeps three elements PS3.15 removes, which the leak
    # check reports (kind "profile"): the copy removes them too
    recipe = tmp_path / "deid-plus.dicom"
    recipe.write_text(
        Path(DEID_DICOM).read_text()
        + "REMOVE InstitutionName\nREMOVE ImageComments\nBLANK PatientSex\n"
    )
    assert (
        main(["apply", "--recipe", str(recipe), str(inputs), "-o", str(out)]) == EXIT_OK
    )
    captured = capsys.readouterr()
    *lines, score = captured.out.splitlines()
    assert lines == [
        f"7 of 7 files de-identified into {out}",
        "4 recipe lines skipped: func:/var: names not resolved (the warnings name "
        "them; --strict makes this an error)",
        "leak check: no identifying value of the originals survives",
    ]
    # the scorecard beside it: deid's recipe keeps the UIDs its func: lines
    # would have replaced, and adds what PS3.15 does not ask for
    assert score.startswith("scorecard (PS3.15 Basic Profile, no options): ")
    assert score.endswith(
        "below 100 %: kept, uids_changed (deidscope verify INPUT OUTPUT lists them)"
    )
    # deid.dicom's four ADD ... var: lines, one warning each
    skipped = [line for line in captured.err.splitlines() if "skipped" in line]
    assert [line.split(": ", 3)[2] for line in skipped] == [
        f"{recipe}, line {n}" for n in (892, 893, 894, 895)
    ]
    assert sorted(p.relative_to(out) for p in out.rglob("*.dcm")) == before
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    assert "PatientName" not in written
    assert written.PatientIdentityRemoved == "YES"


def test_leaks_exit_1_unless_allowed(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "weak.deid"
    recipe.write_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    out = tmp_path / "out"
    leaks = tmp_path / "leaks.csv"
    code = main(
        ["apply", "-r", str(recipe), str(inputs), "-o", str(out), "--leaks", str(leaks)]
    )
    assert code == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "identifying values survive in 7 files" in err
    assert "person_name" in err
    assert "nameless waterfall" not in err  # values are not printed
    text = leaks.read_text()
    assert text.startswith("file,uid,name,value,")
    assert "nameless waterfall" in text.lower() or "person_name" in text
    again = ["apply", "-r", str(recipe), str(inputs), "-o", str(out), "--force"]
    assert main([*again, "--allow-leaks"]) == EXIT_OK


def test_recipes_combine_and_vars(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.deid"
    base.write_text("FORMAT dicom\n%header\nREPLACE PatientID var:id\n")
    out = tmp_path / "out"
    args = ["apply", "-r", str(base), "-r", DEID_DICOM, str(inputs), "-o", str(out)]
    assert main([*args, "--var", "id=ANON", "--allow-leaks"]) == EXIT_OK
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    # deid.dicom removes PatientID later, but REPLACE protects it
    assert written.PatientID == "ANON"


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [
        (["--var", "novalue"], "expected NAME=VALUE", EXIT_USAGE),
        (["--leaks", "x.txt"], "expected an output ending in .csv", EXIT_USAGE),
    ],
    ids=["var", "leaks-suffix"],
)
def test_bad_options(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
    code: int,
) -> None:
    args = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(tmp_path / "o"), *extra]
    assert main(args) == code
    assert message in capsys.readouterr().err


def test_a_recipe_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "-o", str(tmp_path / "o")]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "deidscope apply: error: the following arguments are required: "
        "-r/--recipe (see 'deidscope apply --help')\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_bad_recipe_names_its_line(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "bad.deid"
    recipe.write_text("FORMAT dicom\n%header\nkeep PatientID\n")
    out = tmp_path / "out"
    assert main(["apply", "-r", str(recipe), str(inputs), "-o", str(out)]) == EXIT_INPUT
    assert "bad.deid, line 3" in capsys.readouterr().err
    assert not out.exists()


def test_output_rules(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("x")
    args = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(out)]
    assert main(args) == EXIT_INPUT
    assert "pass --force" in capsys.readouterr().err
    assert (
        main(["apply", "-r", DEID_DICOM, str(inputs), "-o", str(inputs)]) == EXIT_INPUT
    )
    assert f"{inputs} is the input folder {inputs}" in capsys.readouterr().err


def test_a_file_that_fails_is_reported(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inputs / "s0" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    out = tmp_path / "out"
    argv = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(out), "--allow-leaks"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == EXIT_OK
    assert "7 of 8 files de-identified" in captured.out
    assert "broken.dcm" in captured.err
    assert (
        main(
            [
                "apply",
                "-r",
                DEID_DICOM,
                str(inputs),
                "-o",
                str(tmp_path / "o2"),
                "--strict",
            ]
        )
        == EXIT_INPUT
    )


def test_help_lists_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "--help"]) == EXIT_OK
    assert "--allow-leaks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "layout",
    [["s1/image1.dcm"], ["image1.dcm", "s1/image1.dcm"]],
    ids=["out-is-the-files-folder", "out-holds-another-input"],
)  # input files, not folders: OUT may be in their folder, never onto them
def test_force_never_replaces_inputs(
    tmp_path: Path,
    cookie_files: list[str],
    capsys: pytest.CaptureFixture[str],
    layout: list[str],
) -> None:
    scans = tmp_path / "scans"
    for name, source in zip(layout, cookie_files, strict=False):
        (scans / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, scans / name)
    before = {p: p.read_bytes() for p in scans.rglob("*.dcm")}
    out = scans / "s1"
    paths = [str(scans / name) for name in layout]
    args = ["apply", "-r", DEID_DICOM, *paths, "-o", str(out), "--force"]
    assert main([*args, "--allow-leaks"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"the output folder {out} would write over the inputs" in err
    assert "image1.dcm is that file itself" in err
    assert {p: p.read_bytes() for p in scans.rglob("*.dcm")} == before
    assert sorted(scans.rglob("*")) == sorted([*before, out])


@pytest.fixture
def apply_no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make de-identifying or reading identifiers fail the test."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started")

    monkeypatch.setattr(deidscope.dicom, "replace_identifiers", fail)
    monkeypatch.setattr(deidscope.frame, "read_identifiers", fail)


@pytest.mark.parametrize(
    ("out", "where"),
    [
        ("in", "is the input folder"),
        ("in/out", "lies inside the input folder"),
        ("in/s0/new/out", "lies inside the input folder"),
        ("link/out", "lies inside the input folder"),
    ],
    ids=["the-input-folder", "inside", "deeper", "through-a-link"],
)
@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "force"])
@pytest.mark.usefixtures("apply_no_work")
def test_an_output_inside_an_input_folder_is_refused(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    out: str,
    where: str,
    force: list[str],
) -> None:
    (tmp_path / "link").symlink_to(inputs, target_is_directory=True)
    before = sorted(tmp_path.rglob("*"))
    args = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(tmp_path / out)]
    assert main([*args, *force]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err == (
        f"deidscope apply: error: the output folder {tmp_path / out} {where} "
        f"{inputs} (the next run would read the outputs as inputs); choose an "
        "output folder outside the inputs\n"
    )
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.usefixtures("apply_no_work")
def test_an_output_inside_the_default_sample_is_refused(
    inputs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # no PATH reads the bundled sample: a copy stands in for it here
    monkeypatch.setattr(deidscope.data, "get_dataset", lambda name: str(inputs))
    out = inputs / "out"
    assert main(["apply", "-r", DEID_DICOM, "-o", str(out)]) == EXIT_INPUT
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(
        f"deidscope apply: error: the output folder {out} lies inside the input "
        f"folder {inputs} "
    )
    assert not out.exists()


def test_an_output_beside_the_inputs_is_accepted(
    tmp_path: Path, cookie_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An output folder whose name starts with the input folder's is outside it."""
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(cookie_files[0], scans)
    out = tmp_path / "scans-clean"
    args = ["apply", "-r", DEID_DICOM, str(scans), "-o", str(out), "--allow-leaks"]
    assert main(args) == EXIT_OK
    assert "1 of 1 files de-identified" in capsys.readouterr().out
    assert [p.name for p in out.iterdir()] == [Path(cookie_files[0]).name]


@pytest.fixture
def unresolved(tmp_path: Path) -> list[str]:
    """Two recipes with a func: line and two var: lines, one given by --var."""
    first = tmp_path / "first.deid"
    first.write_text(
        "FORMAT dicom\n%header\nREPLACE PatientID var:id\n"
        "REPLACE PatientName func:make_name\nREMOVE PatientBirthDate\n"
    )
    second = tmp_path / "second.deid"
    second.write_text("FORMAT dicom\n%header\n\nREPLACE StudyID var:study\n")
    return ["-r", str(first), "-r", str(second), "--var", "id=ANON"]


def test_unresolved_recipe_lines_are_reported(
    inputs: Path,
    tmp_path: Path,
    unresolved: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    args = ["apply", *unresolved, str(inputs), "-o", str(out), "--allow-leaks"]
    assert main(args) == EXIT_OK
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if "skipped, as deid" in line]
    assert warned == [
        f"deidscope apply: warning: {tmp_path / 'first.deid'}, line 4: REPLACE "
        "PatientName func:make_name: skipped, as deid skips it (func: names are "
        "never resolved from the command line)",
        f"deidscope apply: warning: {tmp_path / 'second.deid'}, line 4: REPLACE "
        "StudyID var:study: skipped, as deid skips it (no --var study=VALUE gives "
        "var:study)",
    ]
    assert captured.out.splitlines()[1] == (
        "2 recipe lines skipped: func:/var: names not resolved (the warnings name "
        "them; --strict makes this an error)"
    )
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    assert written.PatientID == "ANON"  # the resolved var: line ran
    assert "PatientBirthDate" not in written


@pytest.mark.usefixtures("apply_no_work")
def test_strict_makes_unresolved_recipe_lines_an_error(
    inputs: Path,
    tmp_path: Path,
    unresolved: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    args = ["apply", *unresolved, str(inputs), "-o", str(out), "--strict"]
    assert main(args) == EXIT_INPUT
    assert capsys.readouterr().err == (
        "deidscope apply: error: --strict: 2 recipe lines are not resolved, nothing "
        f"written: {tmp_path / 'first.deid'}, line 4: REPLACE PatientName "
        "func:make_name: skipped, as deid skips it (func: names are never resolved "
        "from the command line); 1 more (without --strict, a warning names each)\n"
    )
    assert not out.exists()


def test_help_documents_strict_and_the_output_rules(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["apply", "--help"]) == EXIT_OK
    text = " ".join(capsys.readouterr().out.split())
    assert "--strict make a func:/var: line that cannot be resolved an error" in text
    assert "an OUT that is an input folder or lies inside one is refused" in text
    assert "with --strict they are an error instead (exit 3, nothing written)" in text
    assert "2 bad command line (no --recipe, ...)" in text


def _profile_file(tmp_path: Path, options: list[str]) -> str:
    from deidscope.recipe import Recipe

    path = tmp_path / "profile.deid"
    path.write_text(Recipe.from_profile(options).to_text())
    return str(path)


def _score(out: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith("scorecard")]
    return line


def test_the_scorecard_uses_the_options_a_profile_recipe_names(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["retain_uids", "retain_device_identity", "clean_descriptors"]
    recipe = _profile_file(tmp_path, options)
    argv = ["apply", "--recipe", recipe, str(inputs)]
    assert main([*argv, "-o", str(tmp_path / "out")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "leak check: no identifying value of the originals survives" in out
    assert _score(out) == (
        f"scorecard (PS3.15 Basic Profile, options: {', '.join(options)}): "
        "100.00 % (245 of 245 checks passed)"
    )
    # --option wins over the recipe's: with fewer options, the kept UIDs and
    # the kept text fail (the leak check and the scorecard both)
    code = main([*argv, "-o", str(tmp_path / "o2"), "--option", "retain_uids"])
    assert code == EXIT_FINDINGS
    captured = capsys.readouterr()
    score = _score(captured.out)
    assert score.startswith("scorecard (PS3.15 Basic Profile, options: retain_uids): 9")
    assert score.endswith(
        "below 100 %: text_removed "
        "(deidscope verify INPUT OUTPUT --option retain_uids lists them)"
    )
    assert "identifying values survive" in captured.err


def test_options_are_read_only_from_a_profile_recipe(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recipe not written by Recipe.from_profile names no options, whatever
    its comments say (as replace_identifiers reads them)."""
    recipe = tmp_path / "hand.deid"
    text = Path(_profile_file(tmp_path, ["retain_uids"])).read_text()
    recipe.write_text(text.replace("# DICOM PS3.15 Table E.1-1", "# our table"))
    argv = ["apply", "--recipe", str(recipe), str(inputs), "-o", str(tmp_path / "o")]
    assert main(argv) == EXIT_FINDINGS
    assert "(PS3.15 Basic Profile, no options): " in _score(capsys.readouterr().out)


def test_an_unknown_option_is_a_bad_command_line(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(tmp_path / "o")]
    assert main([*argv, "--option", "retain_all"]) == EXIT_USAGE
    assert "unknown option 'retain_all'" in capsys.readouterr().err


def test_key_file_and_crosswalk(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pandas as pd

    from deidscope.recipe._keyed import Keyed

    monkeypatch.delenv("DEIDSCOPE_KEY", raising=False)
    recipe = _profile_file(tmp_path, ["retain_long_modified_dates"])
    key = tmp_path / "key"
    key.write_bytes(b"s3cret\n")
    walk = tmp_path / "map.csv"
    out = tmp_path / "out"
    argv = ["apply", "--recipe", recipe, str(inputs), "-o", str(out)]
    code = main([*argv, "--key-file", str(key), "--crosswalk", str(walk)])
    assert code == EXIT_OK, capsys.readouterr().err
    assert f"crosswalk written to {walk}" in capsys.readouterr().out
    rows = pd.read_csv(walk, dtype=str, keep_default_na=False)
    assert len(rows) == 7
    expected = Keyed(b"s3cret").pseudonym("PatientID", rows.patient_old[0])
    assert rows.patient_new[0] == expected
    written = pydicom.dcmread(rows.output[0])
    assert written.PatientID == expected
    # the same key from the environment gives the same values
    monkeypatch.setenv("DEIDSCOPE_KEY", "s3cret")
    again = tmp_path / "again"
    code = main(["apply", "--recipe", recipe, str(inputs), "-o", str(again)])
    assert code == EXIT_OK
    twin = pydicom.dcmread(again / Path(rows.output[0]).relative_to(out))
    assert twin.PatientID == written.PatientID
    assert twin.StudyDate == written.StudyDate


def test_a_crosswalk_needs_a_key_and_no_key_on_the_command_line(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEIDSCOPE_KEY", raising=False)
    recipe = _profile_file(tmp_path, [])
    out = tmp_path / "out"
    argv = ["apply", "--recipe", recipe, str(inputs), "-o", str(out)]
    assert main([*argv, "--crosswalk", str(tmp_path / "map.csv")]) == EXIT_INPUT
    assert "needs a key" in capsys.readouterr().err
    assert not out.exists()
    # no option takes the key itself: --key is --key-file, a path
    assert main([*argv, "--key", "s3cret"]) == EXIT_INPUT
    assert "cannot read the key file" in capsys.readouterr().err
