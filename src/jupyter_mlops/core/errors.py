"""The one exception base of jupyter-mlops and its mapping to exit codes and HTTP statuses.

Every error we raise on purpose is an :class:`MlopsError` carrying an :class:`ErrorCode`.
Adapters never invent their own mapping: the CLI exits with ``error.code.exit_code``, the
server answers with ``error.code.http_status``, and magics turn the message into one
``UsageError`` line.
"""

from __future__ import annotations

import enum

from jupyter_mlops.core.redaction import mask_uris

__all__ = ["ErrorCode", "MlopsError"]


class ErrorCode(enum.Enum):
    """What kind of failure an :class:`MlopsError` is; fixes its exit code and HTTP status."""

    #: The caller asked for something malformed (bad flag, bad value, bad name).
    USAGE = ("usage", 2, 400)
    #: A model, version, alias, run or store that was named does not exist. (A notebook or
    #: file given as a command's input that cannot be used is USAGE: the input is bad.)
    NOT_FOUND = ("not_found", 1, 404)
    #: Settings cannot be resolved into something usable (e.g. an invalid tracking URI).
    CONFIG = ("config", 1, 400)
    #: The tracking store (MLflow) could not be reached or refused the request.
    TRACKING_UNAVAILABLE = ("tracking_unavailable", 1, 503)
    #: The request conflicts with the current state (e.g. a name already taken).
    CONFLICT = ("conflict", 1, 409)
    #: A validation gate refused: the model is not good enough, or a protected alias would
    #: move without a passed validation (exit 3, so CI tells it from a broken job).
    GATE_REFUSED = ("gate_refused", 3, 409)
    #: Anything else that went wrong inside jupyter-mlops.
    INTERNAL = ("internal", 1, 500)

    def __init__(self, slug: str, exit_code: int, http_status: int) -> None:
        self.slug = slug
        self.exit_code = exit_code
        self.http_status = http_status


class MlopsError(Exception):
    """An error with a message meant for the user and a code that fixes how it is reported.

    The password of any URL in the message is masked here, once for every error we raise or
    pass on (MLflow names the tracking server, credentials included, in its own messages).

    >>> err = MlopsError("no such model 'credit'", ErrorCode.NOT_FOUND)
    >>> err.code.exit_code, err.code.http_status
    (1, 404)
    """

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INTERNAL) -> None:
        message = mask_uris(message)
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
