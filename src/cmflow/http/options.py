"""The option by which a plugin's user allows private network addresses, apart from the network
guard itself (:mod:`cmflow.http.guard`), so that declaring it in a plugin's options loads no
HTTP library: validating a workflow stays quick."""

from __future__ import annotations

from typing import Any

PRIVATE_NETWORK_OPTION = "allow_private_network"
"""The option by which a plugin's user allows private network addresses."""


def allow_private_network_option(what: str) -> Any:
    """The pydantic field of a plugin's ``allow_private_network`` option; ``what`` is what the
    plugin connects to (``"a feed"``, ``"a receiver"``)."""
    from pydantic import Field

    return Field(False, description=f"Allow {what} whose host is or resolves to a loopback, private, "
                 "link-local, unique-local, multicast or cloud metadata address (a server on your own "
                 "network). Off by default, so that a workflow cannot reach services inside the network "
                 "cmflow runs in.", examples=[True])
