"""Collect ``fer eval`` JSON reports (several models × several sets) into one table.

``python -m fercli.evaluate.collect reports/*.json --csv table.csv --md table.md``: one row
per (set, model) with accuracy and macro-F1 (with their intervals), ECE and per-class recall.
``examples/eval_matrix.sh`` runs the evaluations and then this.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..faceset.atomic import write_text
from ..faceset.ownership import GENERATOR, MARKDOWN_MARK


def rows(reports: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per model per report."""
    out = []
    for report in reports:
        data = report["data"]
        for m in report["models"]:
            row: dict[str, Any] = {
                "data": data["path"],
                "split": data["split"],
                "faces": data["faces"],
                "model": m["name"],
                "tta": "+".join(report["tta"]) or "none",
            }
            for key in ("accuracy", "macro_f1"):
                row[key] = m[key]["value"]
                low, high = m[key].get("ci", (None, None))
                row[f"{key}_low"], row[f"{key}_high"] = low, high
            row["ece"] = m["calibration"]["ece"]
            for c, v in m["per_class"].items():
                row[f"recall_{c}"] = v["recall"]["value"]
            out.append(row)
    return out


def to_csv(table: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    marked = [{"generator": GENERATOR, **row} for row in table]
    writer = csv.DictWriter(buffer, fieldnames=list(marked[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(marked)
    return buffer.getvalue()


def to_markdown(table: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    header = list(table[0])
    lines = [MARKDOWN_MARK, "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(r[h]) for h in header) + " |" for r in table]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="fer eval JSON reports")
    parser.add_argument("--csv", type=Path, help="write the table as CSV here")
    parser.add_argument("--md", type=Path, help="write the table as Markdown here")
    args = parser.parse_args(argv)
    table = rows([json.loads(p.read_text()) for p in args.reports])
    if not table:
        parser.error("the reports hold no models")
    if args.csv:
        write_text(args.csv, to_csv(table))
    if args.md:
        write_text(args.md, to_markdown(table))
    if not (args.csv or args.md):
        print(to_markdown(table), end="")


if __name__ == "__main__":
    main()
