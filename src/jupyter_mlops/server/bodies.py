"""Request bodies of the REST contract as pydantic models, checked strictly (no text read as a
number, no number as text) with one user-facing message per field: the message names the
field as the request (and the panel) names it.

The fields mirror ``RegisterRequest``, ``JobRequest`` and ``ExecutionRequest`` of
:mod:`jupyter_mlops.core.types`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.register import RegistrationRequest

__all__ = ["Body", "ExecutionBody", "JobBody", "RegisterBody", "parse_body"]

B = TypeVar("B", bound="Body")


class Body(BaseModel):
    """A request body: strict types, unknown fields ignored unless a subclass forbids them."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    #: What to say when a field has the wrong type or value, by field name.
    invalid: ClassVar[Mapping[str, str]] = {}


def parse_body(model: type[B], data: Mapping[str, Any]) -> B:
    """``data`` (a JSON object) as ``model``.

    Raises:
        MlopsError: USAGE naming the first field that is missing, unknown or not valid.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MlopsError(_message(model, exc), ErrorCode.USAGE) from None


def _message(model: type[Body], exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if first["type"] == "missing":
        return f"the field {field!r} is required"
    return model.invalid.get(field, f"the field {field!r} is not valid: {first['msg']}")


class RegisterBody(Body):
    """``POST models/NAME/versions``: register the model logged on ``run_id``."""

    model_config = ConfigDict(extra="forbid")
    invalid: ClassVar[Mapping[str, str]] = {
        "run_id": "the field 'run_id' is required (the run's id, as text)",
        **{
            key: f"the field {key!r} must be text (or null)"
            for key in ("alias", "owner", "purpose", "risk_tier", "reason")
        },
    }

    run_id: str = Field(min_length=1)
    alias: str | None = None
    owner: str | None = None
    purpose: str | None = None
    risk_tier: str | None = None
    reason: str | None = None

    def request(self, name: str) -> RegistrationRequest:
        """What to register under ``name`` (empty text counts as not given)."""
        return RegistrationRequest(
            name=name,
            alias=self.alias or None,
            owner=self.owner or None,
            purpose=self.purpose or None,
            risk_tier=self.risk_tier or None,
            reason=self.reason or None,
        )


class JobBody(Body):
    """``POST jobs``: create or update the notebook's job contract."""

    invalid: ClassVar[Mapping[str, str]] = {
        "notebook": "the field 'notebook' must be text (a path below the server's root)",
        "name": "the field 'name' must be text (or null)",
        "model": "the field 'model' must be text (or null)",
        "experiment": "the field 'experiment' must be text (or null)",
        "parameters": "'parameters' must be a list of NAME[:TYPE]=DEFAULT",
    }

    notebook: str
    name: str | None = None
    model: str | None = None
    experiment: str | None = None
    parameters: list[str] | None = None


class ExecutionBody(Body):
    """``POST jobs/executions``: run the notebook's job in the background."""

    invalid: ClassVar[Mapping[str, str]] = {
        "notebook": "the field 'notebook' must be text (a path below the server's root)",
        "parameters": "'parameters' must be an object of name: value",
        "timeout": "'timeout' must be a positive number of seconds",
    }

    notebook: str
    parameters: dict[str, Any] | None = None
    timeout: float | None = None

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError("not a positive number of seconds")
        return value
