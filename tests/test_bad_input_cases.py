"""The special cases of the hostile audit's second round (the shared table of hostile pairs is
in test_bad_input.py): standard input as the output, full disks under image folders, signals
during checks and in finalisers, process groups, hostile face sets, no display, the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from fercli.errors import FaceSetError, InputError

from .conftest import WILD
from .fixtures import faces, noise_video, save
from .test_bad_input import (
    FER,
    assert_refused,
    run_fer,
    small_disk,  # noqa: F401 - a fixture
    snapshot,
    wait_for,
    write_model,
    write_set,
)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer: "), stderr
    return lines[0]


def test_standard_input_is_never_the_output(tmp_path):
    write_set(tmp_path / "s.h5")
    before = snapshot(tmp_path)
    with open(tmp_path / "s.h5", "rb") as stdin:
        done = subprocess.run(
            [*FER, "align", "-", "-o", "s.h5"], cwd=tmp_path, stdin=stdin, capture_output=True,
            text=True,
        )  # fmt: skip
    assert_refused(done.returncode, done.stderr, before, tmp_path, codes=(2,))
    assert "standard input" in done.stderr


def noise_csv(path: Path, rows: int) -> Path:
    """A FER-2013-style CSV of noise faces: PNGs of noise do not compress."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (rows, 48 * 48))
    lines = [f"{i % 7},{' '.join(map(str, p))},Training" for i, p in enumerate(pixels)]
    path.write_text("emotion,pixels,Usage\n" + "\n".join(lines) + "\n")
    return path


def test_a_full_disk_under_an_image_folder_fails_and_leaves_no_folder(tmp_path, small_disk):  # noqa: F811
    noise_csv(tmp_path / "noise.csv", 1500)  # ~1500 PNGs of ~2.4 KB: more than 2 MiB
    before = snapshot(tmp_path)
    done = subprocess.run(
        [*FER, "import", "noise.csv", "-o", "small/outdir"], cwd=tmp_path, capture_output=True,
        text=True,
    )  # fmt: skip
    assert_refused(done.returncode, done.stderr, before, tmp_path, codes=(1,))
    assert "No space left" in done.stderr and "small/outdir" in done.stderr
    assert list(small_disk.iterdir()) == []


@pytest.mark.slow
def test_a_signal_during_the_export_check_leaves_no_model(tmp_path):
    write_model(tmp_path / "m.pt")
    proc = run_fer("export", "m.pt", "-o", "m.onnx", "--check", "30000", cwd=tmp_path)
    wait_for(tmp_path, ".m.onnx.*")  # exported aside: the check is running
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip() == "fer: terminated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_a_failed_summary_write_leaves_no_output(tmp_path):
    noise_csv(tmp_path / "small.csv", 20)
    before = snapshot(tmp_path)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*FER, "import", "small.csv", "--json", "-o", "o.h5"], cwd=tmp_path, stdout=full,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    assert_refused(done.returncode, done.stderr, before, tmp_path, codes=(1,))
    assert one_line(done.stderr) == "fer: error: stdout: No space left on device"


# --- hostile face sets ------------------------------------------------------------------
def declare_huge(path: Path) -> Path:
    """A face set of a few KiB whose datasets declare 10⁹ faces (chunks never written)."""
    write_set(path.with_name("valid.h5"), n=2)
    with h5py.File(path.with_name("valid.h5")) as valid, h5py.File(path, "w") as f:
        for key, value in valid.attrs.items():
            f.attrs[key] = value
        n = 10**9
        f.create_dataset("images", (n, 64, 64, 1), np.uint8, chunks=(64, 64, 64, 1),
                         compression="gzip")  # fmt: skip
        f.create_dataset("labels", (n,), np.int16, chunks=(4096,), compression="gzip")
    path.with_name("valid.h5").unlink()
    assert path.stat().st_size < 20_000
    return path


def nan_labels(path: Path) -> Path:
    write_set(path)
    with h5py.File(path, "a") as f:
        labels = f["labels"][()].astype(np.float32)
        labels[3] = np.nan
        del f["labels"]
        f["labels"] = labels
    return path


HOSTILE_COMMANDS = [
    ["info", "{X}"],
    ["upscale", "{X}", "-o", "out.h5"],
    ["train", "{X}", "-o", "m.pt", "--epochs", "1"],
    ["eval", "model.pt", "{X}"],
    ["calibrate", "-m", "model.pt", "{X}", "-o", "cal.pt"],
]


@pytest.mark.parametrize("make, says", [(declare_huge, "declares"), (nan_labels, "integer")],
                         ids=["1e9 faces declared", "NaN labels"])  # fmt: skip
@pytest.mark.parametrize("args", HOSTILE_COMMANDS, ids=lambda a: a[0])
def test_hostile_sets_are_refused_in_one_line_quickly(cli, tmp_path, monkeypatch, make, says, args):
    monkeypatch.chdir(tmp_path)
    make(tmp_path / "hostile.h5")
    write_model(tmp_path / "model.pt")
    before = snapshot(tmp_path)
    started = time.perf_counter()
    result = cli(*(a.replace("{X}", "hostile.h5") for a in args))
    assert time.perf_counter() - started < 60
    assert_refused(result.exit_code, result.stderr, before, tmp_path, codes=(1,))
    assert says in result.stderr


