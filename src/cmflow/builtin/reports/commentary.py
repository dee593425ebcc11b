"""The CM's commentary: Markdown written next to the workflow, rendered without raw HTML.

markdown-it renders CommonMark with ``html`` off, so a ``<script>`` typed in the commentary
comes out as text; links keep only http(s) and mailto targets.
"""

from __future__ import annotations

from pathlib import Path

COMMENTARY_LIMIT = 100_000
"""Characters of commentary read; a longer file is cut (a report is not a book)."""


def commentary_html(markdown: str) -> str:
    """``markdown`` as safe HTML: no raw HTML, no image, no link but http(s) and mailto."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = lambda url: url.strip().lower().startswith(("http://", "https://", "mailto:"))
    return md.render(markdown[:COMMENTARY_LIMIT])


def read_commentary(path: Path) -> str | None:
    """The commentary in ``path``, or None when there is none (a week without commentary is
    normal: the file is optional)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
