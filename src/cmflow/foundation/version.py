"""The installed cmflow's version, for ``cmflow --version``, ``cmflow.__version__`` and the
User-Agent the HTTP kit sends."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def cmflow_version() -> str:
    """The version of the installed distribution, or ``0+unknown`` when run from a bare tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cmflow")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"
