"""fer live and fer export: tracking, smoothing, the headless run on the real clip,
recording, the window under Xvfb, clear errors, and ONNX parity with PyTorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from fercli.detect.base import Detections
from fercli.live.engine import OnnxEngine, TorchEngine, load_engine
from fercli.live.tracker import Tracker, iou
from fercli.model.export import export_onnx, parity
from fercli.model.onnx_session import read_metadata
from fercli.testing.synth import make_faces

from .fixtures import layout_faults

CLIP = "short_hamilton_clip.mp4"


def _det(*boxes: tuple[float, float, float, float]) -> Detections:
    b = np.array(boxes, np.float32).reshape(-1, 4)
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], 1)
    landmarks = centres[:, None, :] + np.array([[-8, -5], [8, -5], [0, 2], [-6, 9], [6, 9]])
    return Detections(b, landmarks.astype(np.float32), np.full(len(b), 0.95, np.float32))


def test_iou():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    assert np.allclose(iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_tracks_keep_their_ids_and_end_after_misses():
    gray = np.zeros((240, 320), np.uint8)
    tracker = Tracker(max_misses=1)
    first = tracker.update(_det((10, 10, 60, 60), (200, 50, 250, 100)), gray)
    assert [t.id for t in first] == [0, 1]
    moved = tracker.update(_det((205, 52, 255, 102), (14, 12, 64, 62)), gray)  # order swapped
    assert sorted((t.id, int(t.box[0])) for t in moved) == [(0, 14), (1, 205)]
    assert [t.id for t in tracker.update(_det((14, 12, 64, 62)), gray)] == [0]  # 1 missed once
    assert len(tracker.tracks) == 2
    tracker.update(_det((14, 12, 64, 62)), gray)  # 1 missed twice: ended
    tracker.update(_det((14, 12, 64, 62), (205, 52, 255, 102)), gray)
    assert sorted(t.id for t in tracker.tracks) == [0, 2]  # back, but as a new face


def test_optical_flow_carries_landmarks_with_the_image():
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (240, 320), dtype=np.uint8), (5, 5), 0)
    tracker = Tracker()
    tracker.update(_det((100, 80, 160, 140)), texture)
    shifted = np.roll(texture, (2, 3), axis=(0, 1))  # down 2, right 3
    before = tracker.tracks[0].landmarks.copy()
    (track,) = tracker.follow(shifted)
    assert np.allclose(track.landmarks - before, (3, 2), atol=0.3)
    assert np.allclose(track.box, (103, 82, 163, 142), atol=0.3)


def test_export_matches_pytorch(synth_model, tmp_path):
    checkpoint, _ = synth_model
    out = tmp_path / "model.onnx"
    meta = export_onnx(checkpoint, out)
    assert read_metadata(out) == meta
    assert meta["classes"][0] == "happy" and meta["size"] == 64 and meta["color"] == "gray"
    faces = make_faces(64, 64, seed=9).images
    x = np.ascontiguousarray(faces.transpose(0, 3, 1, 2), dtype=np.float32) / 255
    result = parity(out, checkpoint, x)
    assert result["max_probability_difference"] < 1e-4 and result["same_predictions"]
    # the exported CAMs are Grad-CAM at layer4: same argmax location as pytorch-grad-cam's
    from fercli.explain.cam import Explainer
    from fercli.infer import LoadedModel

    onnx_probs, cams, _ = OnnxEngine(out)(faces[:8])
    targets = onnx_probs.argmax(1)
    gradcam, _, _ = Explainer(LoadedModel.load(checkpoint), "gradcam", "layer4")(faces[:8])
    own = np.maximum(cams[np.arange(8), targets], 0)
    small = np.stack([cv2.resize(g, own.shape[1:][::-1], interpolation=cv2.INTER_AREA)
                      for g in gradcam])  # fmt: skip
    for a, b in zip(own, small, strict=True):
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_torch_and_onnx_engines_agree(synth_model, tmp_path):
    checkpoint, _ = synth_model
    faces = make_faces(8, 64, seed=4).images
    onnx = load_engine(checkpoint, "auto")
    torch_engine = load_engine(checkpoint, "torch")
    assert isinstance(onnx, OnnxEngine) and isinstance(torch_engine, TorchEngine)
    assert np.abs(onnx(faces)[0] - torch_engine(faces)[0]).max() < 1e-4


def test_live_on_a_cached_export_never_imports_torch(synth_model, tmp_path):
    """Importing torch was over half of `fer live`'s time to its first frame."""
    checkpoint, _ = synth_model
    load_engine(checkpoint, "auto")  # exports into the cache once
    code = (
        "import sys\nimport numpy as np\nfrom fercli.live.engine import load_engine\n"
        "from fercli.live.pipeline import LivePipeline, LiveOptions\n"
        f"engine = load_engine({str(checkpoint)!r}, 'auto')\n"
        "engine(np.zeros((1, 64, 64, 1), np.uint8))\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'onnx') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_export_command(cli, synth_model, tmp_path):
    result = cli("export", synth_model[0], "-o", tmp_path / "m.onnx", "--check", "32", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["parity"]["max_probability_difference"] < 1e-4
    assert summary["metadata"]["input"].startswith("float32 (N, C, S, S)")


@pytest.mark.slow
def test_headless_run_on_the_real_clip(cli, synth_model, models, wild, tmp_path):
    log, video = tmp_path / "live.jsonl", tmp_path / "live.mp4"
    result = cli(
        "live", wild / CLIP, "-m", synth_model[0], "--no-window", "--jsonl", log,
        "--record", video, "--heatmap", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    frames = [json.loads(line) for line in log.read_text().splitlines()]
    assert summary["frames"] == len(frames) == 275
    with_faces = sum(bool(f["faces"]) for f in frames)
    assert with_faces >= 170 and summary["frames_with_faces"] == with_faces
    face = next(f for r in frames for f in r["faces"] if f["label"] != "?")
    assert set(face) == {"id", "box", "score", "label", "probability", "probabilities", "drawn",
                         "quality", "unreadable"}  # fmt: skip
    assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert set(face["quality"]) == {"yaw", "pitch", "eyes", "sharpness", "score"}
    # what was drawn, frame by frame: no label or panel meets another or another face's box,
    # each inside the frame; a face shown as "?" says why and has no panel
    for record in frames:
        drawn = [tuple(f["drawn"][k] for k in ("box", "label", "panel")) for f in record["faces"]]
        assert layout_faults(drawn, 640, 360) == [], record["frame"]
        for f in record["faces"]:
            assert (f["label"] == "?") == (f["unreadable"] is not None)
            assert f["label"] != "?" or f["drawn"]["panel"] is f["probabilities"] is None
    shown = [f["label"] for r in frames for f in r["faces"]]
    assert 0 < shown.count("?") < len(shown)  # the clip has faces in profile and facing us
    assert [f["frame"] for f in frames] == list(range(275))
    assert frames[-1]["time"] == pytest.approx(274 / 29.97, abs=0.1)
    capture = cv2.VideoCapture(str(video))  # the recording plays back
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 275
    ok, frame = capture.read()
    assert ok and frame.shape == (360, 640, 3)


def test_max_frames_and_jsonl_on_stdout(cli, synth_model, models, wild):
    result = cli("live", wild / CLIP, "-m", synth_model[0], "--no-window", "--max-frames", "5",
                 "--jsonl", "-")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["frame"] for line in result.stdout.splitlines()] == list(range(5))


def test_sources_that_cannot_play_fail_fast_in_one_line(cli, synth_model, models, tmp_path):
    model = synth_model[0]
    started = time.perf_counter()
    result = cli("live", "--camera", "9", "-m", model, "--no-window")
    assert result.exit_code == 1 and "camera 9: cannot be opened" in result.stderr
    assert time.perf_counter() - started < 30
    result = cli("live", tmp_path / "missing.mp4", "-m", model, "--no-window")
    assert result.exit_code == 1 and "no such video file" in result.stderr
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    result = cli("live", junk, "-m", model, "--no-window")
    assert result.exit_code == 1 and "junk.mp4" in result.stderr
    assert cli("live", junk, "--camera", "0", "-m", model).exit_code == 2


def test_the_window_shows_the_overlays(synth_model, models, wild, display, tmp_path):
    """A real window on a virtual screen: grab the screen while live plays the clip."""
    from PIL import ImageGrab

    env = {**os.environ, "DISPLAY": display, "QT_LOGGING_RULES": "*=false"}
    command = [sys.executable, "-m", "fercli", "live", str(wild / CLIP), "-m",
               str(synth_model[0]), "--max-frames", "270", "--json"]  # fmt: skip
    # the boxes, labels and bars are drawn in the class palette's saturated colours
    from fercli.live.draw import PALETTE

    def overlay_pixels(screen: np.ndarray) -> int:
        return sum(
            int((np.abs(screen.astype(int) - np.array(bgr[::-1])).max(axis=2) <= 8).sum())
            for bgr in PALETTE
        )

    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Grab the screen while the clip plays: the video shows, then the overlays once a face
        # is tracked (a grab during the clip's faceless frames shows the video alone).
        deadline = time.time() + 60
        grabbed, drawn = None, 0
        while time.time() < deadline and proc.poll() is None and drawn <= 300:
            time.sleep(0.5)
            screen = np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))
            if screen[:360, :640].std() > 20:  # the video is on screen
                grabbed = screen
                drawn = max(drawn, overlay_pixels(screen))
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["frames"] == 270
    assert grabbed is not None, "no window content appeared on the virtual screen"
    assert drawn > 300


