"""The alias ledger: the history of every alias move made through jupyter-mlops, kept in MLflow.

MLflow stores only where an alias points now (mlflow#2169). Each move made through the tool
appends one entry, stored as a **registered-model tag of its own**::

    mlops.ledger.<UTC time, microseconds>.<random hex>  =  {"time": ..., "actor": ..., ...}

Why tags with unique keys: setting a tag is a single upsert that every MLflow store and
server offers, so the ledger is readable from any MLflow client and needs no extra service.
Two writers never touch the same key, so concurrent moves never overwrite each other's entry
(no read-modify-write of a shared document). Entries are ordered by their time, then key.

A move first points the alias, then appends the entry; if the entry cannot be written the
alias is put back and the move fails, so the ledger never misses a move made by the tool.
Reading where the alias points, moving it and appending the entry happen under the model's
alias lock (:mod:`jupyter_mlops.core.registry.alias_lock`), so concurrent moves record the version
each one really replaced: every entry's "from" is the previous entry's "to".
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.identity import current_user
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.alias_lock import model_lock
from jupyter_mlops.core.registry.refs import (
    check_name,
    check_names,
    get_model,
    model_versions,
    suggest,
    version_number,
)
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.tags import LEDGER_PREFIX
from jupyter_mlops.core.types import LedgerEntry

__all__ = [
    "AliasMove",
    "alias_at",
    "aliases_at",
    "check_move",
    "ledger_entries",
    "move_alias",
    "parse_time",
    "rollback",
]

_MAX_REASON = 2000
_ATTEMPTS = 5


@dataclass(frozen=True)
class AliasMove:
    """One ledger entry: ``alias`` of ``model`` moved from one version to another."""

    time: str  # ISO 8601, UTC, microseconds
    actor: str
    model: str
    alias: str
    from_version: str | None  # None: the alias did not exist before
    to_version: str
    reason: str
    action: str  # "register", "set", "rollback", "promote" or "override"
    key: str = ""  # the tag holding the entry

    @property
    def when(self) -> datetime:
        """The entry's time as an aware UTC datetime."""
        return datetime.fromisoformat(self.time)

    def to_dict(self) -> LedgerEntry:
        """The entry as JSON-ready values (without its storage key)."""
        return {
            "time": self.time,
            "actor": self.actor,
            "model": self.model,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "action": self.action,
        }

    def describe(self) -> str:
        """One line: ``model@alias: version 1 -> version 2 (recorded <time> by <actor>)``."""
        was = f"version {self.from_version}" if self.from_version else "nothing"
        return (
            f"{self.model}@{self.alias}: {was} -> version {self.to_version} "
            f"(recorded {self.time} by {self.actor})"
        )


def ledger_entries(client: MlflowClient, model: str, alias: str | None = None) -> list[AliasMove]:
    """The ledger of ``model`` (optionally one alias), oldest first.

    Raises:
        MlopsError: NOT_FOUND for an unknown model, or an alias it never had (naming close
            matches).
    """
    registered = get_model(client, model)
    entries = []
    for key, value in dict(registered.tags or {}).items():
        if not key.startswith(LEDGER_PREFIX):
            continue
        try:
            data = json.loads(value)
            entries.append(AliasMove(key=key, **data))
        except (ValueError, TypeError):
            continue  # not an entry we wrote; never fail the whole history on it
    if alias is not None:
        known = {e.alias for e in entries} | set(dict(registered.aliases or {}))
        if alias not in known:
            raise MlopsError(
                f"model {model!r} has no alias {alias!r}" + suggest(alias, known, "aliases"),
                ErrorCode.NOT_FOUND,
            )
        entries = [e for e in entries if e.alias == alias]
    return sorted(entries, key=lambda e: (e.time, e.key))


def check_move(model: str, alias: str, version: str | int) -> str:
    """Check what an alias move names before anything is read or written; return the version
    as MLflow numbers it (``"07"`` -> ``"7"``).

    Raises:
        MlopsError: USAGE for a model name or alias MLflow would reject (checked first), then
            :class:`~jupyter_mlops.core.registry.refs.NotAVersionNumber` for a version that is
            not a number.
    """
    check_names(model, alias)
    return version_number(version)


def move_alias(
    client: MlflowClient,
    model: str,
    alias: str,
    version: str,
    *,
    reason: str,
    action: str = "set",
    now: Callable[[], datetime] | None = None,
) -> AliasMove:
    """Point ``alias`` of ``model`` at ``version`` and append the ledger entry.

    Raises:
        MlopsError: NOT_FOUND for an unknown model or version; USAGE for what
            :func:`check_move` refuses or an empty reason.
    """
    version = check_move(model, alias, version)
    if not reason.strip():
        raise MlopsError("a reason is required for every alias move", ErrorCode.USAGE)
    check_name(reason, "reason", limit=None)
    get_model(client, model)  # NOT_FOUND for an unknown model
    known = {str(v.version) for v in model_versions(client, model)}
    if version not in known:
        listed = ", ".join(sorted(known, key=int)) or "none"
        raise MlopsError(
            f"model {model!r} has no version {version}; versions: {listed}", ErrorCode.NOT_FOUND
        )
    with model_lock(client, model):  # read, move and record as one step (no other mover)
        held = dict(get_model(client, model).aliases or {}).get(alias)
        return _record(client, model, alias, version, held, reason, action, now)


