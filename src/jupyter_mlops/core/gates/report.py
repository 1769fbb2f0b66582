"""``validation/report.html``: one self-contained page for a model-risk reviewer.

The gate table (verdicts coloured), the bootstrap distribution of each relative gate's
difference, the group selection rates of each sensitive attribute, and the score distributions
of both models. Plots are inline SVG: no script, no stylesheet or font fetched, so the file
reads the same offline and years later.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from jupyter_mlops.core.gates.validate import Decision

__all__ = ["histogram_svg", "render_fragment", "render_report"]

_COLOURS = {"passed": "#1b7f3b", "failed": "#b3261e", "skipped": "#6b6b6b"}
_W, _H = 420, 140


def render_fragment(decision: Decision) -> str:
    """The report's content without page or stylesheet (what a notebook shows inline)."""
    e = html.escape
    champion = (
        f"version {e(decision.champion_version)}"
        if decision.champion_version
        else "no champion yet (relative gates skipped)"
    )
    rows = (
        "".join(
            "<tr>"
            f"<td>{e(g.gate)}</td>"
            f'<td style="color:{_COLOURS.get(g.verdict, "#000")};font-weight:bold">'
            f"{e(g.verdict)}</td>"
            f"<td>{_number(g.value)}</td><td>{_number(g.threshold)}</td>"
            f"<td>{_number(g.champion)}</td>"
            f"<td>{'' if g.interval is None else _interval(g.interval)}</td>"
            f"<td>{e(g.note)}</td></tr>"
            for g in decision.gates
        )
        or '<tr><td colspan="7">nothing was gated (no policy and no --gate)</td></tr>'
    )
    sections = [
        f"<h1>Validation of {e(decision.model)} version {e(decision.version)}: "
        f'<span style="color:{_COLOURS.get(decision.status, "#000")}">'
        f"{e(decision.status.upper())}</span></h1>",
        f"<p>Against <code>@{e(decision.against)}</code>: {champion}. "
        f"Evaluation data: {decision.data.get('rows')} rows, fingerprint "
        f"<code>{e(str(decision.data.get('fingerprint')))}</code>. "
        f"By {e(decision.actor)} at {e(decision.time)}.</p>",
        "<table><tr><th>gate</th><th>verdict</th><th>value</th><th>limit</th>"
        "<th>champion</th><th>interval (challenger − champion)</th><th>note</th></tr>"
        f"{rows}</table>",
    ]
    for metric, result in decision.bootstrap.items():
        sections.append(
            f"<h2>Bootstrap of the {e(metric)} difference ({result.resamples} paired "
            f"resamples)</h2>"
            + histogram_svg({"challenger − champion": result.differences}, marks=(0.0,))
        )
    for attribute, groups in decision.groups.items():
        sections.append(f"<h2>Selection rate by {e(attribute)}</h2>" + _bars(groups))
    if decision.scores:
        sections.append(
            "<h2>Score distributions on the evaluation rows</h2>"
            + histogram_svg({k: np.asarray(v) for k, v in decision.scores.items()})
        )
    return "".join(sections)


def render_report(decision: Decision) -> str:
    """The whole page."""
    e = html.escape
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;font-size:90%}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>Validation {e(decision.model)}/{e(decision.version)}</title>"
        f"<style>{style}</style></head><body>{render_fragment(decision)}</body></html>\n"
    )


def histogram_svg(
    series: dict[str, np.ndarray[Any, Any]], *, bins: int = 30, marks: tuple[float, ...] = ()
) -> str:
    """Overlaid histograms of the finite values of each series, as inline SVG.

    >>> svg = histogram_svg({"a": np.array([0.1, 0.2, 0.2, 0.9])})
    >>> svg.startswith("<svg") and "a" in svg
    True
    """
    values = {k: v[np.isfinite(v)] for k, v in series.items()}
    present = [v for v in values.values() if v.size]
    if not present:
        return "<p>(no values)</p>"
    low = min(float(v.min()) for v in present)
    high = max(float(v.max()) for v in present)
    if high <= low:
        high = low + 1e-9
    edges = np.linspace(low, high, bins + 1)
    counts = {k: np.histogram(v, edges)[0] for k, v in values.items()}
    tallest = max(int(c.max()) for c in counts.values()) or 1
    palette = ("#3b6ea8", "#d9822b", "#7a4ca0")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H + 20}">']
    step = _W / bins
    for i, (name, count) in enumerate(counts.items()):
        colour = palette[i % len(palette)]
        for j, c in enumerate(count):
            h = _H * int(c) / tallest
            parts.append(
                f'<rect x="{j * step:.1f}" y="{_H - h:.1f}" width="{step:.1f}" '
                f'height="{h:.1f}" fill="{colour}" fill-opacity="0.45"/>'
            )
        parts.append(
            f'<text x="{4 + 150 * i}" y="{_H + 15}" font-size="11" fill="{colour}">'
            f"{html.escape(name)}</text>"
        )
    for mark in marks:
        if low <= mark <= high:
            x = _W * (mark - low) / (high - low)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{_H}" stroke="#000"/>')
    parts.append(
        f'<text x="{_W - 4}" y="{_H + 15}" font-size="11" text-anchor="end">'
        f"{low:.3g} … {high:.3g}</text></svg>"
    )
    return "".join(parts)


def _bars(groups: dict[str, dict[str, float]]) -> str:
    width = 260
    parts = ["<table>"]
    for group, values in groups.items():
        rate = values.get("selection_rate", float("nan"))
        filled = 0 if not np.isfinite(rate) else int(width * rate)
        note = "" if values.get("gated", 1.0) else " (too small to gate)"
        parts.append(
            f"<tr><td>{html.escape(group)}{note}</td><td>"
            f'<svg width="{width}" height="12"><rect width="{filled}" height="12" '
            f'fill="#3b6ea8"/></svg></td><td>{_number(rate)}</td>'
            f"<td>{int(values.get('count', 0))} rows</td></tr>"
        )
    return "".join(parts) + "</table>"


def _number(value: float | None) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.4f}"


def _interval(interval: tuple[float, float]) -> str:
    return f"[{interval[0]:+.4f}, {interval[1]:+.4f}]"
