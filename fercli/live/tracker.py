"""Faces followed from frame to frame, so detection can run on a fraction of the frames
and each face keeps an identity for temporal smoothing.

On detection frames, detections are matched to tracks by box overlap (greedy, highest IoU
first); unmatched detections start tracks, tracks unmatched for ``max_misses`` detection
rounds end. On the frames in between, each track's five landmarks are carried by pyramidal
Lucas-Kanade optical flow on the gray frame and its box moves with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..detect.base import Detections


@dataclass
class Track:
    id: int
    box: np.ndarray  # (4,) x1, y1, x2, y2
    landmarks: np.ndarray  # (5, 2)
    score: float
    misses: int = 0
    probabilities: np.ndarray | None = None  # smoothed
    neutral: float | None = None  # the neutral gate's probability, smoothed


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (n, 4) and b (m, 4) → (n, m)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


class Tracker:
    """IoU association on detection frames, optical flow in between."""

    def __init__(self, match_iou: float = 0.3, max_misses: int = 2) -> None:
        self.match_iou, self.max_misses = match_iou, max_misses
        self.tracks: list[Track] = []
        self._next = 0
        self._prev_gray: np.ndarray | None = None

    def update(self, detections: Detections, gray: np.ndarray) -> list[Track]:
        """Take a frame's detections; returns the live tracks."""
        self._prev_gray = gray
        boxes = detections.boxes
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if self.tracks and len(boxes):
            overlap = iou(np.stack([t.box for t in self.tracks]), boxes)
            for flat in np.argsort(overlap, axis=None)[::-1]:
                t, d = divmod(int(flat), len(boxes))
                if overlap[t, d] < self.match_iou:
                    break
                if t in matched_tracks or d in matched_dets:
                    continue
                track = self.tracks[t]
                track.box, track.landmarks = boxes[d].copy(), detections.landmarks[d].copy()
                track.score, track.misses = float(detections.scores[d]), 0
                matched_tracks.add(t)
                matched_dets.add(d)
        for t, track in enumerate(self.tracks):
            if t not in matched_tracks:
                track.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        for d in range(len(boxes)):
            if d not in matched_dets:
                self.tracks.append(
                    Track(
                        self._next,
                        boxes[d].copy(),
                        detections.landmarks[d].copy(),
                        float(detections.scores[d]),
                    )
                )
                self._next += 1
        return self.visible()

    def follow(self, gray: np.ndarray) -> list[Track]:
        """Carry the tracks into a new frame by optical flow (no detection)."""
        import cv2

        if self._prev_gray is None or not self.tracks:
            self._prev_gray = gray
            return self.visible()
        points = np.concatenate([t.landmarks for t in self.tracks]).astype(np.float32)
        # nextPts is an output buffer (its values are read only with OPTFLOW_USE_INITIAL_FLOW);
        # an array rather than None type-checks under every OpenCV's stubs (4.x lack None).
        start = points[:, None, :]
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self._prev_gray, gray, start, start.copy(), winSize=(15, 15), maxLevel=2
        )
        moved = moved.reshape(-1, 5, 2)
        ok = status.reshape(-1, 5).astype(bool)
        for track, new, good in zip(self.tracks, moved, ok, strict=True):
            if good.sum() >= 3:
                shift = np.median(new[good] - track.landmarks[good], axis=0)
                track.landmarks = np.where(good[:, None], new, track.landmarks + shift)
                track.box = track.box + np.tile(shift, 2)
        self._prev_gray = gray
        return self.visible()

    def visible(self) -> list[Track]:
        """Tracks seen at the latest detection round."""
        return [t for t in self.tracks if t.misses == 0]
