"""The face set: fercli's one data format (versioned HDF5), its reader and writer.

See ``docs/faceset.md`` for the schema. Typical use::

    with FaceSetWriter("out.h5", classes=CLASSES, color="gray") as w:
        w.append({"images": imgs, "labels": labels})

    with open_faceset("out.h5") as fs:
        for chunk in fs.iter_chunks(["images", "labels"]):
            ...
"""

from .concat import concat
from .reader import FaceSet, open_faceset
from .schema import FIELDS, SCHEMA_NAME, SCHEMA_VERSION, SPLITS
from .writer import FaceSetWriter

__all__ = [
    "FIELDS",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "SPLITS",
    "FaceSet",
    "FaceSetWriter",
    "concat",
    "open_faceset",
]