@pytest.mark.parametrize(
    "box", [(40.0, 30.0, 104.0, 94.0), (-20.3, -10.6, 50.2, 60.7), (150.5, 100.0, 230.0, 179.4)],
    ids=["inside", "over the top-left corner", "over the bottom-right corner"],
)  # fmt: skip
def test_the_heat_map_changes_no_pixel_outside_the_face(box):
    from fercli.live.draw import _heat, face_weights
    from fercli.live.pipeline import FaceResult

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (160, 200, 3), np.uint8)
    x1, y1, x2, y2 = box
    scale = 64 / (x2 - x1)
    matrix = np.array([[scale, 0, -x1 * scale], [0, scale, -y1 * scale]], np.float64)
    cams = np.ones((6, 8, 8), np.float32)
    face = FaceResult(0, np.array(box, np.float32), np.zeros((5, 2)), 0.9, np.full(6, 1 / 6),
                      matrix, cams)  # fmt: skip
    before = frame.copy()
    _heat(frame, face, 0, 64)
    changed = np.any(frame != before, axis=2)
    # the ellipse inscribed in the box, in frame pixels: nothing changes beyond it
    ys, xs = np.mgrid[0:160, 0:200] + 0.5
    r = np.hypot((xs - (x1 + x2) / 2) / ((x2 - x1) / 2), (ys - (y1 + y2) / 2) / ((y2 - y1) / 2))
    assert not changed[r > 1.02].any()
    centre = (min(159, max(0, round((y1 + y2) / 2))), min(199, max(0, round((x1 + x2) / 2))))
    assert changed[centre]  # and the face itself is coloured
    weights = face_weights(40, 30)
    assert weights[0, 0] == 0 and weights[15, 20] == 1 and weights.min() == 0
