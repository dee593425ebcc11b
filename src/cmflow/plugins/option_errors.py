"""pydantic validation errors, read as a person would say them.

pydantic reports a value that fits no member of a ``Union`` once per member, with the member's
type in the location (``by[1].literal['overall',...]``), and words its messages for
programmers ("Input should be a valid list", "Value error, ..."). Options are what users
write in TOML, so each problem is said once, at the key the user wrote, in words about TOML
values, with the closest known name for a misspelt one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from cmflow.foundation.names import closest
from cmflow.plugins.entries import ID_MEANING, ID_PATTERN
from cmflow.foundation.secrets import redactor

_CORE_TYPES = {
    "any", "none", "bool", "int", "float", "decimal", "str", "bytes", "date", "time", "datetime",
    "timedelta", "literal", "enum", "is-instance", "is-subclass", "callable", "list", "tuple", "set",
    "frozenset", "generator", "dict", "function-after", "function-before", "function-wrap",
    "function-plain", "default", "nullable", "union", "tagged-union", "chain", "lax-or-strict",
    "json-or-python", "typed-dict", "model", "model-fields", "dataclass", "dataclass-args", "url",
    "multi-host-url", "uuid", "complex", "constrained-str", "constrained-int", "constrained-float",
    "definition-ref", "custom-error", "json",
}
"""Names pydantic gives union members in an error's location (``list[str]``, ``literal['a']``)."""
# Patterns, compiled by re on first use: only an invalid workflow needs them.
_TAG = r"(?s)^([a-z][a-z-]*)(\[.*\])?$"
_QUOTED = r"'((?:[^'\\]|\\.)*)'"

_TYPE_WORDS = {
    "string_type": "a string in quotes", "str_type": "a string in quotes",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "decimal_type": "a number",
    "bool_type": "true or false (without quotes)", "bool_parsing": "true or false (without quotes)",
    "list_type": 'a list such as ["a", "b"]', "tuple_type": 'a list such as ["a", "b"]',
    "set_type": 'a list such as ["a", "b"]',
    "dict_type": 'a table such as { key = "value" }', "model_type": 'a table such as { key = "value" }',
    "model_attributes_type": 'a table such as { key = "value" }',
    "date_type": "a date (YYYY-MM-DD)", "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "datetime_type": "a date and time (YYYY-MM-DDTHH:MM:SS)",
    "datetime_parsing": "a date and time (YYYY-MM-DDTHH:MM:SS)",
    "datetime_from_date_parsing": "a date and time (YYYY-MM-DDTHH:MM:SS)",
    "time_type": "a time (HH:MM)", "time_parsing": "a time (HH:MM)",
    "timedelta_type": 'a duration such as "30m", "12h", "2d"',
    "timedelta_parsing": 'a duration such as "30m", "12h", "2d"',
    "url_type": "a URL (https://...)", "url_parsing": "a URL (https://...)",
    "url_scheme": "a URL (https://...)",
    "finite_number": "a finite number (not inf or nan)",
    "none_required": "left out",
}

PATTERN_MEANINGS: Mapping[str, str] = MappingProxyType({ID_PATTERN: ID_MEANING})
"""What a ``Field(pattern=...)`` asks for, in words, by pattern: a value that does not match
gets this sentence instead of the regex."""


class InvalidOption(ValueError):
    """Raised by a model validator that checks options together, to report the problem at the
    option the user should change (``triggers[0].below``) rather than at the whole entry."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class OptionError:
    """One problem with one option: where (the location as the user wrote it), what, what to do."""

    location: tuple[str | int, ...]
    message: str
    hint: str = ""


def key_path(location: Iterable[str | int], prefix: str = "") -> str:
    """``("by", 2)`` under ``metrics[0]`` → ``metrics[0].by[2]``."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return f"{prefix}{text}" if prefix else text.lstrip(".")


def explain(error: ValidationError, known_keys: Iterable[str] = ()) -> list[OptionError]:
    """Every problem of ``error``, once each, in words; ``known_keys``: the keys a misspelt one
    may have meant (the model's fields by default)."""
    known = list(known_keys)
    explained: list[OptionError] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for location, details in _one_per_value(error.errors(include_url=False)):
        option_error = _explain_one(location, details, known)
        if (option_error.location, option_error.message) not in seen:
            seen.add((option_error.location, option_error.message))
            explained.append(option_error)
    return explained


