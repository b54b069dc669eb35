"""``fer import`` on the real FER-2013 (+ FER+) from ../shared, checked against an independent
pass over the raw CSV. Skips with the reason when ../shared is absent."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter, defaultdict

import numpy as np
import pytest

from fercli.core.taxonomy import CLASSES, FER2013_CODES
from fercli.faceset import open_faceset

pytestmark = pytest.mark.slow

SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


def _independent_report(path):
    """Counts, neutral drops, duplicate groups and blank rows, computed the plain way."""
    counts: dict[str, Counter] = defaultdict(Counter)
    neutral: Counter = Counter()
    groups: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    blank = []
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row, (emotion, pixels, usage) in enumerate(reader):
            name, split = FER2013_CODES[int(emotion)], SPLIT[usage]
            if name == "neutral":
                neutral[split] += 1
                continue
            counts[split][name] += 1
            groups[pixels].append((row, split, CLASSES.index(name)))
            if len(set(pixels.split())) == 1:
                blank.append(row)
    dup = [g for g in groups.values() if len(g) > 1]
    within = Counter(g[0][1] for g in dup if len({s for _, s, _ in g}) == 1)
    across = sum(1 for g in dup if len({s for _, s, _ in g}) > 1)
    conflicting = sum(1 for g in dup if len({lab for _, _, lab in g}) > 1)
    return counts, neutral, dup, within, across, conflicting, blank


def test_import_fer2013_with_ferplus(cli, tmp_path, fer2013_csv, ferplus_csv):
    out = tmp_path / "fer2013.h5"
    result = cli("import", fer2013_csv, "-o", out, "--ferplus", ferplus_csv, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    counts, neutral, dup, within, across, conflicting, blank = _independent_report(fer2013_csv)

    assert sum(report["counts"]["train"].values()) == 23744
    assert sum(report["counts"]["val"].values()) == 2982
    assert report["dropped"] == {"neutral": {"train": 4965, "val": 607}}
    assert report["dropped"]["neutral"] == dict(neutral)
    assert report["counts"] == {s: dict(c) for s, c in counts.items()}
    assert report["seconds"] < 60

    d = report["duplicates"]
    assert d["groups"] == len(dup)
    assert d["redundant_faces"] == sum(len(g) - 1 for g in dup)
    assert d["groups_within_split"] == dict(within)
    assert sum(d["groups_across_splits"].values()) == across
    assert d["groups_with_conflicting_labels"] == conflicting
    assert sorted(int(s.rsplit(":", 1)[1]) for s in report["blank"]) == blank

    assert report["ferplus"]["faces"] == 26726
    with open_faceset(out) as fs:
        assert len(fs) == 26726 and fs.image_shape == (48, 48, 1)
        soft = fs.read("soft_labels")
        rows = ~np.isnan(soft).any(axis=1)
        assert rows.sum() == report["ferplus"]["with_soft_labels"]
        np.testing.assert_allclose(soft[rows].sum(axis=1), 1.0, rtol=1e-5)
        # FER+ majority agrees with FER-2013 on most faces that have votes
        agree = (soft[rows].argmax(axis=1) == fs.read("labels")[rows]).mean()
        assert agree > 0.6


def test_ferplus_neutral_relabels_only_calm_training_faces(cli, tmp_path, fer2013_csv, ferplus_csv):
    """The relabelled faces are exactly the six-class training rows whose FER+ neutral votes
    beat every other column, counted independently; PublicTest keeps FER-2013's labels."""
    counts, neutral, *_ = _independent_report(fer2013_csv)
    with gzip.open(fer2013_csv, "rt", newline="") as f:
        labels = [FER2013_CODES[int(r[0])] for r in list(csv.reader(f))[1:]]
    calm: Counter = Counter()
    with open(ferplus_csv, newline="") as f:
        for row, r in enumerate(list(csv.reader(f))[1:]):
            votes = [int(v or 0) for v in r[2:12]]
            if r[0] == "Training" and r[1].strip() and labels[row] != "neutral":
                calm[labels[row]] += votes[0] > max(votes[1:])
    out = tmp_path / "calm.h5"
    result = cli(
        "import", fer2013_csv, "-o", out, "--ferplus", ferplus_csv,
        "--ferplus-labels", "neutral", "--keep-unmapped", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ferplus"]["relabelled"] == sum(calm.values()) > 5000
    train = report["counts"]["train"]
    assert train["neutral"] == neutral["train"] + sum(calm.values())
    assert all(train[name] == counts["train"][name] - calm[name] for name in CLASSES)
    assert report["counts"]["val"] == {**counts["val"], "neutral": neutral["val"]}
