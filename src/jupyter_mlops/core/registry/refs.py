"""Naming registered models: ``MODEL``, ``MODEL@ALIAS`` or ``MODEL/VERSION``, resolved with
errors that say what exists instead (close matches), and MLflow's refusals as our errors.

Every model name, alias and alias-move reason that comes in (magic, CLI, REST) passes
:func:`check_name` first: no control characters, names of at most :data:`MAX_NAME_LENGTH`.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.store.queries import quoted

__all__ = [
    "MAX_NAME_LENGTH",
    "ModelRef",
    "NotAVersionNumber",
    "check_name",
    "check_names",
    "get_model",
    "model_versions",
    "parse_model_ref",
    "resolve",
    "resolve_version",
    "suggest",
    "version_number",
]

#: The longest model or alias name accepted (characters).
MAX_NAME_LENGTH = 256
# Control, format (zero-width, bidi) and line/paragraph separators: names that print alike.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def check_name(text: str, what: str = "model name", *, limit: int | None = MAX_NAME_LENGTH) -> str:
    """Return ``text`` when it can name a model, an alias (or, with ``limit=None``, be a
    reason): no control or invisible format characters, at most ``limit`` characters.

    >>> check_name("credit-risk")
    'credit-risk'
    >>> check_name("m1\\x00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jupyter_mlops.core.errors.MlopsError: model name 'm1\\x00' holds the control or ...

    Raises:
        MlopsError: USAGE naming the first offending character, or the length and the limit.
    """
    shown = repr(text[:40] + ("..." if len(text) > 40 else ""))
    if limit is not None and len(text) > limit:
        raise MlopsError(
            f"{what} {shown} is {len(text)} characters long; the limit is {limit}",
            ErrorCode.USAGE,
        )
    bad = next((c for c in text if unicodedata.category(c) in _INVISIBLE), None)
    if bad is not None:
        raise MlopsError(
            f"{what} {shown} holds the control or invisible character {bad!r} "
            f"(U+{ord(bad):04X}); use visible characters only",
            ErrorCode.USAGE,
        )
    return text


def check_names(name: str, alias: str | None = None, reason: str | None = None) -> None:
    """Refuse a model name or alias MLflow would reject, or a reason :func:`check_name`
    refuses, before anything is read or written.

    Raises:
        MlopsError: USAGE naming what is wrong (MLflow's own wording for its rules).
    """
    from mlflow.utils import validation

    check_name(name)
    if alias is not None:
        check_name(alias, "alias")
    if reason is not None:
        check_name(reason, "reason", limit=None)
    try:
        validation._validate_model_name(name)
        if alias is not None:
            validation._validate_model_alias_name(alias)  # type: ignore[no-untyped-call]
            validation._validate_model_alias_name_reserved(alias)  # type: ignore[no-untyped-call]
    except MlflowException as exc:
        raise mlflow_error(exc, "invalid name") from None


class NotAVersionNumber(MlopsError):
    """A model version that is not a version number (adapters may word it their own way)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"version must be a version number, not {text!r}", ErrorCode.USAGE)
        self.text = text


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is True


def version_number(text: str | int) -> str:
    """``text`` as MLflow numbers versions.

    >>> version_number("07")
    '7'

    Raises:
        NotAVersionNumber: (USAGE) unless ``text`` is ASCII digits.
    """
    text = str(text)
    if not _is_number(text):
        raise NotAVersionNumber(text)
    return str(int(text))


@dataclass(frozen=True)
class ModelRef:
    """A registered model, optionally narrowed to one alias or one version."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version else self.name


def parse_model_ref(text: str) -> ModelRef:
    """Parse ``MODEL``, ``MODEL@ALIAS`` or ``MODEL/VERSION`` (also ``models:/`` URIs).

    >>> parse_model_ref("credit-risk@champion")
    ModelRef(name='credit-risk', alias='champion', version=None)
    >>> parse_model_ref("models:/credit-risk/3")
    ModelRef(name='credit-risk', alias=None, version='3')

    Raises:
        MlopsError: (USAGE) for an empty name, alias or a version that is not a number (ASCII
            digits only), or a name or alias :func:`check_name` refuses.
    """
    ref = text.strip().removeprefix("models:/")
    shown = repr(text[:60] + ("..." if len(text) > 60 else ""))
    if "@" in ref:
        name, _, alias = ref.rpartition("@")
        if not name.strip() or not alias.strip():
            raise MlopsError(f"{shown}: expected MODEL@ALIAS", ErrorCode.USAGE)
        return ModelRef(check_name(name.strip()), alias=check_name(alias.strip(), "alias"))
    name, sep, version = ref.rpartition("/")
    if sep:
        if not _is_number(version) or not name.strip():
            raise MlopsError(
                f"{shown}: expected MODEL/VERSION with a version number", ErrorCode.USAGE
            )
        return ModelRef(check_name(name.strip()), version=str(int(version)))
    if not ref:
        raise MlopsError("a model name is required", ErrorCode.USAGE)
    return ModelRef(check_name(ref))


def suggest(wanted: str, existing: Iterable[str], plural: str) -> str:
    """``"; did you mean 'x'?"`` with close matches, else ``"; <plural>: a, b"``."""
    names = sorted(set(existing))
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    if not names:
        return f"; there are no {plural}"
    shown = ", ".join(repr(n) for n in names[:10])
    return f"; {plural}: {shown}{' ...' if len(names) > 10 else ''}"


def get_model(client: MlflowClient, name: str) -> RegisteredModel:
    """The registered model ``name``.

    Raises:
        MlopsError: NOT_FOUND naming close matches; USAGE for a name MLflow or
            :func:`check_name` rejects.
    """
    check_name(name)
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise mlflow_error(exc, f"cannot read model {name!r}") from None
    names = [m.name for m in client.search_registered_models(max_results=1000)]
    raise MlopsError(
        f"no registered model {name!r}{suggest(name, names, 'registered models')}",
        ErrorCode.NOT_FOUND,
    )


def model_versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """Every version of model ``name``, newest first."""
    versions: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(
            f"name = {quoted(name)}", max_results=1000, page_token=token
        )
        versions.extend(page)
        token = page.token
        if not token:
            break
    return sorted(versions, key=lambda v: int(v.version), reverse=True)


def resolve_version(client: MlflowClient, ref: ModelRef) -> ModelVersion:
    """The version ``ref`` names; a bare model name means its latest version.

    Raises:
        MlopsError: NOT_FOUND for an unknown model, alias or version (with what exists).
    """
    return resolve(client, ref)[1]


def resolve(client: MlflowClient, ref: ModelRef) -> tuple[RegisteredModel, ModelVersion]:
    """The registered model and the version ``ref`` names (see :func:`resolve_version`)."""
    model = get_model(client, ref.name)
    if ref.alias is not None:
        aliases = dict(model.aliases or {})
        if ref.alias not in aliases:
            raise MlopsError(
                f"model {ref.name!r} has no alias {ref.alias!r}"
                + suggest(ref.alias, aliases, "aliases"),
                ErrorCode.NOT_FOUND,
            )
        return model, client.get_model_version(ref.name, aliases[ref.alias])
    versions = model_versions(client, ref.name)
    if not versions:
        raise MlopsError(f"model {ref.name!r} has no versions", ErrorCode.NOT_FOUND)
    if ref.version is None:
        return model, versions[0]
    for version in versions:
        if str(version.version) == ref.version:
            return model, version
    existing = ", ".join(str(v.version) for v in reversed(versions))
    raise MlopsError(
        f"model {ref.name!r} has no version {ref.version}; versions: {existing}",
        ErrorCode.NOT_FOUND,
    )