def _number_hint(location: tuple[str | int, ...], given: Any, quotes_said: bool = False,
                 whole: bool = False) -> str:
    """For a number written as a string (``"3 %"``, ``"1 500"``, ``"2,5"``): the line to write
    instead (``target = 3``), without quotes and without its unit, its key quoted where TOML
    needs it (``"Léa Martin" = 55.5``). A string that reads two ways (``"1,500"``, ``"1.500"``:
    1.5 with a decimal separator, 1500 with a thousands one) gets both lines: a single guess would
    be a thousand times off half the time; for a ``whole`` number, only whole readings.
    ``quotes_said``: the message says already that the quotes are the mistake."""
    if not isinstance(given, str):
        return ""
    key = next((part for part in reversed(location) if isinstance(part, str)), "")
    readings = [number for number in number_readings(given.strip().removesuffix("%"))
                if not whole or float(number).is_integer()]
    if not key or not readings:
        return ""
    key = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
    written = [f"{key} = {number:.15g}" for number in readings]
    unit = "in %, without the % sign" if "%" in given else ""
    if len(written) == 2:
        return (f"write {written[0]} or {written[1]}, whichever you meant: "
                f"{'' if quotes_said else 'without quotes, '}without thousands separators, "
                f"decimals after a point{', ' + unit if unit else ''}")
    why = ", ".join(part for part in ("" if quotes_said else "a number without quotes", unit) if part)
    return f"write {written[0]}{': ' + why if why else ''}"


def number_readings(text: str) -> list[float]:
    """The numbers ``text`` may mean as people write them (``"1 500"``, ``"2,5"``,
    ``"1.500,25"``): one, or two for a single ``,`` or ``.`` followed by exactly three digits
    (``"1,500"``: 1.5 or 1500), or none for what is no number."""
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not re.fullmatch(r"[+-]?(\d+([.,]\d*)*|[.,]\d+)([eE][+-]?\d+)?", text):
        return []
    separators = [c for c in text if c in ".,"]
    if len(separators) > 1:
        last = text.rfind(separators[-1])
        whole, decimals = text[:last], text[last + 1:]
        if len(set(separators)) == 1:  # "1,500,000": thousands only
            whole, decimals = text, ""
        if not re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})*", whole) or len({c for c in whole if c in ".,"}) > 1:
            return []
        text = re.sub(r"[.,]", "", whole) + (f".{decimals}" if decimals else "")
        return [float(text)]
    decimal = text.replace(",", ".")
    if re.fullmatch(r"[+-]?[1-9]\d{0,2}[.,]\d{3}", text):  # a thousands group, or three decimals
        return [float(decimal), float(re.sub(r"[.,]", "", text))]
    return [float(decimal)]


def _is_tag(part: Any) -> bool:
    if not isinstance(part, str):
        return False
    match = re.match(_TAG, part)
    return bool(match) and match.group(1) in _CORE_TYPES and (
        match.group(2) is not None or part in _CORE_TYPES)


def _one_per_value(errors: list[dict[str, Any]]) -> list[tuple[tuple[str | int, ...], list[dict[str, Any]]]]:
    """Errors grouped by the value they are about: the members of a failed union become one
    group, of the member that came closest (the deepest, or the one the value's type fits)."""
    unions: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
    order: list[tuple] = []
    plain: dict[tuple, list[dict[str, Any]]] = {}
    # A bare type name ("str", "url", "date") is a union member's tag only where the errors
    # name two members or more at that place: otherwise it is an option called so (``url``).
    members_at: dict[tuple, set[str]] = {}
    for error in errors:
        for i, part in enumerate(error["loc"]):
            if _is_tag(part):
                members_at.setdefault(tuple(error["loc"][:i]), set()).add(part)

    def is_tag(loc: tuple, i: int) -> bool:
        part = loc[i]
        return _is_tag(part) and ("[" in part or len(members_at.get(loc[:i], ())) > 1)

    for error in errors:
        loc = tuple(error["loc"])
        tag_at = next((i for i in range(len(loc)) if is_tag(loc, i)), None)
        if tag_at is None:
            key = ("plain", loc)
            plain.setdefault(loc, []).append(error)
        else:
            key = ("union", loc[:tag_at])
            unions.setdefault(loc[:tag_at], {}).setdefault(str(loc[tag_at]), []).append(error)
        if key not in order:
            order.append(key)
    grouped: list[tuple[tuple[str | int, ...], list[dict[str, Any]]]] = []
    for kind, loc in order:
        if kind == "plain":
            grouped.append((loc, plain[loc]))
            continue
        members = unions[loc]
        closest_members = _closest_members(loc, members)
        if len(closest_members) > 1:  # the value's type fits no member: one message naming them all
            grouped.append((loc, [{"type": "union_type", "loc": loc, "msg": "",
                                   "input": closest_members[0][0].get("input"),
                                   "members": [m[0] for m in closest_members]}]))
            continue
        for member_error in closest_members[0]:
            rest = tuple(p for p in member_error["loc"][len(loc):] if not _is_tag(p))
            grouped.append((loc + rest, [member_error]))
    return grouped


