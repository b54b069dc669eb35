"""Hostile but fair input: every command over one table of bad inputs, and each way a
command could lose a user's file (output = input, foreign folders, signals, broken pipes,
full disks, oversized images).

The contract, checked generically by :func:`assert_refused`: exit 1 (2 for usage), a single
``fer: ...`` line on stderr (or click's usage box for exit 2), and the folder holds exactly
what it held before: no partial output, no temporary, no parent folder made for ``-o``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter
from fercli.model import ModelConfig, create_model
from fercli.model.checkpoint import Checkpoint, Preprocess, save_checkpoint

from .conftest import FER2013_CSV, WILD, need
from .fixtures import faces, noise_video, save

FER = [sys.executable, "-m", "fercli"]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: a file's size and modification time (a folder's
    own time changes when a temporary comes and goes inside it, so it is left out)."""
    return {
        str(p.relative_to(root)): (0, 0) if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def assert_refused(code: int, stderr: str, before: dict, root: Path, codes=(1, 2)) -> None:
    assert code in codes, (code, stderr)
    lines = stderr.strip().splitlines()
    if lines and lines[0].startswith("Usage:"):
        assert code == 2, stderr  # click's own usage box
    else:
        assert len(lines) == 1 and lines[0].startswith("fer: "), stderr
        assert "Traceback" not in stderr and ".tmp" not in stderr and "fercli-" not in stderr
    assert snapshot(root) == before, "the folder changed"


def write_set(path: Path, n: int = 12, size: int = 64, color: str = "gray", labels=None) -> Path:
    made = faces(n, size, color=color)
    with FaceSetWriter(path, classes=CLASSES, color=color) as w:
        w.append({"images": made, "labels": np.arange(n) % 6 if labels is None else labels})
    return path


def write_model(path: Path, color: str = "gray") -> Path:
    config = ModelConfig(in_channels=1 if color == "gray" else 3)
    channels = config.in_channels
    pre = Preprocess(color=color, mean=(0.5,) * channels, std=(0.25,) * channels)
    save_checkpoint(path, Checkpoint(config, CLASSES, pre, create_model(config).state_dict()))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Good inputs beside hostile ones, made once for the module."""
    root = tmp_path_factory.mktemp("hostile")
    write_set(root / "good.h5")
    write_set(root / "rgb.h5", color="rgb")
    write_model(root / "model.pt")
    (root / "empty.h5").write_bytes(b"")
    (root / "text.h5").write_text("emotion,pixels\n1,2 3\n")
    whole = (root / "good.h5").read_bytes()
    (root / "truncated.h5").write_bytes(whole[: len(whole) // 2])
    save(faces(1, 64, color="rgb")[0], root / "photo.jpg")
    (root / "photo_as_set.h5").write_bytes((root / "photo.jpg").read_bytes())
    write_set(root / "bad_labels.h5")
    with h5py.File(root / "bad_labels.h5", "a") as f:
        f["labels"][0] = 9  # a valid schema, a label past the six classes
    (root / "no_images").mkdir()
    (root / "no_images" / "readme.txt").write_text("no faces here")
    torch.save({"format": "fercli.checkpoint"}, root / "hollow.pt")
    (root / "text.pt").write_text("not a checkpoint")
    (root / "folder.pt").mkdir()
    return root


BAD_SETS = [
    "missing.h5",
    "empty.h5",
    "text.h5",
    "truncated.h5",
    "photo_as_set.h5",
    "bad_labels.h5",
    "no_images",
]
BAD_MODELS = ["missing.pt", "hollow.pt", "text.pt", "folder.pt"]
# Every command that reads a face set, with the bad set at {X} and its output in out/.
SET_COMMANDS = [
    ["info", "{X}"],
    ["upscale", "{X}", "-o", "out/up.h5"],
    ["align", "{X}", "-o", "out/al.h5"],
    ["merge", "{X}", "good.h5", "-o", "out/m.h5"],
    ["train", "{X}", "-o", "out/m.pt", "--epochs", "1"],
    ["eval", "model.pt", "{X}", "-o", "out/r.json"],
    ["pseudolabel", "model.pt", "{X}", "-o", "out/p.h5"],
    ["explain", "model.pt", "{X}", "-o", "out/ex"],
]
MODEL_COMMANDS = [
    ["eval", "{X}", "good.h5", "-o", "out/r.json"],
    ["pseudolabel", "{X}", "good.h5", "-o", "out/p.h5"],
    ["explain", "{X}", "good.h5", "-o", "out/ex"],
    ["export", "{X}", "-o", "out/m.onnx"],
    ["train", "good.h5", "-o", "out/m.pt", "--init", "{X}"],
]
CASES = [
    (" ".join(c).replace("{X}", x), [a.replace("{X}", x) for a in c])
    for table, bad in ((SET_COMMANDS, BAD_SETS), (MODEL_COMMANDS, BAD_MODELS))
    for c in table
    for x in bad
    if not (c[0] == "info" and x == "no_images")  # an empty folder is an empty set to info
]


@pytest.mark.parametrize("args", [a for _, a in CASES], ids=[name for name, _ in CASES])
def test_every_command_refuses_bad_input_in_one_line_and_leaves_nothing(
    cli, work, args, monkeypatch
):
    monkeypatch.chdir(work)
    before = snapshot(work)
    result = cli(*args)
    assert_refused(result.exit_code, result.stderr, before, work)


def test_the_table_is_large(cli):
    assert len(CASES) >= 70


# --- data loss ------------------------------------------------------------------------
@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    save(faces(1, 64, color="rgb")[0], root / "me.jpg")
    (root / "notes.txt").write_text("mine")
    return root


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "model.pt", "photos", "-o", "photos"],
        ["explain", "model.pt", "photos/me.jpg", "-o", "photos/me.jpg"],
        ["explain", "model.pt", "set.h5", "-o", "."],
        ["import", "photos", "-o", "photos"],
        ["import", "photos", "-o", "mydir"],
        ["explain", "model.pt", "set.h5", "-o", "mydir"],
        ["import", "photos", "-o", "photos/notes.txt"],
        ["import", "photos", "-o", "photos/me.jpg"],
        ["train", "set.h5", "-o", "set.h5"],
        ["train", "set.h5", "-o", "s.pt", "--val", "s.last.pt"],
        ["export", "model.pt", "-o", "model.pt"],
        ["export", "model.pt", "-o", "photos/me.jpg"],
        ["detect", "photos/me.jpg", "-o", "photos/me.jpg"],
        ["pseudolabel", "model.pt", "set.h5", "-o", "set.h5"],
        ["eval", "model.pt", "set.h5", "--predictions", "set.h5"],
        ["eval", "model.pt", "set.h5", "-o", "photos/notes.txt.json"],
        ["live", "photos/me.jpg", "--no-window", "--record", "photos/me.jpg"],
        ["live", "photos/me.jpg", "--no-window", "--jsonl", "photos/me.jpg"],
        ["upscale", "set.h5", "-o", "set.h5"],
        ["merge", "set.h5", "-o", "set.h5"],
        # files of the kind fer writes, but not written by fercli (round 2, case 1)
        ["import", "small.csv", "-o", "foreign.h5"],
        ["align", "set.h5", "-o", "foreign.h5"],
        ["upscale", "set.h5", "-o", "foreign.h5"],
        ["upscale", "set.h5", "--method", "eigen", "--save-basis", "basis.npz", "-o", "u.h5"],
        ["export", "model.pt", "-o", "jpeg.onnx"],
        ["export", "model.pt", "-o", "random.onnx"],
        ["clean", "set.h5", "-m", "model.pt", "--sheet", "page.html", "-o", "c.h5"],
        ["eval", "model.pt", "set.h5", "-o", "report.json"],
        ["eval", "model.pt", "set.h5", "-o", "notes.md"],
        ["eval", "model.pt", "set.h5", "-o", "page.html"],
        ["live", "photos/me.jpg", "--no-window", "--jsonl", "notes.txt"],
        ["live", "photos/me.jpg", "--no-window", "--record", "my.mp4"],
        ["train", "set.h5", "-o", "t.pt", "--epochs", "1"],
        ["calibrate", "-m", "model.pt", "set.h5", "-o", "t.pt"],
        # a side output: the metrics log beside the checkpoint (case 3)
        ["train", "set.h5", "-o", "m.pt", "--epochs", "1"],
        # two outputs of one command naming one file (case 4)
        ["live", "photos/me.jpg", "--no-window", "--record", "r.mp4", "--jsonl", "r.mp4"],
        ["live", "photos/me.jpg", "--no-window", "--record", "r.mp4", "--jsonl", "./r.mp4"],
        ["eval", "model.pt", "set.h5", "-o", "r.json", "-o", "./r.json"],
        # usage errors found before any work (cases 13, 14)
        ["live", "photos/me.jpg", "--no-window", "--record", "r.txt"],
        ["calibrate", "-m", "model.pt", "set.h5", "-o", "cal.pt", "--split", "bogus"],
        ["eval", "model.pt", "set.h5", "--split", "bogus"],
    ],
    ids=lambda a: " ".join(a),
)
def test_no_command_overwrites_what_it_did_not_write(cli, tmp_path, photos, args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "set.h5")
    write_model(tmp_path / "model.pt")
    (tmp_path / "mydir").mkdir()
    (tmp_path / "mydir" / "keep.txt").write_text("keep")
    (photos / "notes.txt.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    write_foreign_files(tmp_path)
    before = snapshot(tmp_path)
    result = cli(*args)
    assert_refused(result.exit_code, result.stderr, before, tmp_path, codes=(2,))


def write_foreign_files(root: Path) -> None:
    """A user's own files, each of a kind some command writes, none written by fercli."""
    import cv2

    rows = [f"{i % 7},{' '.join(['128'] * 48 * 48)},Training" for i in range(8)]
    (root / "small.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    with h5py.File(root / "foreign.h5", "w") as f:
        f["foo"] = np.arange(10)
    np.savez(root / "basis.npz", weights=np.ones(3))
    (root / "jpeg.onnx").write_bytes((root / "photos" / "me.jpg").read_bytes())
    (root / "random.onnx").write_bytes(np.random.default_rng(0).bytes(3000))
    (root / "page.html").write_text("<!DOCTYPE html><html><body>my page</body></html>\n")
    (root / "report.json").write_text('{"my": "report", "accuracy": 0.9}\n')
    (root / "notes.md").write_text("# my notes\n")
    (root / "notes.txt").write_text("my notes\n")
    (root / "m.metrics.jsonl").write_text('{"epoch": 1, "mine": true}\n')
    torch.save({"weights": torch.ones(3)}, root / "t.pt")
    video = cv2.VideoWriter(str(root / "my.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 5, (64, 48))
    for i in range(5):
        video.write(np.full((48, 64, 3), 40 * i, np.uint8))
    video.release()


def test_fercli_replaces_its_own_outputs_of_every_kind(cli, tmp_path, photos, monkeypatch, models):
    """The other half of the rule: what fercli wrote, it may write again."""
    import cv2

    from fercli.evaluate.collect import main as collect

    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "set.h5")
    write_model(tmp_path / "model.pt")
    write_set(tmp_path / "tiny.h5", size=16)
    write_set(tmp_path / "ref.h5", size=24)
    runs = [
        ["upscale", "tiny.h5", "--method", "eigen", "--reference", "ref.h5", "--save-basis",
         "b.npz", "--size", "24", "-o", "u.h5"],
        ["export", "model.pt", "-o", "m.onnx", "--check", "4"],
        ["eval", "model.pt", "set.h5", "--split", "all", "-o", "r.json", "-o", "r.md",
         "-o", "r.html"],
        ["clean", "tiny.h5", "--sheet", "s.html", "-o", "c.h5"],
        ["live", "photos/me.jpg", "--no-window", "--record", "r.mp4", "--jsonl", "r.jsonl"],
        ["live", "photos/me.jpg", "--no-window", "--record", "r.avi"],
        ["train", "set.h5", "-o", "t.pt", "--epochs", "1", "--val-split", "0.5"],
    ]  # fmt: skip
    for args in runs:
        for attempt in (1, 2):
            result = cli(*args)
            assert result.exit_code == 0, (args, attempt, result.stderr)
    for _ in (1, 2):
        collect(["r.json", "--csv", "t.csv", "--md", "t.md"])
    assert (tmp_path / "t.csv").read_text().startswith("generator,")
    for name in ("r.mp4", "r.avi"):  # the mark leaves the recording playable
        video = cv2.VideoCapture(str(tmp_path / name))
        ok, frame = video.read()
        assert ok and frame.shape == (64, 64, 3), name
    first = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert first["generator"].startswith("fercli ") and "faces" in first


def test_a_folder_output_replaces_only_its_own_previous_run(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, img in enumerate(faces(4, 48)):
        save(img, tmp_path / "faces" / ["happy", "sad"][i % 2] / f"{i}.png")
    assert cli("import", "faces", "-o", "pngs").exit_code == 0
    assert (tmp_path / "pngs" / ".fercli-output").is_file()
    first = sorted(p.name for p in (tmp_path / "pngs").rglob("*.png"))
    assert len(first) == 4
    assert cli("import", "faces", "-o", "pngs").exit_code == 0  # its own output: replaced
    assert sorted(p.name for p in (tmp_path / "pngs").rglob("*.png")) == first
    (tmp_path / "empty").mkdir()
    assert cli("import", "faces", "-o", "empty").exit_code == 0  # an empty folder: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "faces", "pngs"]


def test_a_face_set_replaces_a_face_set_atomically_keeping_permissions(cli, tmp_path):
    out = write_set(tmp_path / "out.h5", n=6)
    os.chmod(out, 0o644)
    old = os.umask(0o022)
    try:
        result = cli("upscale", write_set(tmp_path / "in.h5", size=32), "-o", out)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    with h5py.File(out) as f:
        assert f["images"].shape == (12, 64, 64, 1)


def test_outputs_follow_the_umask(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "set.h5")
    save(faces(1, 48)[0], tmp_path / "faces" / "happy" / "0.png")
    old = os.umask(0o022)
    try:
        assert cli("upscale", "set.h5", "--size", "72", "-o", "big.h5").exit_code == 0
        assert cli("import", "faces", "-o", "pngs").exit_code == 0
        assert cli("eval", write_model(tmp_path / "m.pt"), "set.h5", "-o", "r.md").exit_code == 0
    finally:
        os.umask(old)
    for name, mode in (("big.h5", 0o644), ("pngs", 0o755), ("r.md", 0o644)):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


def test_a_failed_multi_output_run_keeps_none_of_its_outputs(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "set.h5")
    write_model(tmp_path / "m.pt")
    before = snapshot(tmp_path)
    result = cli("eval", "m.pt", "set.h5", "-o", "r.json", "-o", "/proc/fer/r.md")
    assert_refused(result.exit_code, result.stderr, before, tmp_path)


def test_parent_folders_made_for_an_output_go_when_it_fails(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "small.h5", size=48)  # the model takes 64x64: refused
    write_model(tmp_path / "m.pt")
    before = snapshot(tmp_path)
    result = cli("pseudolabel", "m.pt", "small.h5", "-o", "new/deeper/p.h5")
    assert_refused(result.exit_code, result.stderr, before, tmp_path)


# --- signals, pipes, full disks --------------------------------------------------------
def run_fer(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [*FER, *args], cwd=cwd, env=env, stderr=subprocess.PIPE, text=True, **kwargs
    )


def wait_for(folder: Path, pattern: str, timeout: float = 60) -> None:
    """Until a file matching ``pattern`` has bytes in it: the command is writing."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(p.stat().st_size > 0 for p in folder.glob(pattern) if p.is_file()):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing matching {pattern} was written in {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_leaves_no_temporary(tmp_path, signum):
    source = need(FER2013_CSV)
    proc = run_fer("import", str(source), "--size", "96", "-o", "full.h5", cwd=tmp_path)
    wait_for(tmp_path, ".full.h5.*.tmp")  # mid-write
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, stderr
    assert stderr.strip() == "fer: terminated"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_live_recording_stopped_by_sigterm_is_playable(tmp_path, models):
    import cv2

    noise_video(tmp_path / "long.avi", 3000)  # two minutes: live is stopped long before the end
    proc = run_fer(
        "live", "long.avi", "--no-window", "--record", "rec.mp4", "--jsonl", "rec.jsonl",
        cwd=tmp_path,
    )  # fmt: skip
    wait_for(tmp_path, ".rec.mp4.*")
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.avi", "rec.jsonl", "rec.mp4"]
    video = cv2.VideoCapture(str(tmp_path / "rec.mp4"))
    ok, frame = video.read()
    assert ok and frame.shape == (120, 160, 3)
    frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    assert 5 <= frames < 3000
    logged = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert abs(len(logged) - frames) <= 1


def test_a_reader_that_stops_early_is_an_error_and_leaves_no_temporary(tmp_path):
    write_set(tmp_path / "set.h5", n=600, size=96)
    spool = tmp_path / "spool"
    spool.mkdir()
    env = os.environ | {"TMPDIR": str(spool)}
    fer = subprocess.Popen(
        [*FER, "upscale", "set.h5", "--size", "128"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False,
    )  # fmt: skip
    head = subprocess.run(["head", "-c", "100"], stdin=fer.stdout, capture_output=True)
    fer.stdout.close()
    stderr = fer.stderr.read().decode()
    fer.wait(60)
    assert len(head.stdout) == 100
    assert fer.returncode == 1
    assert stderr.strip() == "fer: error: stdout was closed before the whole face set was read"
    assert list(spool.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root may mount one, as CI does); skips where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize(
    "args",
    [
        ["upscale", "set.h5", "--size", "256", "-o", "small/out.h5"],
        ["upscale", "set.h5", "--size", "256", "-o", "small/new/out.h5"],
        ["train", "set.h5", "-o", "small/m.pt", "--epochs", "1", "--val-split", "0.5"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, small_disk, args):
    write_set(tmp_path / "set.h5", n=120)
    before = snapshot(tmp_path)
    done = subprocess.run([*FER, *args], cwd=tmp_path, capture_output=True, text=True)
    assert_refused(done.returncode, done.stderr, before, tmp_path, codes=(1,))
    assert "no space left" in done.stderr or "could not be written" in done.stderr


def test_a_full_spool_for_stdout_is_one_line(tmp_path, small_disk):
    write_set(tmp_path / "set.h5", n=120)
    env = os.environ | {"TMPDIR": str(small_disk)}
    done = subprocess.run(
        [*FER, "upscale", "set.h5", "--size", "256"], cwd=tmp_path, env=env, capture_output=True
    )
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode().startswith("fer: error: stdout (buffered in")
    assert list(small_disk.iterdir()) == []


def test_full_disk_is_caught_before_hdf5_sees_it(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: the free-space check itself, on a faked statvfs."""
    from fercli.errors import OutputError

    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(os, "statvfs", lambda path: Full)
    with pytest.raises(OutputError, match="no space left"):
        write_set(tmp_path / "out.h5")
    assert list(tmp_path.iterdir()) == []


# --- oversized and odd inputs ----------------------------------------------------------
def test_an_oversized_image_is_skipped_and_listed(cli, tmp_path, models, wild):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "biden.jpg").write_bytes((wild / "biden.jpg").read_bytes())
    Image.MAX_IMAGE_PIXELS, limit = None, Image.MAX_IMAGE_PIXELS
    try:
        Image.new("L", (20000, 20000)).save(folder / "huge.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    result = cli("detect", folder, "-o", tmp_path / "d.h5", "--json")
    assert result.exit_code == 0, result.stderr
    assert '"faces": 1' in result.stdout
    assert "huge.png" in result.stdout and "too large to decode safely" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["upscale", "good.h5", "--size", "100000", "-o", "out/x.h5"],
        ["align", "good.h5", "--size", "5000", "-o", "out/x.h5"],
        ["eval", "model.pt", "good.h5", "--device", "banana"],
        ["eval", "model.pt", "good.h5", "--tta", "bogus"],
        ["eval", "model.pt", "good.h5", "-o", "out/r.txt"],
        ["eval", "m.onnx", "good.h5"],
        ["pseudolabel", "m.onnx", "good.h5", "-o", "out/p.h5"],
        ["train", "good.h5", "-o", "out/m.pt", "--precision", "fp8"],
        ["train", "good.h5", "-o", "out/m.pt", "--device", "banana"],
        ["train", "good.h5", "-o", "out/m.pt", "--prior", "source"],
        ["train", "good.h5", "-o", "out/m.pt", "--epochs", "2", "--average-from", "3"],
        ["train", "good.h5", "-o", "out/m.pt", "--ema", "0.9", "--average-from", "1"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(cli, work, args, monkeypatch):
    monkeypatch.chdir(work)
    before = snapshot(work)
    result = cli(*args)
    assert_refused(result.exit_code, result.stderr, before, work, codes=(2,))


def test_checkpoint_errors_say_what_is_wrong(cli, work, tmp_path, monkeypatch):
    monkeypatch.chdir(work)
    assert (
        "a damaged fercli checkpoint (KeyError: 'classes')"
        in cli("export", "hollow.pt", "-o", tmp_path / "x.onnx").stderr
    )
    evil = tmp_path / "evil.pt"
    torch.save({"format": "fercli.checkpoint", "payload": Path("x")}, evil)  # a pickled object
    line = cli("export", evil, "-o", tmp_path / "x.onnx").stderr.strip()
    assert line.endswith("loading those could run code (fercli loads weights-only "
                         "checkpoints, as fer train writes them)")  # fmt: skip


def test_train_refuses_what_would_fail_later_before_training(cli, work, tmp_path, monkeypatch):
    monkeypatch.chdir(work)
    result = cli("train", "good.h5", "-o", tmp_path / "m.pt", "--val", "rgb.h5")
    assert result.exit_code == 1
    assert result.stderr.strip() == "fer: error: rgb.h5: is rgb, good.h5 is gray"
    write_model(tmp_path / "best.pt")
    (tmp_path / "best.last.pt").write_bytes((tmp_path / "best.pt").read_bytes())
    result = cli("train", "good.h5", "-o", tmp_path / "best.pt", "--resume", "--val-split", "0.5")
    assert result.exit_code == 1
    assert "not a resumable state" in result.stderr and "--init" in result.stderr


def test_stdin_errors_name_stdin_not_its_spool(cli, work):
    result = cli("info", "-", input=(work / "truncated.h5").read_bytes())
    assert result.exit_code == 1
    assert result.stderr.startswith("fer: error: -:"), result.stderr


def test_a_swallowed_signal_still_stops_the_output(tmp_path, monkeypatch):
    """Python drops an exception raised inside a weakref callback; the remembered signal
    still keeps the output from being committed."""
    from fercli.core import signals

    monkeypatch.setattr(signals, "pending", None)
    with (
        pytest.raises(signals.Terminated),
        FaceSetWriter(tmp_path / "out.h5", classes=CLASSES, color="gray") as w,
    ):
        w.append({"images": faces(4, 64), "labels": np.arange(4)})
        signals.pending = signal.SIGTERM  # as if the handler's exception had been lost
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source", [["--camera", "7"], ["truncated.mp4"]], ids=["camera", "mp4"])
def test_library_log_lines_stay_off_stderr(tmp_path, models, source):
    """OpenCV's and FFmpeg's own log lines (a missing camera, a cut-off video) would come
    before fer's one line; a real process, since the CLI entry point silences them."""
    clip = need(WILD / "short_hamilton_clip.mp4")
    (tmp_path / "truncated.mp4").write_bytes(clip.read_bytes()[:100_000])
    done = subprocess.run(
        [*FER, "live", *source, "--no-window", "--max-frames", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer: error: "), done.stderr