# --- signals ----------------------------------------------------------------------------
def test_a_signal_inside_a_finaliser_is_delivered_after_it(monkeypatch):
    """Python prints and drops an exception raised in a weakref callback: the handler must
    not raise there, but deliver the signal again once the main thread has left it."""
    from fercli.core import signals

    names = ("SIGTERM", "SIGHUP")
    saved = {name: signal.getsignal(getattr(signal, name)) for name in names}
    monkeypatch.setattr(signals, "pending", None)
    namespace: dict = {}
    exec(compile("import sys\nframe = sys._getframe()", "/lib/weakref.py", "exec"), namespace)
    try:
        signals.install()
        signals.stop(signal.SIGTERM, namespace["frame"])  # inside "weakref.py": no raise
        assert signals.pending == signal.SIGTERM
        with pytest.raises(signals.Terminated):
            deadline = time.time() + 5
            while time.time() < deadline:
                time.sleep(0.01)
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


def _interruptible() -> None:
    """Ctrl-C as at a terminal: a runner that starts the suite in the background (``cmd &``
    in a script) leaves SIGINT ignored, which every child then inherits and, by the Unix
    convention Python keeps, never catches."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "after"), [(signal.SIGINT, 4.0), (signal.SIGTERM, 4.0), (signal.SIGINT, 0.0)],
    ids=["SIGINT mid-run", "SIGTERM mid-run", "SIGINT while the workers are spawned"],
)  # fmt: skip
def test_a_signal_to_the_process_group_stops_detect_workers_quietly(
    tmp_path, models, signum, after
):
    for name in ("a.avi", "b.avi"):
        noise_video(tmp_path / name, 4000)
    proc = subprocess.Popen(
        [*FER, "detect", "a.avi", "b.avi", "-j", "2", "-o", "d.h5"], cwd=tmp_path,
        stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_interruptible,
    )  # fmt: skip
    wait_for(tmp_path, ".d.h5.*")  # the output is open: the workers are next
    time.sleep(after)
    os.killpg(proc.pid, signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, stderr
    assert stderr.strip() == ("fer: interrupted" if signum == signal.SIGINT else "fer: terminated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.avi", "b.avi"]


def test_clean_with_more_folds_than_faces_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "two.h5", n=2)
    write_model(tmp_path / "m.pt")
    before = snapshot(tmp_path)
    result = cli("clean", "two.h5", "-m", "m.pt", "--folds", "5", "-o", "c.h5")
    assert_refused(result.exit_code, result.stderr, before, tmp_path, codes=(1,))
    assert "--folds 5" in result.stderr and "fewer folds" in result.stderr


# --- fer live and explain ----------------------------------------------------------------
def test_live_without_a_display_says_to_use_no_window(tmp_path):
    save(faces(1, 64, color="rgb")[0], tmp_path / "me.jpg")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    before = snapshot(tmp_path)
    done = subprocess.run(
        [*FER, "live", "me.jpg"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert_refused(done.returncode, done.stderr, before, tmp_path, codes=(1,))
    assert "--no-window" in done.stderr


@pytest.mark.parametrize(
    "environ, missing",
    [
        ({}, True),
        ({"DISPLAY": ":0"}, not Path("/tmp/.X11-unix/X0").exists()),
        ({"DISPLAY": ":4711"}, True),
        ({"DISPLAY": "remote.host:0"}, False),  # cannot be told without connecting: try
        ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ],
)
def test_missing_display(environ, missing):
    from fercli.ops.live import missing_display

    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux aborts without a display")
    assert (missing_display(environ) is not None) == missing


def test_explain_of_an_unreadable_video_says_it_cannot_be_read(cli, tmp_path, monkeypatch, models):
    clip = WILD / "short_hamilton_clip.mp4"
    if not clip.exists():
        pytest.skip(f"{clip}: not here (../shared/data/wild)")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "truncated.mp4").write_bytes(clip.read_bytes()[:300_000])
    before = snapshot(tmp_path)
    result = cli("explain", "truncated.mp4", "-o", "ex")
    assert_refused(result.exit_code, result.stderr, before, tmp_path, codes=(1,))
    assert one_line(result.stderr) == "fer: error: truncated.mp4: cannot open video"


# --- the Python API -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_model(tmp_path_factory):
    import fercli

    return fercli.load_model(write_model(tmp_path_factory.mktemp("api") / "m.pt"))


@pytest.mark.parametrize(
    "faces_in",
    [None, "x", 3, np.zeros((2, 64, 64, 5), np.uint8), np.zeros((2, 64, 64, 1), np.float32),
     [np.zeros(5, np.uint8)]],
    ids=["None", "str", "int", "5 channels", "float", "1-d crop"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["predict", "embed", "explain"])
def test_api_bad_faces_raise_the_packages_input_error(api_model, faces_in, method):
    with pytest.raises(InputError, match="expected"):
        getattr(api_model, method)(faces_in)


@pytest.mark.parametrize("empty", [[], np.zeros((0, 64, 64, 1), np.uint8)], ids=["list", "array"])
def test_api_empty_batches_give_empty_results(api_model, empty):
    assert api_model.predict(empty).shape == (0, 6)
    assert api_model.embed(empty).shape[0] == 0
    maps, probs = api_model.explain(empty)
    assert maps.shape == (0, 64, 64) and probs.shape == (0, 6)


def test_api_face_set_with_nan_labels_raises_face_set_error(api_model, tmp_path):
    with pytest.raises(FaceSetError, match="integer"):
        api_model.predict_faceset(nan_labels(tmp_path / "nan.h5"))
