"""Where the neutral gate's cost on FER-2013 comes from: its firing rate on PublicTest faces,
split by how FER+'s crowd reads each face (neutral or not) against FER-2013's own label.

    fer eval default fer64.h5 --split val --predictions pred.h5
    python examples/gate_by_crowd.py pred.h5 fer2013new.csv [--model default]

``pred.h5`` holds ``neutral_probability`` for every face (a model with a gate); the faces'
``source`` (``fer2013.csv.gz:ROW``) finds their FER+ votes. Prints a markdown table: how often
the gate fires at the model's threshold, and how many correctly classified six-class faces it
takes (each is a point of the gate's accuracy cost), then the cost at the threshold where it
reaches ``--recall`` of the labelled-neutral faces. docs/models.md reads the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fercli.datasets.ferplus import FerPlusVotes
from fercli.evaluate.gate import gate_summary
from fercli.faceset import open_faceset
from fercli.infer.predictor import LoadedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path, help="fer eval --predictions on FER-2013")
    parser.add_argument("ferplus", type=Path, help="FER+ fer2013new.csv")
    parser.add_argument("--model", default="default", help="whose gate threshold to apply")
    parser.add_argument("--recall", type=float, default=0.65, help="labelled-neutral recall")
    args = parser.parse_args()

    threshold = LoadedModel.load(args.model).checkpoint.gate_threshold
    if threshold is None:
        parser.error(f"{args.model}: no neutral gate")
    with open_faceset(args.predictions) as fs:
        if "neutral_probability" not in fs.fields:
            parser.error(f"{args.predictions}: no neutral_probability (a gated model's eval)")
        gate = fs.read("neutral_probability")
        labels = fs.read("labels")
        predictions = fs.read("predictions")
        rows = np.asarray([int(str(s).rsplit(":", 1)[1]) for s in fs.read("source")])
    calm = FerPlusVotes.load(args.ferplus).called_neutral(rows)
    six = labels >= 0
    correct = six & (predictions == labels)
    fired = gate >= threshold
    print(f"| faces (threshold {threshold:.3f}) | n | gate fires | correct and gated |")
    print("|---|---|---|---|")
    for name, mask in (
        ("labelled neutral", ~six),
        ("... crowd-neutral", ~six & calm),
        ("... not crowd-neutral", ~six & ~calm),
        ("six-class, crowd-neutral", six & calm),
        ("six-class, not crowd-neutral", six & ~calm),
    ):
        gated = int((correct & fired & mask).sum()) if six[mask].all() else "-"
        print(f"| {name} | {mask.sum()} | {fired[mask].mean():.1%} | {gated} |")
    # The cost as fer eval and fer train define it, and the part of it on crowd-neutral faces.
    at = float(np.quantile(gate[~six], 1 - args.recall))
    print()
    for where, t in (
        ("the model's threshold", threshold),
        (f"{args.recall:.0%} recall's threshold", at),
    ):
        cost = gate_summary(gate, t, labels, predictions, None)["cost"] * 100
        crowd = (correct & (gate >= np.float32(t)) & calm).sum() * 100 / six.sum()
        print(
            f"at {where} {t:.3f}: cost {cost:.2f} points, "
            f"{crowd:.2f} of them on crowd-neutral faces"
        )


if __name__ == "__main__":
    main()