def _closest_members(loc: tuple, members: dict[str, list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    def depth(member: list[dict[str, Any]]) -> int:
        return max(len([p for p in e["loc"] if not _is_tag(p)]) for e in member) - len(loc)

    def fits(member: list[dict[str, Any]]) -> bool:
        def misfit(e: dict[str, Any]) -> bool:  # a list or table is no member of a set of names
            return e["type"].endswith(("_type", "_parsing")) or (
                e["type"] == "literal_error" and isinstance(e.get("input"), (list, dict)))
        return not all(misfit(e) for e in member)

    deepest = max(depth(m) for m in members.values())
    candidates = [m for m in members.values() if depth(m) == deepest]
    fitting = [m for m in candidates if fits(m)]
    return fitting[:1] if fitting else candidates


def _explain_one(location: tuple[str | int, ...], errors: list[dict[str, Any]],
                 known: list[str]) -> OptionError:
    error = errors[0]
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(location[-1])
        suggestion = closest(key, known) if len(location) == 1 else None
        hint = f"did you mean {suggestion!r}?" if suggestion else \
            (f"known options: {', '.join(known)}" if known and len(location) == 1 else "remove it")
        return OptionError(location, f"unknown option {key!r}", hint)
    if kind == "missing":
        return OptionError(location, "required option is missing")
    if kind == "union_type":
        words = _member_words(error["members"])
        return OptionError(location, f"must be {words}{_got(given)}")
    if kind in ("literal_error", "enum"):
        choices = re.findall(_QUOTED, ctx.get("expected", "")) or [str(c) for c in ctx.get("expected", [])]
        listed = ", ".join(choices)
        if isinstance(given, str):
            suggestion = closest(given, choices)
            hint = (f"did you mean {suggestion!r}? Choices: {listed}" if suggestion else
                    f"choose one of {listed}")
            return OptionError(location, f"unknown value {redactor(repr(given))}", hint)
        return OptionError(location, f"must be one of {listed}{_got(given)}")
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error", error["msg"])
        at = (*location, cause.option) if isinstance(cause, InvalidOption) else location
        return OptionError(at, redactor(str(cause)))
    if kind == "boolean_for_number":
        return OptionError(location, f"must be {'a whole number' if ctx.get('whole') else 'a number'}, "
                                     f"not true or false{_got(given)}")
    if kind == "number_in_quotes":
        whole = bool(ctx.get("whole"))
        hint = _number_hint(location, given, quotes_said=True, whole=whole)
        not_a_number = "a whole number" if whole else "a number"  # as pydantic's int/float errors say
        return OptionError(location, f"must be {not_a_number} written without quotes{_got(given)}" if hint else
                           f"must be {not_a_number}{_got(given)}", hint)
    if kind in _TYPE_WORDS:
        reason = ctx.get("error")
        says_why = kind.endswith("_parsing") and not kind.startswith(("int", "float", "bool"))
        extra = f": {reason}" if reason and says_why else ""
        return OptionError(location, f"must be {_TYPE_WORDS[kind]}{_got(given)}{extra}",
                           _number_hint(location, given) if kind.startswith(("int", "float", "decimal")) else "")
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length" if kind == "too_short" else "max_length")
        if kind == "too_short" and bound == 1:
            return OptionError(location, "must not be empty", "list at least one value")
        words = "at least" if kind == "too_short" else "at most"
        return OptionError(location, f"must hold {words} {bound} value{'s' if bound != 1 else ''}")
    if kind in ("string_too_short", "string_too_long"):
        bound = ctx.get("min_length" if kind == "string_too_short" else "max_length")
        if kind == "string_too_short" and bound == 1:
            return OptionError(location, "must not be empty")
        words = "at least" if kind == "string_too_short" else "at most"
        return OptionError(location, f"must be {words} {bound} character{'s' if bound != 1 else ''} long")
    comparisons = {"greater_than": ("gt", "more than"), "greater_than_equal": ("ge", "at least"),
                   "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}
    if kind in comparisons:
        name, words = comparisons[kind]
        return OptionError(location, f"must be {words} {ctx.get(name)}{_got(given)}")
    if kind == "multiple_of":
        return OptionError(location, f"must be a multiple of {ctx.get('multiple_of')}{_got(given)}")
    if kind == "string_pattern_mismatch":
        meaning = PATTERN_MEANINGS.get(str(ctx.get("pattern")))
        return OptionError(location, f"{redactor(repr(given))} {meaning}" if meaning else
                           f"does not have the expected form{_got(given)}",
                           "" if meaning else f"it must match the pattern {ctx.get('pattern')}")
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = re.sub(r"^Input should be ", "must be ", message)
    return OptionError(location, f"{message}{_got(given)}")


def _member_words(members: list[dict[str, Any]]) -> str:
    """What the members of a union accept: "a string in quotes or a list such as [...]"."""
    words: list[str] = []
    for member in members:
        word = _TYPE_WORDS.get(member["type"], "")
        if member["type"] == "literal_error":
            word = "one of " + ", ".join(re.findall(_QUOTED, (member.get("ctx") or {}).get("expected", "")))
        if word and word not in words:
            words.append(word)
    return " or ".join(words) or "of another type"


def _got(given: Any) -> str:
    if isinstance(given, bool):
        return f" (got {str(given).lower()})"
    if isinstance(given, (str, int, float)):
        return f" (got {redactor(repr(given))})"
    if isinstance(given, list):
        return " (got a list)"
    if isinstance(given, dict):
        return " (got a table)"
    return ""
