"""The ``fer`` command line: help, exit codes, one-line errors, no partial outputs, pipes."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from fercli.faceset import open_faceset

from .conftest import REPO
from .fixtures import faces, save

COMMANDS = ["import", "detect", "align", "upscale", "train", "info", "doctor"]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "faces"
    for i, img in enumerate(faces(6, 32)):
        save(img, root / ["happy", "sad", "fear"][i % 3] / f"{i}.png")
    return root


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 200


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.output.startswith("fercli ")


def test_help_does_not_import_torch_or_opencv():
    code = (
        "import sys\nfrom fercli.cli.app import app\n"
        "for cmd in ([], ['import'], ['detect'], ['align'], ['train']):\n"
        "    args = [*cmd, '--help']\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "heavy = sorted(m for m in ('torch', 'cv2', 'h5py') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_import_then_info(cli, folder, tmp_path):
    out = tmp_path / "set.h5"
    result = cli("import", folder, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {"train": {"happy": 2, "sad": 2, "fear": 2}}
    info = cli("info", out, "--json")
    assert info.exit_code == 0
    summary = json.loads(info.stdout)
    assert summary["faces"] == 6 and summary["image_shape"] == [32, 32, 1]
    assert summary["provenance"][0]["command"] == f"fer import {folder} --output {out} --json"
    human = cli("info", out)
    assert human.exit_code == 0 and "face set v1" in human.output


def test_face_set_goes_to_stdout_and_comes_back_from_stdin(cli, folder):
    result = cli("import", folder)  # no -o, stdout is not a terminal
    assert result.exit_code == 0
    assert result.stdout_bytes[:8] == b"\x89HDF\r\n\x1a\n"
    info = cli("info", "-", "--json", input=result.stdout_bytes)
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["faces"] == 6


def test_real_shell_pipe(folder, tmp_path):
    fer = f"{sys.executable} -m fercli"
    out = subprocess.run(
        f"{fer} import {folder} | {fer} info - --json",
        shell=True,
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    assert json.loads(out.stdout)["counts"]["train"]["fear"] == 2


def test_image_folder_is_accepted_as_input(cli, folder):
    info = cli("info", folder, "--json")
    assert info.exit_code == 0 and json.loads(info.stdout)["faces"] == 6


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "empty folder"),
        (lambda p: (p.mkdir(), (p / "x.txt").write_text("x")), "no images found"),
        (lambda p: p.write_text("emotion,pixels,Usage\n3,1 2,Training\n"), "no faces imported"),
    ],
)
def test_import_errors_are_one_line_exit_1_no_output(cli, tmp_path, make, message):
    src = tmp_path / "src.csv"
    make(src)
    out = tmp_path / "out.h5"
    result = cli("import", src, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("fer: error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not hdf5 at all", "not an HDF5 file"),
        (None, "not a fercli face set"),
        (b"truncate", "truncated"),
    ],
)
def test_info_on_bad_files(cli, tmp_path, folder, content, message):
    path = tmp_path / "bad.h5"
    if content is None:
        with h5py.File(path, "w") as f:
            f["x"] = np.zeros(2)
    elif content == b"truncate":
        assert cli("import", folder, "-o", path).exit_code == 0
        path.write_bytes(path.read_bytes()[:2000])
    else:
        path.write_bytes(content)
    result = cli("info", path)
    assert result.exit_code == 1 and message in result.stderr


def test_bad_usage_exits_2(cli, folder, tmp_path):
    assert cli("import", folder, "-o", tmp_path / "o.h5", "--color", "purple").exit_code == 2
    assert cli("import", folder, "-o", tmp_path / "o.h5", "--size", "big").exit_code == 2
    assert cli("import", folder, "--json").exit_code == 2  # face set and JSON both on stdout
    assert cli("info").exit_code == 2
    assert not (tmp_path / "o.h5").exists()


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fercli", "--debug", "info", str(tmp_path / "missing.h5")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_outputs_an_image_folder(cli, folder, tmp_path):
    result = cli("import", folder, "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert len(list((tmp_path / "out" / "happy").glob("*.png"))) == 2


def test_provenance_is_recorded(cli, folder, tmp_path):
    cli("import", folder, "-o", tmp_path / "o.h5")
    with open_faceset(tmp_path / "o.h5") as fs:
        assert len(fs.provenance) == 1 and "time" in fs.provenance[0]


def test_cli_reference_is_current():
    """docs/cli.md is generated from the app (``make docs``); it must match the code."""
    generated = subprocess.run(
        [sys.executable, "-m", "typer", "fercli.cli.app", "utils", "docs", "--name", "fer"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert (REPO / "docs" / "cli.md").read_text() == generated, "run `make docs`"


def test_doctor_reports_backends_and_gui(cli):
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["detectors"]["yunet"]["available"] is True
    assert report["opencv"]["gui"] and report["opencv"]["fix"] is None
    assert report["torch"]["available"] is True


def test_detect_usage_errors(cli, tmp_path):
    assert cli("detect", tmp_path, "-o", tmp_path / "o.h5", "--shard", "3/2").exit_code == 2
    assert cli("detect", tmp_path, "-o", tmp_path / "o.h5", "--backend", "magic").exit_code == 2
    result = cli("detect", tmp_path / "missing", "-o", tmp_path / "o.h5")
    assert result.exit_code == 1 and "no such file" in result.stderr
    assert not (tmp_path / "o.h5").exists()
