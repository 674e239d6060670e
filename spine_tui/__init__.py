"""spine-tui: the Textual workbench and the ``spine-engine`` command line over ``engine``.

Kept tiny on purpose: importing the package (e.g. for the CLI) must not pull in Textual.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spine-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
