"""Rendering a lineage graph: text for terminals, an inline SVG (themed with JupyterLab's CSS
variables) for notebooks.

``graph`` builds :class:`~jupyter_mlops.core.registry.lineage.graph.LineageGraph` and renders it
with these functions, so they take a :class:`Graph` (what they read of one) and never import
``graph``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Protocol

from jupyter_mlops.core.registry.lineage.model import Edge, Node

__all__ = ["Graph", "node_lines", "render_html", "render_text"]


class Graph(Protocol):
    """What rendering reads of a graph."""

    @property
    def root(self) -> str: ...

    @property
    def edges(self) -> Sequence[Edge]: ...

    def node(self, node_id: str) -> Node: ...

    def of_kind(self, kind: str) -> list[Node]: ...


_MAX_ITEMS = 4  # params/metrics shown per node (key ones first)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _items(values: dict[str, Any], keys: list[str] | None = None) -> str:
    if not values:
        return "-"
    order = [k for k in (keys or []) if k in values] + sorted(
        k for k in values if k not in (keys or [])
    )
    shown = ", ".join(f"{k}={_fmt(values[k])}" for k in order[:_MAX_ITEMS])
    return shown + (f" (+{len(order) - _MAX_ITEMS})" if len(order) > _MAX_ITEMS else "")


def _short(fingerprint: str | None) -> str:
    return (fingerprint or "")[:12]


def node_lines(node: Node) -> tuple[str, list[str]]:
    """A node's title and detail lines (shared by the text and SVG renderings)."""
    a = node.attributes
    if node.kind == "dataset":
        rows = f"{a['rows']:,} rows" if isinstance(a.get("rows"), int) else "rows unknown"
        return a["name"], [f"fingerprint {_short(a['fingerprint'])}", f"{rows}, {a['context']}"]
    if node.kind == "job":
        name = f" {a['name']!r}" if a.get("name") else ""
        outcome = str(a.get("outcome") or "running").replace("_", " ")
        lines = [
            f"outcome: {outcome}" + (f" (cell {a['failed_cell']})" if a.get("failed_cell") else "")
        ]
        if a.get("held_alias"):
            applied = [m for m in a.get("held_aliases") or [] if m.get("applied")]
            state = "moved" if applied else "held, not moved" if a.get("outcome") else "held"
            lines.append(f"alias {a['held_alias']!r}: {state}")
        return f"job{name} run {a['run_id'][:12]}", lines
    if node.kind == "run":
        name = a.get("name") or ""
        title = f"run {a['run_id'][:12]}" + (f" ({name})" if name else "")
        if not a.get("available", True):
            title += " (deleted: from the version's snapshot)"
        source = a.get("notebook_path") or a.get("script_path") or "notebook unknown"
        count = a.get("execution_count")
        cell = f"cell {a.get('cell_id') or '?'}" + (f" (In [{count}])" if count else "")
        commit = (a.get("commit") or "no commit")[:12] + (" (dirty)" if a.get("git_dirty") else "")
        where = f"{cell}, commit {commit}" if a.get("cell_id") or count else f"commit {commit}"
        return title, [
            source,
            where,
            f"params: {_items(a.get('params') or {}, a.get('key_params'))}",
            f"metrics: {_items(a.get('metrics') or {}, a.get('key_metrics'))}",
        ]
    aliases = ", ".join(a.get("aliases") or []) or "no alias"
    lines = [f"aliases: {aliases}", f"validation: {a.get('validation')}"]
    if not a.get("root"):
        metrics = _items(a.get("metrics") or {}, a.get("key_metrics"))
        lines.append(f"run {str(a.get('run_id') or '?')[:12]}, {metrics}")
    else:
        lines.append(f"registered {a.get('created') or '?'}")
    return f"{a['name']} version {a['version']}", lines


def render_text(graph: Graph) -> str:
    """The graph as indented text, data at the top, sibling versions at the bottom."""
    root = graph.node(graph.root)
    out = [f"Lineage of {root.attributes['name']} version {root.attributes['version']}", ""]
    datasets, runs = graph.of_kind("dataset"), graph.of_kind("run")
    for node in graph.of_kind("job"):
        title, lines = node_lines(node)
        out += [f"made by {title}: {'; '.join(lines)}", ""]
    siblings = [n for n in graph.of_kind("model_version") if n.id != graph.root]
    if datasets:
        out.append("training data")
        for node in datasets:
            title, lines = node_lines(node)
            out.append(f"  {title}: {'; '.join(lines)}")
    else:
        out.append("training data: none recorded")
    out += ["    |", "    v  input" if datasets else "    v"]
    for node in runs:
        title, lines = node_lines(node)
        out.append(title)
        out += [f"  {line}" for line in lines]
        out += ["    |", "    v  produced"]
    title, lines = node_lines(root)
    out.append(f"{title}   <- this version")
    out += [f"  {line}" for line in lines]
    if siblings:
        out += ["    |", "    +- same notebook:"]
        for node in siblings:
            title, lines = node_lines(node)
            out.append(f"       {title}: {'; '.join(lines)}")
    return "\n".join(out)


