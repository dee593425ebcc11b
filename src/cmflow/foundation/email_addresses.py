"""E-mail addresses as a workflow writes them: checked once, the same way for the email
output's recipients and a client's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator

if TYPE_CHECKING:
    from email.headerregistry import Address

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""Every control character, newline and tab included: what an address must not hold."""


def parse_address(text: str) -> "Address":
    """One address, ``ann@example.org`` or ``Ann Martin <ann@example.org>``, parsed by the
    standard library's header registry; ValueError if it is not exactly one valid address."""
    from email.headerregistry import HeaderRegistry  # the email policies' parser, without email.policy's imports

    if CONTROL_CHARACTERS.search(text):
        raise ValueError(f"{text!r} holds a line break or control character")
    try:
        header = HeaderRegistry()("To", text)
        addresses = header.addresses
    except (IndexError, ValueError, TypeError):  # the parser gives up on e.g. "ann@"
        addresses, header = (), None
    if len(addresses) != 1 or (header is not None and header.defects) \
            or not addresses[0].username or not addresses[0].domain:
        hint = "write one address per list item" if len(addresses) > 1 else \
            "write e.g. \"ann@example.org\" or \"Ann Martin <ann@example.org>\""
        raise ValueError(f"{text!r} is not an e-mail address: {hint}")
    address = addresses[0]
    if not address.addr_spec.isascii():
        raise ValueError(f"{text!r}: write the address in ASCII (an international domain in its "
                         "xn-- form); the name before it may be in any language")
    return address


def _address(value: str) -> str:
    return str(parse_address(value))


EmailAddress = Annotated[str, AfterValidator(_address)]
"""One address, checked on its own: a bad one is reported at its place in the list (``to[1]``)."""
