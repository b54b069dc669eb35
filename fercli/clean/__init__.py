"""Finding the faces that hurt training (``fer clean``): outliers by an autoencoder's
reconstruction error, near-duplicates by perceptual hash, likely label errors by confident
learning. Each detector is a module of its own; :mod:`fercli.ops.clean` runs them."""

FLAG_BITS = {"outlier": 1, "near_duplicate": 2, "label_error": 4}
"""The ``flags`` field is a bitmask: a face flagged for several reasons has several bits."""
