"""Keep secrets out of runs: names and values that look like credentials are masked.

Everything we write into MLflow (params, tags, the cell's code, the notebook snapshot, a
job's parameters and output notebook, error messages, the tracking URI we display) and every
REST reply carrying params or tags goes through this module first. The rules are deliberately
greedy: a masked harmless value costs little, a leaked token costs a lot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "is_secret_name",
    "looks_like_secret",
    "mask_uri",
    "mask_uris",
    "mask_value",
    "redact_mapping",
    "redact_papermill",
    "redact_parameters",
    "redact_text",
]

#: What a masked value is replaced with.
MASK = "***"

_SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|secret|token(?!iz)|credential|api[_\-.]?key|private[_\-.]?key"
    r"|access[_\-.]?key|auth(?!or)|(^|[_\-.])key$|^pwd$|session[_\-.]?id|cookie|signature)",
    re.IGNORECASE,
)

# Values that are secrets whatever they are called.
_SECRET_VALUE_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(r"\bA(?:KIA|SIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),  # Slack
    re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}\b"),  # OpenAI-style keys
    re.compile(r"\bdapi[0-9a-f]{32}\b"),  # Databricks personal access token
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),  # JWT
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{12,}=*"),
]
# user:password@ inside any URL.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@"
)
# name=value without quotes (command lines, --tag KEY=VALUE, URLs' query strings).
_UNQUOTED_SECRET = re.compile(r"""(?P<name>[A-Za-z_][A-Za-z0-9_\-.]*)=(?P<value>[^\s"'&;,)]+)""")
# name = "value" / name: 'value' / "name": "value" where the name looks secret.
_ASSIGNED_SECRET = re.compile(
    r"""(?P<name>["']?[A-Za-z_][A-Za-z0-9_\-.]*["']?)(?P<sep>\s*(?:=|:)\s*)"""
    r"""(?P<prefix>[rbufRBUF]{0,2})(?P<quote>["'])(?P<value>[^"'\n]*)(?P=quote)"""
)

_QUOTED = r"""(?P<prefix>[rbufRBUF]{0,2})(?P<quote>["'])(?P<value>[^"'\n]*)(?P=quote)"""
# os.environ["NAME"] = "value", config['password'] = 'x': a literal assigned to a subscript.
_SUBSCRIPT_SECRET = re.compile(
    r"""(?P<head>\[\s*(?P<nq>["'])(?P<name>[^"'\n]+)(?P=nq)\s*\]\s*=\s*)""" + _QUOTED
)
# os.putenv("NAME", "value"), os.environ.setdefault("NAME", "value").
_CALL_SECRET = re.compile(
    r"""(?P<head>\b(?:putenv|setdefault|__setitem__)\(\s*(?P<nq>["'])(?P<name>[^"'\n]+)(?P=nq)"""
    r"""\s*,\s*)""" + _QUOTED
)
# %env NAME value, %env NAME=value, %set_env NAME value: the rest of the line is the value.
_ENV_MAGIC = re.compile(
    r"(?m)^(?P<head>[ \t]*%(?:env|set_env)[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:[ \t]*=[ \t]*|[ \t]+))(?P<value>[^\s].*?)[ \t]*$"
)
# Any URL in free text (error messages): its password and secret query values are masked.
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>]+""")


def is_secret_name(name: str) -> bool:
    """Return True when a variable, parameter or tag name suggests it holds a credential.

    >>> is_secret_name("db_password"), is_secret_name("api_key"), is_secret_name("n_estimators")
    (True, True, False)
    """
    return bool(_SECRET_NAME.search(name))


def looks_like_secret(value: str) -> bool:
    """Return True when a value has the shape of a known token, key or URL with a password."""
    return any(p.search(value) for p in _SECRET_VALUE_PATTERNS) or bool(
        _URL_CREDENTIALS.search(value)
    )


def redact_text(text: str) -> str:
    """Mask secrets inside free text such as source code, outputs or error messages.

    >>> redact_text('token = "abc123"  # x')
    'token = "***"  # x'
    """

    def _assigned(match: re.Match[str]) -> str:
        bare = match.group("name").strip("\"'")
        if not is_secret_name(bare) or not match.group("value"):
            return match.group(0)
        quote = match.group("prefix") + match.group("quote")
        return f"{match.group('name')}{match.group('sep')}{quote}{MASK}{quote[-1]}"

    def _unquoted(match: re.Match[str]) -> str:
        if not is_secret_name(match.group("name")) or match.group("value") == MASK:
            return match.group(0)
        return f"{match.group('name')}={MASK}"

    def _environ(match: re.Match[str]) -> str:
        if not is_secret_name(match.group("name")) or match.group("value") in ("", MASK):
            return match.group(0)
        quote = match.group("prefix") + match.group("quote")
        return f"{match.group('head')}{quote}{MASK}{quote[-1]}"

    def _env_magic(match: re.Match[str]) -> str:
        if not is_secret_name(match.group("name")):
            return match.group(0)
        return f"{match.group('head')}{MASK}"

    text = _ENV_MAGIC.sub(_env_magic, text)
    text = _SUBSCRIPT_SECRET.sub(_environ, text)
    text = _CALL_SECRET.sub(_environ, text)
    text = _ASSIGNED_SECRET.sub(_assigned, text)
    text = _UNQUOTED_SECRET.sub(_unquoted, text)
    for pattern in _SECRET_VALUE_PATTERNS:
        text = pattern.sub(MASK, text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)


def mask_uri(uri: str) -> str:
    """Mask the password and token-like query parameters of a URI, keeping it recognisable.

    >>> mask_uri("postgresql://ml:s3cret@db:5432/mlflow")
    'postgresql://ml:***@db:5432/mlflow'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return redact_text(uri)
    netloc = parts.netloc
    if "@" not in netloc and not any(is_secret_name(k) for k, _ in parse_qsl(parts.query)):
        return uri  # nothing to mask; rebuilding could alter it (sqlite:////abs/path)
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_uris(text: str) -> str:
    """Mask the password (and secret query values) of every URL inside free text, such as an
    error message naming the tracking server.

    >>> mask_uris("API request to http://ana:S3cret@host:5000/api failed")
    'API request to http://ana:***@host:5000/api failed'
    """
    text = _URL.sub(lambda match: mask_uri(match.group(0)), text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)


