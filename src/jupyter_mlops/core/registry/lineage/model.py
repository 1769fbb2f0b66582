"""The parts of a lineage graph: its nodes and edges, and the schema name of its JSON form.

The graph itself (:class:`~jupyter_mlops.core.registry.lineage.graph.LineageGraph`) is built in
``graph``; ``render`` draws one from these parts without importing ``graph``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LINEAGE_SCHEMA", "Edge", "Node"]

LINEAGE_SCHEMA = "jupyter-mlops/lineage/1"


@dataclass(frozen=True)
class Node:
    """One thing in the graph; ``id`` is ``<kind>:<identifier>``."""

    kind: str  # dataset | job | run | model_version
    id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    """A directed relation between two nodes."""

    kind: str  # input | ran | produced | same_notebook
    source: str
    target: str
