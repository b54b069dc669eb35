"""fer merge (domains, colours, duplicates, leakage, caps, progressive MSDA), the
curriculum in fer train, fer pseudolabel and robust training on pseudo-labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fercli.core.taxonomy import CLASSES
from fercli.faceset import FaceSetWriter, open_faceset
from fercli.merge import curriculum as cur
from fercli.merge.dedupe import face_hashes, plan
from fercli.testing.synth import make_faces
from fercli.train.engine import Trainer, TrainOptions
from fercli.train.losses import LossOptions, entropy_penalty, loss_fn


def write(path, images, labels, split=None, color="gray"):
    with FaceSetWriter(path, classes=CLASSES, color=color) as w:
        batch = {"images": images, "labels": labels}
        if split is not None:
            batch["split"] = split
        w.append(batch)
    return path


def test_duplicate_plan_keeps_the_held_out_copy_and_reports_leakage():
    a = make_faces(6, 16, seed=0).images
    hashes = [face_hashes(a[[0, 1, 2, 0]]), face_hashes(a[[1, 3, 4]])]
    splits = [np.array(["train", "train", "val", "train"], object),
              np.array(["val", "train", "train"], object)]  # fmt: skip
    labels = [np.array([0, 1, 2, 0]), np.array([3, 3, 4])]  # face 1: labels 1 vs 3
    keep, report = plan(hashes, splits, labels, ["a", "b"])
    assert keep[0].tolist() == [True, False, True, False]  # face 1's val copy is in b
    assert keep[1].tolist() == [True, True, True]
    assert report.groups == 2 and report.removed == 2
    assert report.within_input == 1 and report.across_inputs == 1  # face 0 twice in a
    assert report.leakage_groups == 1 and report.conflicting_labels == 1
    assert report.removed_per_input == {"a": 2, "b": 0}


def test_merge_domains_colours_and_overlap(cli, tmp_path):
    faces = make_faces(60, 32, seed=1)
    a = write(tmp_path / "a.h5", faces.images[:40], faces.labels[:40])
    rgb = np.repeat(faces.images[30:60], 3, axis=3)  # 10 faces overlap a, in colour
    b = write(tmp_path / "b.h5", rgb, faces.labels[30:60], color="rgb")
    out = tmp_path / "m.h5"
    result = cli("merge", a, b, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["color"] == "gray" and summary["faces"] == 60
    assert summary["duplicates"]["across_inputs"] == 10
    with open_faceset(out) as merged:
        domains = merged.read("domain")
        assert (domains == "a").sum() == 40 and (domains == "b").sum() == 20
        assert merged.image_shape == (32, 32, 1)
    assert sum(sum(c.values()) for c in summary["per_domain"].values()) == 60
    result = cli("merge", a, b, "-o", tmp_path / "rgb.h5", "--color", "rgb", "--json")
    assert json.loads(result.stdout)["color"] == "rgb"  # gray copies hash like their RGB twin
    assert json.loads(result.stdout)["faces"] == 60


def test_merge_refuses_other_sizes_and_classes(cli, tmp_path):
    a = write(tmp_path / "a.h5", make_faces(4, 32).images, np.zeros(4, np.int16))
    b = write(tmp_path / "b.h5", make_faces(4, 48).images, np.zeros(4, np.int16))
    result = cli("merge", a, b, "-o", tmp_path / "m.h5")
    assert result.exit_code == 1 and "bring them to one size" in result.stderr
    with FaceSetWriter(tmp_path / "c.h5", classes=(*CLASSES[:5], "neutral"), color="gray") as w:
        w.append({"images": make_faces(4, 32).images, "labels": np.zeros(4, np.int16)})
    result = cli("merge", a, tmp_path / "c.h5", "-o", tmp_path / "m.h5")
    assert result.exit_code == 1 and "classes" in result.stderr
    assert not (tmp_path / "m.h5").exists()


def test_merge_carries_the_one_template_of_its_aligned_inputs(cli, tmp_path):
    faces = make_faces(8, 96, seed=3, color="rgb", scale_range=(0.25, 0.3))
    with FaceSetWriter(tmp_path / "photos.h5", classes=CLASSES, color="rgb") as w:
        w.append({"images": faces.images, "labels": faces.labels, "landmarks": faces.landmarks})
    for name, zoom in (("wide", "0.7"), ("tight", "0.85")):
        result = cli("align", tmp_path / "photos.h5", "--zoom", zoom, "-o", tmp_path / f"{name}.h5")
        assert result.exit_code == 0, result.output
    crops = write(tmp_path / "crops.h5", make_faces(8, 64, seed=4).images, faces.labels)
    assert cli("merge", crops, tmp_path / "wide.h5", "-o", tmp_path / "m.h5").exit_code == 0
    with open_faceset(tmp_path / "m.h5") as merged:  # what a model trained on it aligns onto
        record = merged.attrs["alignment"]
    assert record["template"] == "arcface-5pt-zoom0.7" and record["unaligned_domains"] == ["crops"]
    result = cli("merge", tmp_path / "wide.h5", tmp_path / "tight.h5", "-o", tmp_path / "x.h5")
    assert result.exit_code == 1 and "onto one template" in result.stderr
    assert not (tmp_path / "x.h5").exists()


def test_caps_per_domain_and_class(cli, tmp_path):
    faces = make_faces(120, 16, seed=2)
    a = write(tmp_path / "a.h5", faces.images, faces.labels)
    result = cli("merge", a, "-o", tmp_path / "m.h5", "--max-per-class", "7", "--json")
    counts = json.loads(result.stdout)["per_domain"]["a"]
    assert counts == {c: 7 for c in CLASSES}
    result = cli("merge", a, "-o", tmp_path / "n.h5", "--max-per-domain", "50", "--json")
    assert json.loads(result.stdout)["faces"] == 50
    # validation faces are never capped
    split = ["val"] * 30 + ["train"] * 90
    b = write(tmp_path / "b.h5", faces.images, faces.labels, split)
    result = cli("merge", b, "-o", tmp_path / "v.h5", "--max-per-domain", "50", "--json")
    assert json.loads(result.stdout)["faces"] == 80
    with open_faceset(tmp_path / "v.h5") as m:
        assert (m.read("split") == "val").sum() == 30


def _shifted(images: np.ndarray, seed: int) -> np.ndarray:
    """Another domain: inverted contrast, blur-free but noisy and darker."""
    rng = np.random.default_rng(seed)
    noisy = 255 - images.astype(np.float32) * 0.6 + rng.normal(0, 25, images.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_relevance_ranks_the_closer_domain_first(cli, tmp_path):
    target = write(tmp_path / "target.h5", make_faces(200, 32, seed=10).images,
                   np.full(200, -1, np.int16))  # fmt: skip
    near = make_faces(150, 32, seed=11)
    far = make_faces(150, 32, seed=12)
    a = write(tmp_path / "near.h5", near.images, near.labels)
    b = write(tmp_path / "far.h5", _shifted(far.images, 0), far.labels)
    out = tmp_path / "m.h5"
    result = cli("merge", a, b, "--target", target, "-o", out, "--stages", "3",
                 "--threshold", "0", "--memory", "0.2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with open_faceset(out) as m:
        domain, stage = m.read("domain"), m.read("stage")
        relevance, memory, labels = m.read("relevance"), m.read("memory"), m.read("labels")
        assert m.attrs["curriculum"]["start_epochs"] == [0, 5, 10]
    assert relevance[domain == "near"].mean() > 0.3 > relevance[domain == "far"].mean()
    assert (stage[domain == "near"] == 0).mean() > 0.6  # the closest domain comes first
    means = summary["target"]["mean_relevance_per_stage"]
    assert means == sorted(means, reverse=True)
    filtered = cli("merge", a, b, "--target", target, "-o", tmp_path / "f.h5",
                   "--threshold", "0.02", "--json")  # fmt: skip
    dropped = json.loads(filtered.stdout)["target"]["dropped_below_threshold"]
    with open_faceset(tmp_path / "f.h5") as f:
        assert (f.read("relevance") >= 0.02).all() and len(f) == 300 - dropped
        assert (f.read("domain") == "far").sum() < 30 < (f.read("domain") == "near").sum()
    # memory: ~20% of each class in each stage but the last, none in the last
    last = stage.max()
    assert memory[stage == last].sum() == 0
    for s in range(last):
        for c in np.unique(labels[stage == s]):
            members = (stage == s) & (labels == c)
            assert memory[members].sum() == max(1, round(members.sum() * 0.2))


def test_only_training_faces_are_ranked_dropped_and_staged(cli, tmp_path):
    """Validation faces far from the target stay (stage -1); the target's own validation
    faces do not shape the target: a target whose val split is another domain entirely
    ranks the sources exactly as its train split alone does."""
    near, far = make_faces(150, 32, seed=11), make_faces(150, 32, seed=12)
    target_faces = make_faces(200, 32, seed=10).images
    halves = np.array(["train"] * 75 + ["val"] * 75, object)
    a = write(tmp_path / "near.h5", near.images, near.labels, list(halves))
    b = write(tmp_path / "far.h5", _shifted(far.images, 0), far.labels, list(halves))
    unlabelled = np.full(200, -1, np.int16)
    target = write(tmp_path / "t.h5", target_faces, unlabelled, ["train"] * 200)
    polluted = write(
        tmp_path / "tp.h5",
        np.concatenate([target_faces, _shifted(far.images, 1)]),
        np.full(350, -1, np.int16),
        ["train"] * 200 + ["val"] * 150,
    )
    runs = {}
    for name, t in (("plain", target), ("polluted", polluted)):
        out = tmp_path / f"{name}.h5"
        result = cli("merge", a, b, "--target", t, "-o", out, "--threshold", "0.05", "--json")
        assert result.exit_code == 0, result.output
        runs[name] = json.loads(result.stdout)["target"]
        with open_faceset(out) as m:
            split, stage, domain = m.read("split"), m.read("stage"), m.read("domain")
            relevance = m.read("relevance")
        assert (split == "val").sum() == 150  # every validation face is still there
        assert (stage[split == "val"] == -1).all()
        assert runs[name]["dropped_below_threshold"] > 30  # far training faces do go
        assert (domain[split == "train"] == "far").sum() < 75
    assert runs["plain"]["target_faces"] == runs["polluted"]["target_faces"] == 200
    assert runs["plain"]["ranked_faces"] == 300 - 150
    assert runs["plain"]["stage_sizes"] == runs["polluted"]["stage_sizes"]
    assert relevance.min() >= 0


def test_a_target_whose_chunks_hold_no_training_faces(cli, tmp_path, monkeypatch):
    """A target streamed in chunks of which some hold validation faces only (and in the
    other colour, so they would be converted) is described by its training faces alone."""
    import fercli.faceset.reader

    monkeypatch.setattr(fercli.faceset.reader, "READ_BYTES", 1)  # one HDF5 chunk at a time
    near = make_faces(150, 32, seed=11)
    a = write(tmp_path / "near.h5", near.images, near.labels)
    rgb = make_faces(900, 32, seed=10, color="rgb").images
    target = write(tmp_path / "t.h5", rgb, np.full(900, -1, np.int16),
                   ["train"] * 200 + ["val"] * 700, color="rgb")  # fmt: skip
    with open_faceset(target) as t:
        assert t.default_chunk() < 700  # at least one chunk is validation only
    result = cli("merge", a, "--target", target, "-o", tmp_path / "m.h5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"]["target_faces"] == 200


def test_memory_picks_the_densest_faces():
    rng = np.random.default_rng(0)
    core = rng.normal(0, 0.1, (20, 2))  # a tight cluster: the stage's representatives
    outliers = rng.normal(0, 5, (5, 2))
    emb = np.concatenate([core, outliers, [[9, 9]]]).astype(np.float32)
    stage = np.array([0] * 25 + [1], np.int16)  # the last stage keeps no memory
    memory = cur.memory_of(emb, stage, np.zeros(26, int), 0.2, 5)
    assert memory[:20].sum() == 5 and memory[20:].sum() == 0


def test_curriculum_pool_per_epoch(tmp_path):
    faces = make_faces(60, 32, seed=3)
    path = tmp_path / "c.h5"
    stage = np.repeat([0, 1, 2], 20).astype(np.int16)
    memory = np.zeros(60, np.uint8)
    memory[[0, 1, 20]] = 1
    with FaceSetWriter(path, classes=CLASSES, color="gray",
                       attrs={"curriculum": {"start_epochs": [0, 2, 4]}}) as w:  # fmt: skip
        w.append({"images": faces.images, "labels": faces.labels, "stage": stage,
                  "memory": memory, "split": ["train"] * 50 + ["val"] * 10})  # fmt: skip
    trainer = Trainer(path, tmp_path / "m.pt", TrainOptions(epochs=1, batch_size=8))
    train_stage = trainer.train.stage.numpy()
    for epoch, allowed, replayed in ((0, {0}, 0), (2, {0, 1}, 2), (5, {0, 1, 2}, 3)):
        trainer.epoch = epoch
        pool = trainer._pool().numpy()
        assert set(train_stage[pool]) == allowed
        assert len(pool) - len(set(pool.tolist())) == replayed  # memory drawn twice
        order = trainer._order(torch.Generator().manual_seed(0)).numpy()
        assert len(order) == len(trainer.train) and set(order) <= set(pool)
    trainer.epoch = 2
    assert trainer.train_epoch()["pool_faces"] == 40  # stages 0 and 1, reported per epoch


def test_certainty_weights_and_the_entropy_term():
    logits = torch.tensor([[4.0, 0, 0, 0, 0, 0], [0.0, 0, 0, 0, 0, 0]])
    targets = torch.nn.functional.one_hot(torch.tensor([0, 1]), 6).float()
    weights = torch.ones(6)
    both = loss_fn(logits, targets, weights, LossOptions("ce", 0.0))
    first = loss_fn(logits, targets, weights, LossOptions("ce", 0.0), torch.tensor([1.0, 0.0]))
    logp = torch.log_softmax(logits, 1)
    assert first == pytest.approx(-logp[0, 0].item() / 2)  # a weight-0 face adds nothing
    assert both == pytest.approx(-(logp[0, 0] + logp[1, 1]).item() / 2)
    pseudo = torch.tensor([True, True])
    term = entropy_penalty(logits, pseudo, torch.tensor([1.0, 0.0]))
    assert term == pytest.approx(-np.log(6) / 2, abs=1e-5)  # only the uncertain face counts
    assert entropy_penalty(logits, torch.tensor([False, False]), None) == 0


def test_pseudolabel_then_robust_training(cli, synth_model, tmp_path):
    checkpoint, test_set = synth_model
    pseudo = tmp_path / "pseudo.h5"
    result = cli("pseudolabel", checkpoint, test_set, "-o", pseudo, "--tta", "flip", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["faces"] == 300 and summary["agreement_with_existing_labels"] > 0.9
    with open_faceset(pseudo) as p:
        probs, weight = p.read("soft_labels"), p.read("weight")
        assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
        assert (p.read("labels") == probs.argmax(axis=1)).all()
        h = -(np.clip(probs, 1e-12, 1) * np.log(np.clip(probs, 1e-12, 1))).sum(axis=1)
        assert np.allclose(weight, 1 - h / np.log(6), atol=1e-4)
        assert p.attrs["pseudo_labels"]["tta"] == ["flip"]
    gated = cli("pseudolabel", checkpoint, test_set, "-o", tmp_path / "g.h5",
                "--min-confidence", "0.999", "--json")  # fmt: skip
    assert json.loads(gated.stdout)["below_min_confidence"] > 0
    small = tmp_path / "small.h5"
    faces = make_faces(120, 64, seed=6)
    write(small, faces.images, faces.labels)
    options = TrainOptions(epochs=1, batch_size=32, val_split=0.2, pseudo=pseudo)
    trainer = Trainer(small, tmp_path / "r.pt", options)
    assert len(trainer.train) == 96 + 300 and int(trainer.train.pseudo.sum()) == 300
    assert torch.allclose(trainer.train.weight[96:], torch.from_numpy(weight))
    assert trainer.run()["best"]["val_accuracy"] >= 0
