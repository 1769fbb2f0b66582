"""Routes: filled in by the feature work (placeholder so the extension loads)."""

from __future__ import annotations

ROUTES: list[tuple[str, type]] = []
