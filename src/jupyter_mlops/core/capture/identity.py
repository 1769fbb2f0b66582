"""Who is acting: the user name written on runs and on alias-ledger entries."""

from __future__ import annotations

import getpass
import os

__all__ = ["ACTOR_ENV", "current_user"]

#: Overrides the actor recorded on ledger entries (e.g. the CI job's service identity).
ACTOR_ENV = "JUPYTER_MLOPS_ACTOR"


def current_user(*, for_ledger: bool = False) -> str:
    """The login name of this process ("unknown" in containers without one).

    With ``for_ledger`` the ``JUPYTER_MLOPS_ACTOR`` environment variable wins when set.
    """
    if for_ledger and (actor := os.environ.get(ACTOR_ENV, "").strip()):
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
