"""Detector plumbing that needs no real data: weights lookup and download, RetinaFace's
adapter (its real pre/post-processing on an untrained network: the weights cannot be
fetched here), and the registry."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest

from fercli.core.weights import WeightsError, WeightSpec, resolve_weights
from fercli.detect import DetectorOptions, create_detector
from fercli.detect.retinaface import RetinaFaceDetector, to_detections
from fercli.errors import FercliError


def test_unknown_backend():
    with pytest.raises(FercliError, match="unknown detector backend"):
        create_detector(DetectorOptions(backend="magic"))


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server over tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_verify_and_cache(served, tmp_path, monkeypatch):
    root, url = served
    monkeypatch.setenv("FERCLI_CACHE", str(tmp_path / "cache"))
    data = b"weights" * 100
    (root / "w.bin").write_bytes(data)
    spec = WeightSpec(
        "w.bin", (f"{url}/missing.bin", f"{url}/w.bin"), hashlib.sha256(data).hexdigest()
    )
    path = resolve_weights(spec)
    assert path == tmp_path / "cache" / "w.bin" and path.read_bytes() == data
    (root / "w.bin").unlink()  # now served nowhere: the cached copy is used
    assert resolve_weights(spec) == path


def test_checksum_mismatch_is_refused_and_not_cached(served, tmp_path, monkeypatch):
    root, url = served
    monkeypatch.setenv("FERCLI_CACHE", str(tmp_path / "cache"))
    (root / "w.bin").write_bytes(b"tampered")
    spec = WeightSpec("w.bin", (f"{url}/w.bin",), "0" * 64)
    with pytest.raises(WeightsError, match="does not match"):
        resolve_weights(spec)
    assert not list((tmp_path / "cache").iterdir())


def test_explicit_path_and_no_download(tmp_path):
    spec = WeightSpec("w.bin", ("http://127.0.0.1:9/w.bin",), "0" * 64)
    with pytest.raises(WeightsError, match="no such weights file"):
        resolve_weights(spec, tmp_path / "nope.bin")
    with pytest.raises(WeightsError, match="not found"):
        resolve_weights(spec, download=False)


def test_retinaface_landmark_dict_maps_onto_our_order():
    faces = {
        "face_1": {
            "score": 0.99,
            "facial_area": [155, 81, 434, 443],
            "landmarks": {
                "right_eye": [257.8, 209.6],
                "left_eye": [374.9, 251.8],
                "nose": [303.5, 299.9],
                "mouth_right": [228.4, 338.7],
                "mouth_left": [320.2, 374.6],
            },
        }
    }
    det = to_detections(faces)
    np.testing.assert_allclose(det.boxes, [[155, 81, 434, 443]])
    np.testing.assert_allclose(
        det.landmarks[0],
        [[257.8, 209.6], [374.9, 251.8], [303.5, 299.9], [228.4, 338.7], [320.2, 374.6]],
        rtol=1e-6,
    )
    assert to_detections({}).boxes.shape == (0, 4) and to_detections(()).scores.shape == (0,)


def test_retinaface_runs_its_real_pipeline_on_an_untrained_network():
    """Everything but the trained weights: the package's preprocessing, the PyTorch network,
    anchor decoding and NMS, and our mapping. Untrained, its scores mean nothing, so this
    checks shapes and ranges only; accuracy needs retinaface.pth, which cannot be fetched."""
    import torch
    from retinaface.model import retinaface_pth_model

    torch.manual_seed(0)
    model = retinaface_pth_model.RetinaFace().eval()
    detector = RetinaFaceDetector(
        DetectorOptions(backend="retinaface", score_threshold=0.0, min_size=0), model=model
    )
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    det = detector.detect(image)
    assert det.boxes.shape[1:] == (4,) and det.landmarks.shape[1:] == (5, 2)
    assert len(det.boxes) == len(det.scores) and ((det.scores >= 0) & (det.scores <= 1)).all()


def test_retinaface_without_weights_says_how_to_get_them():
    with pytest.raises(FercliError, match=r"retinaface.pth\) not found"):
        create_detector(DetectorOptions(backend="retinaface"))


class _Proportional:
    """A stub detector that finds one face at fixed fractions of whatever image it gets."""

    name = "stub"

    def detect(self, image):
        from fercli.detect import Detections

        h, w = image.shape[:2]
        box = np.array([[0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h]], np.float32)
        lm = np.array([[[0.4 * w, 0.4 * h]] * 5], np.float32)
        return Detections(box, lm, np.array([0.95], np.float32))


def test_downscaled_detection_maps_geometry_back_exactly():
    from fercli.detect import Downscaled

    options = DetectorOptions(max_side=100, min_size=300)
    image = np.zeros((800, 1200, 3), np.uint8)
    det = Downscaled(_Proportional(), options).detect(image)
    np.testing.assert_allclose(det.boxes, [[300, 200, 900, 600]], rtol=1e-3)
    np.testing.assert_allclose(det.landmarks[0, 0], [480, 320], rtol=1e-3)
    # min_size is judged at full resolution (400 px face >= 300), not in the 100 px copy
    assert len(det.scores) == 1
    small = np.zeros((80, 90, 3), np.uint8)  # already under max_side: left as it is
    np.testing.assert_allclose(
        Downscaled(_Proportional(), DetectorOptions(max_side=100, min_size=0)).detect(small).boxes,
        [[22.5, 20, 67.5, 60]],
    )
