"""Where a team's work lives in its tools, from what a user copies into a workflow file.

A Trello board and an Asana project are named the same way whether cmflow reads an editorial
calendar from them (the ``trello`` and ``asana`` sources) or files tasks into them (the
``trello_card`` and ``asana_task`` outputs): by the address in the browser's bar or by the id
the API uses. One function per tool turns either into the id, so a sources' option and an
output's option take exactly the same words and refuse the same mistakes with the same advice.
Not a plugin module: sources and outputs both import it (tests/test_layers.py).
"""

from __future__ import annotations

import re

TRELLO_BOARD_ID = re.compile(r"[0-9A-Za-z]{8}|[0-9a-f]{24}")
"""A board's short link (8 letters and digits) or its id (24 hexadecimal digits)."""
TRELLO_BOARD_ADDRESS = re.compile(r"trello\.com/b/([0-9A-Za-z]{8})")
ASANA_GID = re.compile(r"[0-9]{1,20}")
"""An Asana object's gid: a number (16 digits today; Asana promises no length, 20 covers 64 bits)."""
ASANA_PROJECT_ADDRESS = re.compile(r"app\.asana\.com/[0-9]+/(?:[0-9]+/project/)?([0-9]+)")
"""A project's address, older (``/0/<project>/list``) or newer (``/1/<workspace>/project/<project>/board``)."""


def trello_board(board: str) -> str:
    """A Trello board's id from its address (``https://trello.com/b/nC8QJJoZ/calendrier``), its
    short link (the 8 characters after /b/) or its 24-digit id; anything else is refused."""
    text = board.strip()
    found = TRELLO_BOARD_ADDRESS.search(text)
    if found:
        return found.group(1)
    if not TRELLO_BOARD_ID.fullmatch(text):
        raise ValueError(f"{text!r} is not a Trello board id: give the board's address, the 8 characters "
                         "after /b/ in it (https://trello.com/b/nC8QJJoZ/... -> nC8QJJoZ), or its 24-digit id")
    return text


def asana_gid(value: str, what: str = "project") -> str:
    """An Asana project's (or section's) gid from the gid itself or, for a project, from its
    address (``https://app.asana.com/0/1204567890123456/list``); a name is refused."""
    text = value.strip()
    found = ASANA_PROJECT_ADDRESS.search(text) if what == "project" else None
    if found:
        return found.group(1)
    if not ASANA_GID.fullmatch(text):
        how = ("its gid, the long number in its address (https://app.asana.com/0/<gid>/list), or that address"
               if what == "project" else "its gid (a number such as 1204567890123460)")
        raise ValueError(f"{text!r} is not an Asana {what}: give {how}, not its name")
    return text
