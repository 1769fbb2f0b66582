"""Search filters for MLflow's ``search_runs`` / ``search_model_versions``, built in one place.

MLflow's filter language has no parameters: a value is written into the string as a quoted
literal. :func:`quoted` is the one helper that does it, so a name holding a quote can neither
break a filter nor widen it.

>>> quoted("credit-risk")
"'credit-risk'"
>>> quoted("it's")
'"it\\'s"'
>>> notebook_tag_filter("notebooks/train.ipynb")
"tags.`mlops.notebook.path` = 'notebooks/train.ipynb'"
"""

from __future__ import annotations

from jupyter_mlops.core.tags import path_tag

__all__ = ["like_prefix", "notebook_tag_filter", "quoted"]


def quoted(value: str) -> str:
    """``value`` as a filter-string literal: single quotes, or double quotes (with ``"``
    escaped) when it holds a single quote, which MLflow's parser cannot escape."""
    return '"' + value.replace('"', '\\"') + '"' if "'" in value else f"'{value}'"


def notebook_tag_filter(path: str, kind: str = "notebook") -> str:
    """The MLflow filter matching runs (or model versions) recorded from ``path``, the
    notebook's (or script's) path relative to the project root, as its tag holds it."""
    return f"tags.`{path_tag(kind)}` = {quoted(path)}"


def like_prefix(prefix: str) -> str:
    """A ``LIKE`` pattern literal matching values that start with ``prefix``.

    MLflow's ``LIKE`` has no escape character, so ``%`` and ``_`` in ``prefix`` would match
    any text; such a prefix is refused rather than silently widened.

    >>> like_prefix("3fa9")
    "'3fa9%'"

    Raises:
        ValueError: when ``prefix`` holds ``%`` or ``_``.
    """
    if "%" in prefix or "_" in prefix:
        raise ValueError(f"a LIKE prefix cannot hold % or _: {prefix!r}")
    return quoted(prefix + "%")
