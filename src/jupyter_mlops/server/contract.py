"""Where the REST contract lives as the server serves it.

The reply and request models are written once, in :mod:`jupyter_mlops.core.types` (the views in
``core/views`` return them; ``labextension/src/api.ts`` mirrors them). Only the URL prefix is the
server's own.
"""

__all__ = ["API_NAMESPACE"]

#: URL prefix below the server's base URL.
API_NAMESPACE = "jupyter-mlops/api"
