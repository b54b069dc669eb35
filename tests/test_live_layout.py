"""What `fer live` draws: labels and panels never cover another face or panel and stay in
the frame, the drawing keeps to its layout, and faces that cannot be read are shown as "?"."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fercli.core.alignment import template
from fercli.live.draw import draw, layout
from fercli.live.layout import box_rect, intersects
from fercli.live.pipeline import FaceResult
from fercli.live.quality import QualityLimits, measure, sharpness, unreadable
from fercli.testing.synth import make_faces

from .fixtures import layout_faults

CLASSES = ("happy", "surprise", "sad", "angry", "disgust", "fear")
W, H = 640, 360


def _face(box, k: int = 0, why: str | None = None) -> FaceResult:
    p = np.full(6, 0.04)
    p[k] = 0.8
    return FaceResult(0, np.array(box, np.float32), np.zeros((5, 2)), 0.9, p,
                      np.eye(2, 3), np.zeros((6, 2, 2), np.float32), unreadable=why)  # fmt: skip


def _crowd(seed: int) -> list[FaceResult]:
    """2-8 faces of 20-160 px: some over the frame's edges, some touching a neighbour."""
    rng = np.random.default_rng(seed)
    boxes: list[tuple[float, ...]] = []
    while len(boxes) < rng.integers(2, 9):
        side = float(rng.uniform(20, 160))
        if boxes and rng.random() < 0.3:  # touching the last one, on its right
            _, y1, x2, _ = boxes[-1]
            box = (x2, y1 + rng.uniform(-10, 10), x2 + side, y1 + side)
        else:
            x = rng.uniform(-side / 3, W - side * 2 / 3)
            y = rng.uniform(-side / 3, H - side * 2 / 3)
            box = (x, y, x + side, y + side * rng.uniform(1.0, 1.3))
        overlap = [intersects(box_rect(box, 0), box_rect(b, 0)) for b in boxes]
        if not any(overlap) or rng.random() < 0.1:
            boxes.append(box)
    return [_face(b, k=i % 6, why="turned away" if i == 3 else None) for i, b in enumerate(boxes)]


@pytest.mark.parametrize("seed", range(40))
def test_nothing_drawn_covers_another_face_or_panel(seed):
    faces = _crowd(seed)
    placed = layout((H, W, 3), faces, CLASSES, bars=True, fps=True)
    assert layout_faults([(p.box, p.label, p.panel) for p in placed], W, H) == []
    texts = [r for p in placed for r in (p.label, p.panel) if r is not None]
    assert not any(intersects(r, (0, 0, 60, 24)) for r in texts)  # the FPS counter
    # and the drawing keeps to that layout: no pixel changes outside what it placed
    frame = draw(np.zeros((H, W, 3), np.uint8), faces, CLASSES, 64, fps=30.0, placed=placed)
    allowed = np.zeros((H, W), bool)
    for x, y, w, h in [p.box for p in placed] + texts + [(0, 0, 110, 40)]:
        allowed[max(y, 0) : y + h, max(x, 0) : x + w] = True
    assert not frame.any(axis=2)[~allowed].any()


def test_in_a_crowd_the_largest_face_keeps_its_panel():
    # a row of faces with no room beside any but the big one at the right edge's neighbour
    boxes = [(10 + 70 * i, 150, 75 + 70 * i, 215) for i in range(7)] + [(500, 60, 630, 210)]
    placed = layout((H, W, 3), [_face(b) for b in boxes], CLASSES, bars=True)
    assert placed[-1].panel is not None  # the largest, placed first
    assert all(p.label is not None for p in placed)  # every face still says what it is
    assert sum(p.panel is not None for p in placed) < len(placed)


def test_a_face_that_cannot_be_read_is_a_question_mark_without_panel():
    faces = [_face((100, 100, 200, 200), why="blurred"), _face((350, 100, 450, 200), k=2)]
    placed = layout((H, W, 3), faces, CLASSES, bars=True)
    assert placed[0].panel is None and placed[1].panel is not None
    assert faces[0].shown(CLASSES) == ("?", None)
    frame = draw(np.zeros((H, W, 3), np.uint8), faces, CLASSES, 64, heatmap=True, placed=placed)
    x, y, w, h = placed[0].label
    tag = frame[y : y + h, x : x + w].reshape(-1, 3)
    assert (tag == (128, 128, 128)).all(axis=1).mean() > 0.5  # gray, with a "?" in it