def _record(
    client: MlflowClient,
    model: str,
    alias: str,
    version: str,
    held: object,
    reason: str,
    action: str,
    now: Callable[[], datetime] | None,
) -> AliasMove:
    """Move the alias from ``held`` (what it points to now) and append the entry."""
    previous = _point(client, model, alias, version, held)
    moment = (now or _utc_now)().astimezone(timezone.utc)
    entry = AliasMove(
        time=moment.isoformat(timespec="microseconds"),
        actor=current_user(for_ledger=True),
        model=model,
        alias=alias,
        from_version=previous,
        to_version=version,
        reason=reason.strip()[:_MAX_REASON],
        action=action,
        key=f"{LEDGER_PREFIX}{moment.strftime('%Y%m%dT%H%M%S.%fZ')}.{secrets.token_hex(4)}",
    )
    try:
        client.set_registered_model_tag(model, entry.key, json.dumps(entry.to_dict()))
    except Exception as exc:
        _restore(client, model, alias, previous)
        raise MlopsError(
            f"alias {alias!r} of {model!r} was not moved: its ledger entry could not be "
            f"written ({exc})",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from None
    return entry


def _point(client: MlflowClient, model: str, alias: str, version: str, seen: object) -> str | None:
    """Set the alias; return the version it held just before (None if it was new).

    MLflow's SQL store creates a missing alias with read-then-insert, so two writers creating
    the same alias at once make one fail on the unique key: that writer reads again and
    retries (then it is an update of what the other writer set).
    """
    previous = None if seen is None else str(seen)
    for attempt in range(_ATTEMPTS):
        try:
            client.set_registered_model_alias(model, alias, version)
            return previous
        except MlflowException as exc:
            if exc.error_code == "INVALID_PARAMETER_VALUE" or attempt == _ATTEMPTS - 1:
                raise mlflow_error(exc, f"cannot set alias {alias!r} of {model!r}") from None
        except Exception as exc:  # the database's own error (e.g. a unique-key race)
            if attempt == _ATTEMPTS - 1:
                raise MlopsError(
                    f"cannot set alias {alias!r} of {model!r}: {exc}",
                    ErrorCode.TRACKING_UNAVAILABLE,
                ) from None
        time.sleep(0.05 * (attempt + 1))
        held = dict(get_model(client, model).aliases or {}).get(alias)
        previous = None if held is None else str(held)
    return previous  # not reached: the last attempt returns or raises


def _restore(client: MlflowClient, model: str, alias: str, previous: str | None) -> None:
    try:
        if previous is None:
            client.delete_registered_model_alias(model, alias)
        else:
            client.set_registered_model_alias(model, alias, previous)
    except Exception:  # the store is failing; the error raised by the caller says enough
        pass


def rollback(client: MlflowClient, model: str, alias: str, *, reason: str) -> AliasMove:
    """Move ``alias`` back to the version it held before its last move; record it.

    Raises:
        MlopsError: NOT_FOUND when the alias has no recorded move or there was no earlier
            version; CONFLICT when the alias was moved outside jupyter-mlops since its last
            recorded move (then ``alias set`` names the version explicitly).
    """
    with model_lock(client, model):  # no move between reading the chain and rolling back
        return _rollback(client, model, alias, reason)


def _rollback(client: MlflowClient, model: str, alias: str, reason: str) -> AliasMove:
    entries = ledger_entries(client, model, alias)
    current = dict(get_model(client, model).aliases or {}).get(alias)
    if not entries:
        raise MlopsError(
            f"alias {alias!r} of {model!r} has no recorded move to roll back"
            + (f" (it points to version {current}, set outside jupyter-mlops)" if current else ""),
            ErrorCode.NOT_FOUND,
        )
    last = entries[-1]
    if current is not None and str(current) != last.to_version:
        raise MlopsError(
            f"alias {alias!r} of {model!r} points to version {current}, but its last recorded "
            f"move set version {last.to_version}: it was moved outside jupyter-mlops. "
            "Use `jupyter-mlops alias set` to choose the version",
            ErrorCode.CONFLICT,
        )
    if last.from_version is None:
        raise MlopsError(
            f"alias {alias!r} of {model!r} held no earlier version: version {last.to_version} "
            f"was its first ({last.time})",
            ErrorCode.NOT_FOUND,
        )
    return move_alias(client, model, alias, last.from_version, reason=reason, action="rollback")


def alias_at(entries: list[AliasMove], moment: datetime) -> AliasMove | None:
    """The entry in force at ``moment`` (the last one at or before it), None if none was."""
    held = None
    for entry in entries:
        if entry.when <= moment:
            held = entry
    return held


def aliases_at(
    entries: list[AliasMove], moment: datetime, alias: str | None = None
) -> dict[str, AliasMove | None]:
    """For each alias in ``entries`` (or just ``alias``): the entry in force at ``moment``."""
    names = sorted({e.alias for e in entries} | ({alias} if alias else set()))
    return {name: alias_at([e for e in entries if e.alias == name], moment) for name in names}


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time; without a zone it is taken as UTC.

    Raises:
        MlopsError: (USAGE) when ``text`` is not an ISO 8601 time.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MlopsError(
            f"--at {text!r} is not an ISO 8601 time (e.g. 2026-11-22T14:30:00Z)", ErrorCode.USAGE
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
