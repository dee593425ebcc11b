"""A Trello board and an Asana project are named the same way by the calendar sources that read
them and by the task outputs that write to them: one parser each (builtin/tool_addresses.py), so
the same words are accepted, and the same mistakes refused with the same advice, on both sides."""

from __future__ import annotations

import pydantic
import pytest

from cmflow.builtin.outputs.asana_task import AsanaTask
from cmflow.builtin.outputs.trello_card import TrelloCard
from cmflow.builtin.sources.asana import AsanaOptions
from cmflow.builtin.sources.trello import TrelloOptions
from cmflow.builtin.tool_addresses import asana_gid, trello_board

LIST_ID = "64b0000000000000000000a1"


def trello_source(board: str) -> str:
    return TrelloOptions(board=board, key="k", token="t").board


def trello_output(board: str) -> str:
    return TrelloCard.Options(key="k", token="t", board=board, list_id=LIST_ID).board


def asana_source(project: str) -> str:
    return AsanaOptions(project=project, token="t").project


def asana_output(project: str) -> str:
    return AsanaTask.Options(token="t", project=project).project


def outcome(read, given: str) -> str:
    """The id an option keeps, or the words of its refusal (pydantic's framing left out)."""
    try:
        return read(given)
    except pydantic.ValidationError as exc:
        return "refused: " + exc.errors()[0]["msg"].removeprefix("Value error, ")


@pytest.mark.parametrize("given, expected", [
    ("https://trello.com/b/nC8QJJoZ/calendrier-editorial", "nC8QJJoZ"),
    (" nC8QJJoZ ", "nC8QJJoZ"),
    ("6a1c2f0e8b3d4a0012f4e901", "6a1c2f0e8b3d4a0012f4e901"),
    ("Calendrier", "refused: 'Calendrier' is not a Trello board id: give the board's address, the 8 characters "
                   "after /b/ in it (https://trello.com/b/nC8QJJoZ/... -> nC8QJJoZ), or its 24-digit id"),
    ("nC8QJJoZ9", "refused"),  # 9 characters: neither a short link nor an id
    ("6A1C2F0E8B3D4A0012F4E901", "refused"),  # an id is lower-case hexadecimal
])
def test_trello_source_and_output_read_a_board_alike(given, expected):
    source, output = outcome(trello_source, given), outcome(trello_output, given)
    assert source == output
    assert source.startswith(expected) if expected == "refused" else source == expected


@pytest.mark.parametrize("given, expected", [
    ("1209876543210987", "1209876543210987"),
    ("https://app.asana.com/0/1209876543210987/list", "1209876543210987"),
    ("https://app.asana.com/1/1200000000000001/project/1209876543210987/board", "1209876543210987"),
    ("Calendrier éditorial", "refused: 'Calendrier éditorial' is not an Asana project: give its gid, the long "
                             "number in its address (https://app.asana.com/0/<gid>/list), or that address, not its name"),
    ("123456789012345678901", "refused"),  # 21 digits: more than any gid (64 bits)
    ("١٢٣٤", "refused"),  # Arabic-Indic digits are digits to str.isdigit, not to Asana
])
def test_asana_source_and_output_read_a_project_alike(given, expected):
    source, output = outcome(asana_source, given), outcome(asana_output, given)
    assert source == output
    assert source.startswith(expected) if expected == "refused" else source == expected


def test_a_section_is_a_gid_and_never_an_address():
    assert asana_gid(" 1204567890123460 ", "section") == "1204567890123460"
    with pytest.raises(ValueError, match=r"'https://app.asana.com/0/1204567890123456/list' is not an Asana "
                                         r"section: give its gid \(a number such as 1204567890123460\)"):
        asana_gid("https://app.asana.com/0/1204567890123456/list", "section")
    assert trello_board("https://trello.com/b/nC8QJJoZ") == "nC8QJJoZ"
