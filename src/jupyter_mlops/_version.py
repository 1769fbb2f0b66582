"""The package's version, in a module of its own: anything can import it without importing the
package root (which would load the fluent API and, through it, most of ``core``)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