def _turned(yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """The template's five points on a head (nose 0.5 eye-distances in front of the eyes,
    mouth 0.15), turned by ``yaw_deg`` and nodded by ``pitch_deg``, seen from the front."""
    points = template(64).astype(np.float64)
    eyes = np.linalg.norm(points[1] - points[0])
    depth = np.array([0, 0, 0.5, 0.15, 0.15]) * eyes
    centre = points.mean(axis=0)
    xyz = np.column_stack([points - centre, depth])
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    yaw = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(b), np.sin(b)], [0, -np.sin(b), np.cos(b)]])
    return ((xyz @ (pitch @ yaw).T)[:, :2] + centre) * 2  # eyes twice the template's apart


@pytest.mark.parametrize("roll", [0, 25])
def test_a_face_turned_or_tilted_away_cannot_be_read(roll):
    crops = make_faces(1, seed=0).images
    turn = cv2.getRotationMatrix2D((64.0, 64.0), roll, 1.0)  # roll must not matter

    def verdict(yaw: float, pitch: float = 0.0) -> tuple[float, float, str | None]:
        points = cv2.transform(_turned(yaw, pitch)[None], turn)
        m = measure(points, crops, np.array([0.9]))
        return float(m["yaw"][0]), float(m["pitch"][0]), unreadable(m, QualityLimits())[0]

    yaws = [verdict(a)[0] for a in (0, 10, 20, 30, 40, 50, 60)]
    assert yaws == pytest.approx([0, 10, 20, 30, 40, 50, 60], abs=1)  # the turn, in degrees
    assert verdict(45)[2] is None and verdict(-45)[2] is None
    assert verdict(65)[2] == verdict(-65)[2] == verdict(80)[2] == "turned away"
    assert verdict(0, 10)[2] is None
    assert verdict(0, 40)[2] == verdict(0, -40)[2] == "tilted"


def test_blurred_and_tiny_faces_cannot_be_read():
    crops = make_faces(8, seed=1).images
    sharp = sharpness(crops)
    blurred = [sharpness(np.stack([cv2.GaussianBlur(c, (0, 0), s)[..., None] for c in crops]))
               for s in (1, 2, 4)]  # fmt: skip
    assert (sharp > blurred[0]).all() and (blurred[0] > blurred[1]).all()
    assert (blurred[1] > blurred[2]).all()
    limits = QualityLimits()
    points = _turned()[None].repeat(8, 0)

    def reasons(faces, scale=1.0):
        return set(unreadable(measure(points * scale, faces, np.full(8, 0.9)), limits))

    assert reasons(crops) == {None}
    assert reasons(np.stack([cv2.GaussianBlur(c, (0, 0), 4)[..., None] for c in crops])) == {
        "blurred"
    }
    eyes = np.linalg.norm(points[0, 1] - points[0, 0])
    assert reasons(crops, scale=0.9 * limits.min_eyes / eyes) == {"too small"}
    assert reasons(crops, scale=1.1 * limits.min_eyes / eyes) == {None}


def test_the_model_is_not_run_on_a_face_it_cannot_read():
    from fercli.detect.base import Detections
    from fercli.live.pipeline import LiveOptions, LivePipeline
    from fercli.model.preprocess import Preprocess

    class CountingEngine:
        classes, preprocess, name, gate_threshold = CLASSES, Preprocess(), "counting", None
        seen = 0

        def __call__(self, faces):
            self.seen += len(faces)
            n = len(faces)
            return np.full((n, 6), 1 / 6, np.float32), np.zeros((n, 6, 2, 2), np.float32), None

    offsets = np.array([[[100, 40]], [[300, 40]]])
    points = (np.stack([_turned(), _turned(75)]) + offsets).astype(np.float32)
    found = Detections(np.array([[90, 20, 240, 200], [290, 20, 440, 200]], np.float32), points,
                       np.full(2, 0.95, np.float32))  # fmt: skip

    class TwoFaces:
        def detect(self, image):
            return found

    frame = np.random.default_rng(0).integers(0, 255, (240, 480, 3), dtype=np.uint8)
    engine = CountingEngine()
    frontal, turned = LivePipeline(engine, TwoFaces(), LiveOptions()).process(frame)
    assert frontal.unreadable is None and turned.unreadable == "turned away"
    assert engine.seen == 1  # the turned face never reached the model
    assert frontal.probabilities.sum() == pytest.approx(1) and np.isnan(turned.probabilities).all()
    LivePipeline(engine, TwoFaces(), LiveOptions(quality=None)).process(frame)
    assert engine.seen == 3  # --no-quality: both