def mask_value(name: str, text: str) -> str:
    """``text`` as recorded under ``name`` (the rule for every param we record): :data:`MASK`
    when the name looks secret or the text looks like a credential, else the text with secrets
    inside it masked (``{'password': '***', 'host': 'db'}``)."""
    return MASK if is_secret_name(name) or looks_like_secret(text) else redact_text(text)


def redact_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """Job parameter values with those of secret-looking names or values masked; lists and
    dicts are searched too (keys of nested dicts count as names).

    >>> redact_parameters({"api_token": "t0k", "n": 3, "db": {"password": "pw", "host": "h"}})
    {'api_token': '***', 'n': 3, 'db': {'password': '***', 'host': 'h'}}
    """
    return {key: _redacted_value(str(key), value) for key, value in values.items()}


def _redacted_value(name: str, value: Any) -> Any:
    if is_secret_name(name):
        return MASK
    if isinstance(value, Mapping):
        return redact_parameters(value)
    if isinstance(value, (list, tuple)):
        return [_redacted_value("", item) for item in value]
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return MASK if looks_like_secret(text) else value


def redact_papermill(document: dict[str, Any]) -> None:
    """Mask, in place, the parameters papermill recorded in an executed notebook: the
    ``metadata.papermill.parameters`` mapping, the lines of the injected-parameters cell
    that assign a masked parameter (``name = '***'``) and, anywhere in the cells (a printed
    value, a traceback), the text of a masked value of 6 characters or more."""
    papermill = document.get("metadata", {}).get("papermill")
    if not isinstance(papermill, dict) or not isinstance(papermill.get("parameters"), dict):
        return
    values = papermill["parameters"]
    masked = redact_parameters(values)
    papermill["parameters"] = masked
    changed = {name for name in values if masked[name] != values[name]}
    for cell in document.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" not in tags:
            continue
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else source).split("\n")
        for number, line in enumerate(lines):
            name, sep, _ = line.partition(" = ")
            if sep and name.strip() in changed:
                lines[number] = f"{name} = {masked[name.strip()]!r}"
        cell["source"] = "\n".join(lines)
    hidden = {text for name in changed for text in _texts(values[name]) if len(text) >= 6}
    if hidden:
        document["cells"] = _scrubbed(document.get("cells", []), sorted(hidden, key=len)[::-1])


def _texts(value: Any) -> list[str]:
    """The strings inside a parameter value (nested lists and dicts included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    return []


def _scrubbed(value: Any, hidden: list[str]) -> Any:
    """``value`` (notebook JSON) with every occurrence of the ``hidden`` texts masked."""
    if isinstance(value, str):
        for text in hidden:
            value = value.replace(text, MASK)
        return value
    if isinstance(value, dict):
        return {key: _scrubbed(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, hidden) for item in value]
    return value


def redact_mapping(values: Mapping[str, str]) -> dict[str, str]:
    """Return a copy with the values of secret-looking names, or secret-looking values, masked."""
    return {
        key: MASK if is_secret_name(key) or looks_like_secret(value) else value
        for key, value in values.items()
    }