_BOX_W, _LINE_H, _PAD, _GAP_X, _GAP_Y = 250, 16, 8, 60, 14
_COLORS = {
    "dataset": "var(--jp-info-color3, #e1f5fe)",
    "run": "var(--jp-layout-color2, #eeeeee)",
    "job": "var(--jp-warn-color3, #fff8e1)",
    "model_version": "var(--jp-success-color3, #e8f5e9)",
}


def _box_height(lines: int) -> int:
    return _PAD * 2 + _LINE_H * (lines + 1)


def render_html(graph: Graph) -> str:
    """An inline SVG: one column per step, arrows along the edges; hover shows full ids."""
    root = graph.node(graph.root)
    captions = ("job", "training data", "run", "this version", "same notebook")
    candidates = [
        graph.of_kind("job"),
        graph.of_kind("dataset"),
        graph.of_kind("run"),
        [root],
        [n for n in graph.of_kind("model_version") if n.id != graph.root],
    ]
    shown = [(caption, c) for caption, c in zip(captions, candidates, strict=True) if c]
    columns = [c for _, c in shown]
    content = {n.id: node_lines(n) for c in columns for n in c}
    heights = {nid: _box_height(len(lines)) for nid, (_, lines) in content.items()}
    column_heights = [sum(heights[n.id] for n in c) + _GAP_Y * (len(c) - 1) for c in columns]
    top = _GAP_Y + _LINE_H  # room for the column captions
    total_h = max(column_heights) + top + _GAP_Y
    positions: dict[str, tuple[int, int]] = {}
    for index, column in enumerate(columns):
        x = _GAP_Y + index * (_BOX_W + _GAP_X)
        y = top + (total_h - top - _GAP_Y - column_heights[index]) // 2
        for node in column:
            positions[node.id] = (x, y)
            y += heights[node.id] + _GAP_Y
    width = _GAP_Y * 2 + len(columns) * _BOX_W + (len(columns) - 1) * _GAP_X
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
        f'viewBox="0 0 {width} {total_h}" font-family="var(--jp-ui-font-family, sans-serif)" '
        'font-size="12" role="img">',
        '<defs><marker id="jm-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="var(--jp-ui-font-color2, #666)"/></marker></defs>',
    ]
    for index, (caption, _) in enumerate(shown):
        x = _GAP_Y + index * (_BOX_W + _GAP_X)
        parts.append(
            f'<text x="{x}" y="{_GAP_Y}" fill="var(--jp-ui-font-color2, #666)" '
            f'font-size="11" letter-spacing="0.5">{html.escape(caption.upper())}</text>'
        )
    for edge in graph.edges:
        if edge.source not in positions or edge.target not in positions:
            continue
        sx, sy = positions[edge.source]
        tx, ty = positions[edge.target]
        y1 = sy + heights[edge.source] // 2
        y2 = ty + heights[edge.target] // 2
        parts.append(
            f'<line x1="{sx + _BOX_W}" y1="{y1}" x2="{tx}" y2="{y2}" '
            'stroke="var(--jp-ui-font-color2, #666)" stroke-width="1.2" '
            'marker-end="url(#jm-arrow)">'
            f"<title>{html.escape(edge.kind)}</title></line>"
        )
    for node_id, (x, y) in positions.items():
        node = graph.node(node_id)
        title, lines = content[node_id]
        stroke = (
            "var(--jp-brand-color1, #1976d2)"
            if node_id == graph.root
            else "var(--jp-border-color1, #999)"
        )
        parts.append(
            f'<g class="jm-node jm-{node.kind}"><title>{html.escape(node_id)}</title>'
            f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{heights[node_id]}" rx="6" '
            f'fill="{_COLORS[node.kind]}" stroke="{stroke}" '
            f'stroke-width="{2 if node_id == graph.root else 1}"/>'
        )
        text_y = y + _PAD + _LINE_H - 3
        parts.append(
            f'<text x="{x + _PAD}" y="{text_y}" font-weight="bold" '
            f'fill="var(--jp-ui-font-color1, #222)">{html.escape(_clip(title))}</text>'
        )
        for number, line in enumerate(lines, start=1):
            parts.append(
                f'<text x="{x + _PAD}" y="{text_y + number * _LINE_H}" '
                f'fill="var(--jp-ui-font-color1, #222)">{html.escape(_clip(line))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    caption = html.escape(
        f"Lineage of {root.attributes['name']} version {root.attributes['version']}"
    )
    return (
        f'<div class="jupyter-mlops-lineage"><p><b>{caption}</b></p>{"".join(parts)}'
        f"<details><summary>as text</summary><pre>{html.escape(render_text(graph))}</pre>"
        "</details></div>"
    )


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
