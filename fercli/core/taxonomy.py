"""The six emotion classes and the label maps of every dataset fercli imports.

There is exactly one class list: :data:`CLASSES`. Every face set stores it (in order) and
every model checkpoint stores it, so a label index means the same thing everywhere. Datasets
use other orders and other spellings; their maps live here, in one place, so importers never
hard-code integers.
"""

from __future__ import annotations

import re
from typing import Final

CLASSES: Final[tuple[str, ...]] = ("happy", "surprise", "sad", "angry", "disgust", "fear")
"""Canonical class names, in label-index order."""

NUM_CLASSES: Final[int] = len(CLASSES)

UNKNOWN: Final[int] = -1
"""Label value of a face without a (usable) label."""

DROPPED_CLASSES: Final[tuple[str, ...]] = ("neutral", "contempt")
"""Expressions some datasets label that are outside our six; dropped (and counted) at import."""

NEUTRAL: Final[int] = -2
"""Import-internal label of a face its dataset calls neutral (``fer import --keep-unmapped``).
It never reaches a file: such a face is written unlabelled (-1) with its ``neutral`` field
set, which is what trains a model's neutral gate."""

# Every spelling seen in public FER datasets and their folder layouts, lower-cased.
_SYNONYMS: Final[dict[str, str]] = {
    "happy": "happy",
    "happiness": "happy",
    "happily": "happy",
    "joy": "happy",
    "ha": "happy",
    "surprise": "surprise",
    "surprised": "surprise",
    "su": "surprise",
    "sad": "sad",
    "sadness": "sad",
    "sa": "sad",
    "angry": "angry",
    "anger": "angry",
    "angery": "angry",
    "an": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "disgusting": "disgust",
    "di": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "af": "fear",
    "fe": "fear",
    "neutral": "neutral",
    "ne": "neutral",
    "calm": "neutral",
    "contempt": "contempt",
    "contemptuous": "contempt",
    "co": "contempt",
}

FER2013_CODES: Final[dict[int, str]] = {
    0: "angry",
    1: "disgust",
    2: "fear",
    3: "happy",
    4: "sad",
    5: "surprise",
    6: "neutral",
}
"""FER-2013 ``emotion`` column (Kaggle ``fer2013.csv``/``icml_face_data.csv``)."""

FERPLUS_COLUMNS: Final[tuple[str, ...]] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
"""Vote columns of FER+ ``fer2013new.csv``, in file order."""

RAFDB_CODES: Final[dict[int, str]] = {
    1: "surprise",
    2: "fear",
    3: "disgust",
    4: "happy",
    5: "sad",
    6: "angry",
    7: "neutral",
}
"""RAF-DB basic emotion labels (``list_patition_label.txt``, Kaggle ``*_labels.csv``)."""

CKPLUS_CODES: Final[dict[int, str]] = {
    0: "neutral",
    1: "angry",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sad",
    7: "surprise",
}
"""CK+ ``Emotion/*_emotion.txt`` codes."""


def canonical(name: str) -> str | None:
    """Canonical spelling of an expression name, or None if it is not an expression we know.

    Accepts the spellings of common datasets and folder layouts, any case, with a numeric
    prefix such as ``"3_happy"`` or ``"03-happiness"``.
    """
    key = re.sub(r"^\d+[\s._-]+", "", name.strip().lower())
    return _SYNONYMS.get(key)


def class_index(name: str) -> int | None:
    """Label index of an expression name among :data:`CLASSES`, or None if outside the six."""
    canon = canonical(name)
    return CLASSES.index(canon) if canon in CLASSES else None
