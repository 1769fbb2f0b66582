"""All behaviour of jupyter-mlops. Imports no IPython, tornado, click or lumino.

One module per concern: ``config`` (where runs go), ``session`` (the one resettable place of
implicit state), ``tracking`` (the MLflow store), ``notebook`` (which notebook and cell),
``provenance`` (lineage tags), ``fingerprint`` and ``datasets`` (data inputs), ``capture``
(one run's life), ``autolog``, ``environment``, ``git_state``, ``parameters``,
``redaction``, ``run_list`` and ``errors``.
"""
