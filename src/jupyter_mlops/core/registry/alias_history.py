"""The history of a model's aliases as the alias ledger recorded it: every move, oldest first,
or which version each alias held at one moment (``jupyter-mlops alias history [--at]``).

:func:`alias_history` reads the ledger once; the :class:`AliasHistory` it returns gives the
table rows, the text and the JSON that adapters print.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mlflow import MlflowClient

from jupyter_mlops.core.registry.alias_ledger import AliasMove, aliases_at, ledger_entries

__all__ = ["HEADER", "AliasHistory", "alias_history"]

#: The columns of :meth:`AliasHistory.rows`.
HEADER = ("time (UTC)", "alias", "from", "to", "action", "actor", "reason")


@dataclass(frozen=True)
class AliasHistory:
    """The recorded moves of ``model`` (one ``alias`` when given); with ``moment``, also the
    entry in force then for each alias (None: the alias was not yet set)."""

    model: str
    alias: str | None
    entries: tuple[AliasMove, ...]
    moment: datetime | None = None
    held: dict[str, AliasMove | None] | None = None

    def rows(self) -> list[tuple[str, ...]]:
        """One row of :data:`HEADER` columns per move, oldest first ("-": from nothing)."""
        return [
            (e.time, e.alias, e.from_version or "-", e.to_version, e.action, e.actor, e.reason)
            for e in self.entries
        ]

    def to_json(self) -> str:
        """The moves as a JSON list; at a moment, ``{model, at, aliases, entries}``."""
        if self.moment is None or self.held is None:
            return json.dumps([e.to_dict() for e in self.entries], indent=2)
        return json.dumps(
            {
                "model": self.model,
                "at": self.moment.isoformat(),
                "aliases": {a: (e.to_version if e else None) for a, e in self.held.items()},
                "entries": {a: (e.to_dict() if e else None) for a, e in self.held.items()},
            },
            indent=2,
        )

    def to_text(self) -> str:
        """An aligned table of the moves (the reason last, unpadded), or one line per alias at
        a moment; a sentence when nothing was recorded."""
        if self.moment is not None and self.held is not None:
            return self._text_at(self.moment, self.held)
        if not self.entries:
            scope = f"alias {self.alias!r} of " if self.alias else ""
            return f"no alias moves recorded for {scope}{self.model}"
        rows = [HEADER, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
        lines = []
        for index, row in enumerate(rows):
            cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
            lines.append("  ".join([*cells, row[-1]]))
            if index == 0:
                lines.append("  ".join(["-" * w for w in widths] + ["-" * 6]))
        return "\n".join(lines)

    def _text_at(self, moment: datetime, held: dict[str, AliasMove | None]) -> str:
        when = moment.isoformat()
        if not held:
            return f"{self.model}: no alias moves recorded"
        lines = []
        for name, entry in held.items():
            if entry is None:
                lines.append(f"{self.model}@{name} at {when}: no version (not yet set)")
            else:
                lines.append(
                    f"{self.model}@{name} at {when}: version {entry.to_version} "
                    f"(since {entry.time}, {entry.actor}: {entry.reason})"
                )
        return "\n".join(lines)


def alias_history(
    client: MlflowClient, model: str, alias: str | None = None, *, at: datetime | None = None
) -> AliasHistory:
    """The ledger of ``model`` (optionally one alias), and with ``at`` what it held then.

    Raises:
        MlopsError: NOT_FOUND for an unknown model, or an alias it never had (naming close
            matches).
    """
    entries = ledger_entries(client, model, alias)
    held = None if at is None else aliases_at(entries, at, alias)
    return AliasHistory(model, alias, tuple(entries), at, held)
