"""The plugin contract: one hook per plugin kind.

A plugin module implements any of these hooks with ``@cmflow.hookimpl`` and hands its plugin
classes to ``register``. Classes, not instances: cmflow instantiates a plugin once per workflow
entry, with that entry's validated options. Every hook is called once per plugin module; the
order between plugins is not defined and must not matter.
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("cmflow")
hookimpl = pluggy.HookimplMarker("cmflow")

HOOK_OF_KIND = {
    "source": "register_sources",
    "classifier": "register_classifiers",
    "metric": "register_metrics",
    "trigger": "register_triggers",
    "output": "register_outputs",
}
"""Each plugin kind and the hook its plugins register through, in the run's order (the CLI
offers the kinds in this order)."""


@hookspec
def register_sources(register: Callable[[type], None]) -> None:
    """Register source classes: plugins that fetch records.

    :param register: call it once per :class:`cmflow.Source` subclass the module provides.
        A name already registered by another package is an error naming both packages.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def register_classifiers(register: Callable[[type], None]) -> None:
    """Register classifier classes: plugins that label texts (mentions, comments, captions)
    with a sentiment, a score and a language, for the classify stage and ``cmflow classify``.

    :param register: call it once per :class:`cmflow.Classifier` subclass the module provides.
        A name already registered by another package is an error naming both packages.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def register_metrics(register: Callable[[type], None]) -> None:
    """Register metric classes: plugins that turn records into measurements.

    :param register: call it once per :class:`cmflow.Metric` subclass the module provides.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def register_triggers(register: Callable[[type], None]) -> None:
    """Register trigger classes: plugins that turn measurements into alerts.

    :param register: call it once per :class:`cmflow.Trigger` subclass the module provides.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def register_outputs(register: Callable[[type], None]) -> None:
    """Register output classes: plugins that deliver a run's result (terminal, files, messages).

    :param register: call it once per :class:`cmflow.Output` subclass the module provides.
    :returns: nothing; the return value is ignored.
    """
