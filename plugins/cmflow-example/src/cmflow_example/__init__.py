"""cmflow-example: example third-party plugins for cmflow.

- ``mastodon_archive`` (source): posts from a Mastodon account export, offline.
- ``markdown_summary`` (output): the run's KPI tables as a Markdown file.

cmflow finds the plugin modules through the ``cmflow`` entry-point group declared in this
package's ``pyproject.toml``; nothing here needs importing by hand.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def sample_outbox() -> Path:
    """Path of the small ``outbox.json`` shipped with the package, to try the source on."""
    return Path(str(files(__name__).joinpath("data", "outbox.json")))
