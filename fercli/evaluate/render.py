"""The evaluation report as HTML (self-contained: styles and SVG figures inline, opens
offline) and as Markdown (tables only), both rendered from the JSON report dict."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from ..faceset.ownership import HTML_MARK, MARKDOWN_MARK
from . import plots
from .gate import describe


def percent(metric: dict[str, Any]) -> str:
    """``0.7012 [0.68, 0.72]`` → ``70.1% (68.0–72.0)``."""
    text = f"{metric['value']:.1%}"
    if "ci" in metric:
        low, high = metric["ci"]
        text += f" ({low:.1%}–{high:.1%})"
    return text


def summary_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for m in report["models"]:
        cal = m["calibration"]
        rows.append(
            [
                m["name"],
                percent(m["accuracy"]),
                percent(m["macro_f1"]),
                percent(m["macro_recall"]),
                f"{cal['ece']:.3f}",
                f"{cal['nll']:.3f}",
            ]
        )
    return rows


SUMMARY_HEADER = ["model", "accuracy", "macro-F1", "macro recall", "ECE", "NLL"]
CLASS_HEADER = ["class", "support", "precision", "recall", "F1"]


def _class_rows(model: dict[str, Any]) -> list[list[str]]:
    return [
        [c, str(v["support"]), percent(v["precision"]), percent(v["recall"]), percent(v["f1"])]
        for c, v in model["per_class"].items()
    ]


def _confusion_rows(model: dict[str, Any], classes: list[str]) -> list[list[str]]:
    counts, rates = model["confusion"]["counts"], model["confusion"]["normalized"]
    return [
        [f"**{c}**", *(f"{n} ({r:.0%})" for n, r in zip(counts[i], rates[i], strict=True))]
        for i, c in enumerate(classes)
    ]


def _context_lines(report: dict[str, Any]) -> list[str]:
    data = report["data"]
    boot = report["bootstrap"]
    tta = ", ".join(report["tta"]) or "none"
    lines = [
        f"Data: {data['path']} (split: {data['split']}, {data['faces']} labelled faces)",
        f"Test-time augmentation: {tta} ({report['views']} view(s) per face)",
    ]
    if boot["resamples"]:
        lines.append(
            f"Intervals: {boot['confidence']:.0%} percentile bootstrap, "
            f"{boot['resamples']} resamples (seed {boot['seed']})"
        )
    lines.append(f"fercli {report['fercli_version']}, {report['created']}")
    return lines


# --- Markdown ---------------------------------------------------------------------------
def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def to_markdown(report: dict[str, Any]) -> str:
    classes = report["data"]["classes"]
    parts = [MARKDOWN_MARK, "# fer eval report", ""]
    parts += [*(f"- {line}" for line in _context_lines(report)), ""]
    parts += ["## Summary", "", _md_table(SUMMARY_HEADER, summary_rows(report)), ""]
    for m in report["models"]:
        parts += [f"## {m['name']}", ""]
        parts += [f"> warning: {w}" for w in m.get("warnings", [])]
        parts += [_md_table(CLASS_HEADER, _class_rows(m)), ""]
        parts += ["Confusion matrix (rows true, columns predicted; count and row share):", ""]
        parts += [_md_table(["true \\ predicted", *classes], _confusion_rows(m, classes)), ""]
        tops = ", ".join(
            f"{t['true']}→{t['predicted']} {t['count']} ({t['rate']:.0%})"
            for t in m["top_confusions"]
        )
        parts += [f"Top confusions: {tops or 'none'}", ""]
        if "gate" in m:
            parts += [f"The {describe(m['gate'])}; the six-class figures above are without it.", ""]
    return "\n".join(parts)


# --- HTML -------------------------------------------------------------------------------
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f6f8; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.figures svg { max-width: 100%; height: auto; }
.warning { color: #a15c00; }
.meta { color: #555; }
"""


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: dict[str, Any]) -> str:
    classes = report["data"]["classes"]
    e = html.escape
    out = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{HTML_MARK}",
        f"<title>fer eval: {e(report['data']['path'])}</title><style>{STYLE}</style></head>",
        "<body><h1>fer eval report</h1><ul class='meta'>",
        *(f"<li>{e(line)}</li>" for line in _context_lines(report)),
        "</ul><h2>Summary</h2>",
        _html_table(SUMMARY_HEADER, summary_rows(report)),
    ]
    recalls: dict[str, Sequence[float]] = {
        m["name"]: [m["per_class"][c]["recall"]["value"] for c in classes] for m in report["models"]
    }
    out.append(f"<div class='figures'>{plots.recall_svg(recalls, classes)}</div>")
    for m in report["models"]:
        out.append(f"<h2>{e(m['name'])}</h2>")
        out += [f"<p class='warning'>warning: {e(w)}</p>" for w in m.get("warnings", [])]
        out.append(_html_table(CLASS_HEADER, _class_rows(m)))
        tops = ", ".join(
            f"{t['true']} → {t['predicted']}: {t['count']} ({t['rate']:.0%})"
            for t in m["top_confusions"]
        )
        out.append(f"<p>Top confusions: {e(tops or 'none')}</p>")
        if "gate" in m:
            out.append(f"<p>The {e(describe(m['gate']))}; six-class figures are without it.</p>")
        cal = m["calibration"]
        out += [
            "<div class='figures'>",
            plots.confusion_svg(m["confusion"]["counts"], classes, f"{m['name']}: confusion"),
            plots.reliability_svg(cal["bins"], cal["ece"], f"{m['name']}: reliability"),
            "</div>",
            f"<p class='meta'>Brier {cal['brier']:.3f}, mean confidence "
            f"{cal['mean_confidence']:.1%}, {m['faces_per_s']:.0f} faces/s</p>",
        ]
    command = " ".join(report.get("command", []))
    out.append(f"<p class='meta'>Made by: <code>{e(command)}</code></p></body></html>")
    return "\n".join(out)


REPORT_FORMATS = {".json": "json", ".html": "html", ".htm": "html", ".md": "markdown"}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in ``fmt``: json, html or markdown."""
    if fmt == "json":
        import json

        return json.dumps(report, indent=2) + "\n"
    return to_html(report) if fmt == "html" else to_markdown(report)


def format_of(path: str) -> str:
    """The report format a file name asks for (by suffix)."""
    import os

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in REPORT_FORMATS:
        raise UsageError(f"-o {path}: report files end in .json, .html or .md")
    return REPORT_FORMATS[suffix]
