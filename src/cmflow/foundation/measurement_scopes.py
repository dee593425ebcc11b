"""The scope of a stored figure: which ``where`` filters chose the records it was measured on.

A figure an earlier run kept fills a comparison or history period this run's records do not
reach (an export holding only the latest week). It was measured with the filters of then: after
a source's ``where = { account = "alpha" }`` became ``{ account = "beta" }``, last week's stored
total is alpha's, and comparing beta's week with it would be a silent wrong change. So every
stored measurement keeps a short hash of its scope (:func:`scope_hash`), and a stored figure of
another scope is not used (:mod:`cmflow.stages.stored_measurements`).

The hash is of the filters normalised (:func:`canonical_where`), so that spellings that keep the
same records hash the same: ``"alpha"`` and ``["alpha"]``, ``["b", "a"]`` and ``["a", "b"]``,
``"@Alpha"`` and ``"alpha"`` (accounts compare by key), ``"Instagram"`` and ``"instagram"``, a
campaign in any spelling, a day range as its days. Source ids are not part of it: renaming a
source keeps its records; renaming it and changing its ``where`` changes the scope. A row broken
down by account, platform or client has the scope of the filters less those keys (:data:`ROW_KEYS`,
:func:`left_out`).
"""

from __future__ import annotations

import hashlib
import json
from itertools import combinations
from typing import Any, Iterable, Mapping

from cmflow.foundation.where_filters import DAY_KEY, Where, compared, parse_days, values_of

ROW_KEYS = ("account", "platform", "client")
"""Filter keys a row broken down by them does not depend on: account alpha's figure is the same
whether beta's records are kept too, so adding an account to a ``where`` list changes the scope
of the overall rows, not of alpha's. A row's scope leaves out those of its dimensions; a client's
row leaves out ``account`` too (:func:`left_out`): it is its own accounts' records, whichever
other client's accounts a ``where`` adds."""
ROW_SHAPES: tuple[tuple[str, ...], ...] = tuple(
    shape for size in range(len(ROW_KEYS) + 1) for shape in combinations(ROW_KEYS, size))
"""Which of :data:`ROW_KEYS` a row has: each shape has its own scope."""


def left_out(shape: tuple[str, ...]) -> tuple[str, ...]:
    """The filter keys a row of ``shape`` (one of :data:`ROW_SHAPES`) does not depend on: its
    dimensions, and ``account`` for a client's row (a client is the records of its accounts)."""
    return tuple(dict.fromkeys(shape + (("account",) if "client" in shape else ())))


SCOPE_CHANGED_REASON = ("the figure kept for this period was measured with another where "
                        "(a source's or the metric's filter changed since)")
"""Why a comparison or history period has no value when only a figure of another scope was kept."""


def canonical_where(where: Where | None, day_keys: Iterable[str] = ()) -> dict[str, list[str]]:
    """``where`` as the records it keeps: keys sorted, each value a sorted list without repeats,
    text compared as the filter compares it (:func:`~cmflow.foundation.where_filters.compared`),
    days of ``day_keys`` (and ``date``) as the days they name."""
    days = {DAY_KEY, *day_keys}
    canonical = {}
    for key in sorted(where or {}):
        values = values_of(where[key])
        if key in days:
            normalised = {str(_days_or_text(v)) for v in values}
        else:
            normalised = {compared(key, v) for v in values}
        canonical[key] = sorted(normalised)
    return canonical


def without_keys(where: Mapping[str, list[str]], keys: Iterable[str]) -> dict[str, list[str]]:
    """A canonical filter less ``keys`` (those a row's dimensions make irrelevant)."""
    keys = set(keys)
    return {key: values for key, values in where.items() if key not in keys}


def _days_or_text(value: str) -> Any:
    try:
        return parse_days(value)
    except ValueError:  # validation refused it already; kept as written
        return value


def sources_digest(source_filters: Iterable[Mapping[str, list[str]]]) -> str:
    """The sources' part of a scope: the distinct canonical filters of the sources a metric reads
    (a source without one: the empty filter), in any order, as one SHA-256 hex digest."""
    distinct = sorted({json.dumps(f, sort_keys=True, ensure_ascii=False) for f in source_filters})
    return hashlib.sha256("\n".join(distinct).encode("utf-8")).hexdigest()


def scope_hash(source_filters: "Iterable[Mapping[str, list[str]]] | str", metric_filter: Mapping[str, list[str]]) -> str:
    """The scope of a metric's figures: the filters of the sources it reads (or their
    :func:`sources_digest`, computed once for the many metrics reading the same sources), and its
    own. Sixteen hex digits of a SHA-256."""
    sources = source_filters if isinstance(source_filters, str) else sources_digest(source_filters)
    text = json.dumps({"sources": sources, "metric": dict(metric_filter)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
