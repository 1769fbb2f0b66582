"""A time limit on the store calls made while a run is captured.

A tracking server that dies mid-session used to block a notebook for minutes: MLflow's HTTP
client retries a refused connection 7 times with exponential back-off (about 250 s per call),
and waits 120 s for each answer. While capturing, every store call runs under a
:class:`StoreDeadline`: one budget of ``store_timeout`` seconds (``JUPYTER_MLOPS_STORE_TIMEOUT``
or ``store_timeout`` in ``[tool.jupyter-mlops]``, default 10) shared by the calls of one step,
such as ending a run. The call runs in a worker thread and is abandoned when the budget is
spent; for HTTP stores MLflow's own limits (``MLFLOW_HTTP_REQUEST_TIMEOUT``,
``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR``) are lowered for
our calls only, and never where the user set them.
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any, TypeVar

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.causes import store_cause

__all__ = [
    "StoreDeadline",
    "StoreUnavailable",
]

_HTTP_RETRIES = "1"  # one immediate retry (a transient 503); a dead server fails at once
_HTTP_BACKOFF = "1"

_T = TypeVar("_T")


class StoreUnavailable(MlopsError):
    """A store call that failed, or did not answer within the time limit."""

    def __init__(self, store: str, cause: str, *, timed_out: bool, seconds: float) -> None:
        self.store = store
        self.cause = cause
        self.timed_out = timed_out
        self.seconds = seconds
        what = f"did not answer within {seconds:g} s" if timed_out else f"failed ({cause})"
        super().__init__(f"the store {store} {what}", ErrorCode.TRACKING_UNAVAILABLE)


class StoreDeadline:
    """One time budget for the store calls of one step; see the module docstring.

    After a call has run out of time the store is taken as gone: later calls fail at once
    instead of waiting again. A call that fails quickly does not end the budget (the next call,
    e.g. ending the run after a refused write, is still tried). ``failure`` is the first one.
    """

    def __init__(self, store: str, seconds: float, tracking_uri: str | None = None) -> None:
        self.store = store
        self._tracking_uri = tracking_uri  # lets a cause say that a SQLite file is gone
        self.seconds = seconds
        self._until = time.monotonic() + seconds
        self.failure: StoreUnavailable | None = None
        self.expired = False

    def call(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run ``function(*args)`` within what is left of the budget.

        Raises:
            StoreUnavailable: when it raised (the cause is its innermost exception, one line),
                ran out of time, or the budget was already spent.
        """
        remaining = self._until - time.monotonic()
        if self.expired or remaining <= 0:
            raise self._fail("", timed_out=True)
        answer: Future[_T] = Future()
        context = contextvars.copy_context()

        def work() -> None:
            try:
                answer.set_result(context.run(function, *args))
            except BaseException as exc:  # handed to the waiting thread
                answer.set_exception(exc)

        with _mlflow_http_limits(remaining):
            worker = threading.Thread(target=work, name="jupyter-mlops-store", daemon=True)
            worker.start()
            try:
                return answer.result(timeout=remaining)
            except FutureTimeout:
                raise self._fail("", timed_out=True) from None
            except KeyboardInterrupt:  # the user gave up waiting: stop waiting, keep going
                raise self._fail("interrupted while waiting", timed_out=True) from None
            except Exception as exc:
                raise self._fail(store_cause(exc, self._tracking_uri), timed_out=False) from exc

    def _fail(self, cause: str, *, timed_out: bool) -> StoreUnavailable:
        failure = StoreUnavailable(self.store, cause, timed_out=timed_out, seconds=self.seconds)
        if timed_out:
            self.expired = True
        if self.failure is None or (timed_out and not self.failure.timed_out):
            self.failure = failure
        return failure


@contextmanager
def _mlflow_http_limits(seconds: float) -> Iterator[None]:
    """Lower MLflow's HTTP timeout and retries for the calls started inside; the user's own
    settings of these variables are left as they are."""
    wanted = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(seconds))),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": _HTTP_RETRIES,
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": _HTTP_BACKOFF,
    }
    added = [name for name in wanted if name not in os.environ]
    for name in added:
        os.environ[name] = wanted[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
